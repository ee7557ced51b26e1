"""Bad input: one clear line, a non-zero exit, no traceback, no orphan process."""

from __future__ import annotations

import re
import sys

import pytest

from tests.conftest import (
    ASSETS,
    alive,
    run_loupe,
    server_pids,
    spans_in,
    write_mcp_json,
)


def _one_clear_line(result, *needles: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("loupe: error:")]
    assert len(errors) == 1, result.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]


def test_unknown_tool(home):
    result = run_loupe(home, "call", "math.sqrt", "{}")
    _one_clear_line(result, "math", "sqrt", "add")
    assert not [pid for pid in server_pids(spans_in(home)) if alive(pid)]


def test_unknown_server(home):
    _one_clear_line(run_loupe(home, "call", "nope.add", "{}"), "nope", "math")


def test_target_without_dot(home):
    _one_clear_line(run_loupe(home, "call", "add", "{}"), "SERVER.TOOL")


@pytest.mark.parametrize("arguments", ["{a: 2}", "[1, 2]", "not json"])
def test_malformed_arguments(home, arguments):
    result = run_loupe(home, "call", "math.add", arguments)
    _one_clear_line(result, "ARGS_JSON")
    assert result.returncode == 2


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("{not json", "not valid JSON"),
        ('{"servers": {}}', "mcpServers"),
        ('{"mcpServers": {"x": {"args": ["a"]}}}', "needs 'command'"),
        ('{"mcpServers": {"x": {"url": "ftp://host/mcp"}}}', "http(s) URL"),
        ('{"mcpServers": {"x": {"command": "a", "bogus": 1}}}', "bogus"),
    ],
)
def test_bad_mcp_json(home, content, needle):
    path = home / "mcp.json"
    path.write_text(content)
    _one_clear_line(run_loupe(home, "run", "--config", str(path), "hi"), needle)


def test_missing_config_file(home):
    _one_clear_line(run_loupe(home, "run", "--config", str(home / "nope.json"), "hi"), "not found")


def test_server_command_that_does_not_exist(home):
    config = write_mcp_json(home / "mcp.json", {"ghost": {"command": "/nonexistent/mcp-server", "required": True}})
    _one_clear_line(run_loupe(home, "run", "--config", str(config), "hi"), "ghost", "not found")


def test_server_that_dies_at_start_names_itself_and_shows_stderr(home):
    config = write_mcp_json(
        home / "mcp.json",
        {
            "math": {"command": sys.executable, "args": ["-m", "agentloupe.servers.math"]},
            "db": {"command": sys.executable, "args": [str(ASSETS / "crashing_server.py")], "required": True},
        },
    )
    result = run_loupe(home, "run", "--config", str(config), "What is 2 + 3?")
    _one_clear_line(result, "'db'", "code 3", "cannot open the database")
    # the healthy server was stopped, not orphaned
    assert not [pid for pid in server_pids(spans_in(home)) if alive(pid)]
    start = next(s for s in spans_in(home) if s.name == "start_server db")
    assert start.is_error


def test_model_without_provider_package(home):
    result = run_loupe(home, "run", "--model", "mistralai:mistral-large", "hi")
    _one_clear_line(result, "mistralai")


def test_unknown_model_provider(home):
    _one_clear_line(run_loupe(home, "run", "--model", "nosuchprovider:model-x", "hi"), "nosuchprovider")


def test_bad_otlp_url(home):
    _one_clear_line(run_loupe(home, "run", "--otlp", "localhost", "hi"), "--otlp")


def test_unknown_flag_is_a_usage_error(home):
    result = run_loupe(home, "run", "--frobnicate", "hi")
    assert result.returncode == 2
    assert "No such option" in result.stderr and "Traceback" not in result.stderr


def test_arguments_that_fail_validation_are_one_line_naming_each_field(home):
    result = run_loupe(home, "call", "--no-tree", "math.divide", '{"a": "x", "b": "y"}')
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("loupe: error: tool divide failed: a: Input should be a valid number")
    assert "; b: Input should be a valid number" in line and "pydantic.dev" not in line


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--timeout", "tool=nan", "q"], "finite"),
        (["--timeout", "tool=inf", "q"], "finite"),
        (["--timeout", "tool=-1", "q"], "greater than 0"),
        (["--timeout", "tool=soon", "q"], "'soon' is not a number"),
        (["--log-level", "LOUD", "q"], "DEBUG, INFO, WARNING, ERROR"),
        (["--loop-threshold-ms", "nan", "q"], "finite"),
        ([""], "QUESTION is empty"),
        (["--repeat", "many", "q"], "--repeat"),
        (["--frobnicate", "q"], "No such option: --frobnicate"),
    ],
)
def test_bad_flag_values_say_why_in_one_line(home, args, needle):
    result = run_loupe(home, "run", *args)
    assert result.returncode == 2
    _one_clear_line(result, needle)
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (home / "traces").exists()  # refused before anything started


def test_repeat_without_memory_says_no_leak_check_was_made(home):
    result = run_loupe(home, "run", "--repeat", "2", "--no-tree", "what is 1 + 1")
    assert result.returncode == 0, result.stderr
    assert "no leak check was made" in result.stderr and "add --memory" in result.stderr
    assert "KiB per run" not in result.stderr


def test_an_unreachable_http_server_is_named_with_its_url(home):
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = write_mcp_json(home / "mcp.json", {"remote": {"url": f"http://127.0.0.1:{port}/mcp"}})
    result = run_loupe(home, "call", "--no-tree", "--config", str(config), "remote.anything", "{}")
    assert result.returncode == 1
    _one_clear_line(result, "MCP server 'remote' failed to start", f"http://127.0.0.1:{port}/mcp", "is the server running")
    assert "ConnectError" not in result.stderr.split("(All connection")[0]


def test_serve_on_a_busy_port_is_one_line_and_starts_nothing(home):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = run_loupe(home, "serve", "--port", str(port), timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"loupe: error: cannot listen on 127.0.0.1:{port}: address already in use (another process has it? choose --port)"
    ]
    assert not [s for s in spans_in(home) if s.name.startswith("start_server")]


def test_prometheus_port_zero_says_where_and_why_it_waits(home):
    result = run_loupe(home, "call", "--no-tree", "--prometheus-port", "0", "math.add", '{"a": 1, "b": 2}',
                       AGENTLOUPE_PROMETHEUS_LINGER="0.5")
    assert result.returncode == 0, result.stderr
    assert re.search(r"^loupe: metrics for Prometheus at http://127\.0\.0\.1:\d+/metrics$", result.stderr, re.M)
    assert "waiting up to 0.5 s for Prometheus to scrape the last figures" in result.stderr


def test_an_unexpected_error_names_what_it_was_raised_from(home, tmp_path):
    """LangChain's ``init_chat_model`` says "requires the langchain-openai package" for any
    ImportError under it: the line names the error it was raised from too."""
    graph = tmp_path / "wrapping.py"
    graph.write_text(
        "from langgraph.graph import MessagesState, StateGraph\n\n"
        "def node(state):\n"
        "    try:\n"
        "        import openai_is_there_but_a_module_of_it_is_not\n"
        "    except ImportError as error:\n"
        "        raise ImportError('Initializing ChatOpenAI requires the langchain-openai package') from error\n\n"
        "graph = StateGraph(MessagesState).add_node('n', node).add_edge('__start__', 'n').compile()\n"
    )
    result = run_loupe(home, "run", "--no-tree", "--graph", f"{graph}:graph", "hi")
    assert result.returncode == 1
    _one_clear_line(
        result,
        "unexpected ImportError: Initializing ChatOpenAI requires the langchain-openai package",
        "(from ModuleNotFoundError: No module named 'openai_is_there_but_a_module_of_it_is_not')",
    )
