"""`loupe run` with the offline model, as a real subprocess: one trace across three processes."""

from __future__ import annotations

import pytest

from tests.conftest import MCP_GENERATION, QUESTION, alive, assert_trace_complete, run_loupe, server_pids, spans_in


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    home = tmp_path_factory.mktemp("run")
    result = run_loupe(home, "run", QUESTION)
    assert result.returncode == 0, result.stderr
    return home, result, spans_in(home)


def test_answer_has_the_right_numbers(run):
    _, result, _ = run
    assert "= 62" in result.stdout
    assert "= 144" in result.stdout
    assert "Tokyo:" in result.stdout and "°C" in result.stdout


def test_one_trace_covers_agent_and_both_servers(run):
    _, result, spans = run
    trace_id = result.stderr.split("trace_id=")[1].split()[0]
    services = {s.service for s in spans if s.trace_id == trace_id}
    assert services == {"agentloupe", "agentloupe-math", "agentloupe-weather"}


def test_server_span_is_child_of_client_span(run):
    _, _, spans = run
    by_id = {s.span_id: s for s in spans}
    server = next(s for s in spans if s.name == "tools/call add" and s.kind == "SERVER")
    client = by_id[server.parent_span_id]
    assert client.name == "tools/call add" and client.kind == "CLIENT"
    assert client.service == "agentloupe" and server.service == "agentloupe-math"
    assert client.attributes["gen_ai.tool.call.id"]
    assert client.attributes["mcp.method.name"] == "tools/call"
    assert client.attributes["network.transport"] == "pipe"
    weather = next(s for s in spans if s.name == "tools/call get_weather" and s.kind == "SERVER")
    assert by_id[weather.parent_span_id].attributes["network.transport"] == "tcp"
    if MCP_GENERATION == 1:  # mcp 2's SERVER spans are the SDK's, which do not say where the request came from
        assert weather.attributes["network.transport"] == "tcp"
        assert weather.attributes["client.address"] == "127.0.0.1"


@pytest.mark.parametrize(
    ("prefix", "attributes"),
    [
        ("loupe run", {"agentloupe.run.id"}),
        ("start_server math", {"agentloupe.server.name", "agentloupe.server.transport", "process.pid", "agentloupe.server.ready_ms"}),
        ("start_server weather", {"agentloupe.server.name", "agentloupe.server.transport", "process.pid", "agentloupe.server.ready_ms"}),
        ("invoke_agent", {"gen_ai.operation.name", "gen_ai.agent.name", "gen_ai.conversation.id"}),
        ("chat offline-planner", {"gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model", "gen_ai.response.model", "gen_ai.response.finish_reasons", "agentloupe.model.kind"}),
        ("execute_tool calculate_fibonacci", {"gen_ai.operation.name", "gen_ai.tool.name", "gen_ai.tool.call.id"}),
        ("tools/call add", {"mcp.method.name", "jsonrpc.request.id", "gen_ai.tool.name"}),
        ("initialize", {"mcp.method.name", "mcp.protocol.version"}),
        ("shutdown", set()),
        ("stop_server math", {"agentloupe.stop.signal", "process.exit.code"}),
    ],
)
def test_required_spans_and_attributes(run, prefix, attributes):
    _, _, spans = run
    matching = [s for s in spans if s.name.startswith(prefix)]
    assert matching, f"no span named {prefix!r}"
    assert attributes <= set(matching[0].attributes), set(matching[0].attributes)


def test_model_span_says_planner_not_llm(run):
    _, _, spans = run
    chat = next(s for s in spans if s.name.startswith("chat "))
    assert chat.attributes["agentloupe.model.kind"] == "planner"
    assert chat.kind == "CLIENT"


def test_no_span_is_missing_from_the_trace(run):
    _, result, spans = run
    trace_id = result.stderr.split("trace_id=")[1].split()[0]
    assert_trace_complete(spans, trace_id)


def test_no_server_process_outlives_loupe(run):
    _, _, spans = run
    pids = server_pids(spans)
    assert len(pids) == 2
    assert not [pid for pid in pids if alive(pid)]


def test_tree_printed_on_stderr(run):
    _, result, _ = run
    assert "└─ loupe run" in result.stderr
    assert "[agentloupe-math]" in result.stderr
    assert "tools/call add" in result.stderr


def test_trace_command_reprints_the_last_run(run):
    home, result, _ = run
    again = run_loupe(home, "trace")
    assert again.returncode == 0, again.stderr
    trace_id = result.stderr.split("trace_id=")[1].split()[0]
    assert f"trace {trace_id}" in again.stdout
    assert "tools/call get_weather" in again.stdout


def test_trace_files_are_otlp_json(run):
    import json

    home, _, _ = run
    files = sorted((home / "traces").glob("*.jsonl"))
    assert {f.name.rsplit("-", 1)[0] for f in files} == {"agentloupe", "agentloupe-math", "agentloupe-weather"}
    request = json.loads(files[0].read_text().splitlines()[0])
    span = request["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert len(span["traceId"]) == 32 and int(span["traceId"], 16)
    assert len(span["spanId"]) == 16


def test_a_clean_run_leaves_no_error_in_the_server_logs(run):
    home, _, _ = run
    logs = {path.name: path.read_text() for path in (home / "logs").glob("*.log")}
    assert {name.split("-")[0] for name in logs} == {"math", "weather"}
    for name, text in logs.items():
        assert "ERROR" not in text and "Traceback" not in text, f"{name}:\n{text[:2000]}"
