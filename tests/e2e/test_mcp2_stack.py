"""The MCP stack of 2026: mcp 2.x, FastMCP 4 and langchain.mcp, traced with no code change.

Runs in a second venv that holds a user's mcp 2 stack (``langchain[mcp]`` 1.5 and
langchain-openai), into which ``scripts/test.sh`` then installs agentloupe plain: real FastMCP 4
server processes, a real provider client against a local OpenAI-compatible endpoint.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.assets import openai_endpoint
from tests.conftest import assert_trace_complete, loupe_env, spans_in

ASSETS = Path(__file__).parent.parent / "assets"
VENV = os.environ.get("AGENTLOUPE_MCP2_VENV")
pytestmark = pytest.mark.skipif(not VENV, reason="the mcp 2 venv is made by scripts/test.sh (AGENTLOUPE_MCP2_VENV)")


def _run(home: Path, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env=loupe_env(home, **env), cwd=home, capture_output=True, text=True, timeout=180)


def test_installing_agentloupe_kept_the_users_mcp_2_stack(home):
    result = _run(
        home, f"{VENV}/bin/python", "-c",
        "from importlib.metadata import version as v; print(v('mcp'), v('fastmcp'), v('langchain'), v('agentloupe'))",
    )
    mcp, fastmcp, langchain, _ = result.stdout.split()
    assert mcp.startswith("2.") and fastmcp.startswith("4.") and langchain.startswith("1."), result.stdout
    missing = _run(home, f"{VENV}/bin/python", "-c", "import langchain_mcp_adapters")
    assert missing.returncode != 0  # nothing of the mcp 1 stack came along


def test_loupe_exec_traces_an_unmodified_mcp_2_program_across_processes(home):
    server, base_url = openai_endpoint.serve()
    try:
        result = _run(
            home, f"{VENV}/bin/loupe", "exec", "--", f"{VENV}/bin/python", str(ASSETS / "mcp2" / "app.py"),
            "What is 25 + 37?", OPENAI_BASE_URL=base_url,
        )
    finally:
        server.shutdown()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "The answer is 62.0."  # the program's own answer
    spans = spans_in(home)
    root = next(s for s in spans if s.name == "loupe exec")
    mine = [s for s in spans if s.trace_id == root.trace_id]
    assert_trace_complete(spans, root.trace_id, servers_instrumented=False)
    by_id = {s.span_id: s for s in mine}

    chats = [s for s in mine if s.name == "chat local-model"]
    assert len(chats) == 2 and chats[0].attributes["gen_ai.usage.input_tokens"] == 21
    # one CLIENT span per tool call (the SDK's, named and attributed as on mcp 1.x), one SERVER span
    # in the FastMCP server's own process, its child
    clients = [s for s in mine if s.name == "tools/call add" and s.kind == "CLIENT"]
    servers = [s for s in mine if s.name == "tools/call add" and s.kind == "SERVER"]
    assert len(clients) == 1 and len(servers) == 1, [(s.name, s.kind, s.service) for s in mine]
    client, served = clients[0], servers[0]
    assert client.attributes["mcp.method.name"] == "tools/call"
    assert client.attributes["gen_ai.tool.name"] == "add"
    assert client.attributes["gen_ai.operation.name"] == "execute_tool"
    assert client.attributes["gen_ai.tool.call.id"] == "call_1"
    assert served.parent_span_id == client.span_id and served.service == "server"
    assert by_id[client.parent_span_id].name == "execute_tool add"  # the agent's tool span holds it
    # the SDK's span keeps its own name only inside FastMCP's span for the same request (tools/list)
    for inner in [s for s in mine if s.name.startswith("MCP send")]:
        assert by_id[inner.parent_span_id].name == inner.name.removeprefix("MCP send "), inner.name
    assert not [s for s in mine if s.name == "MCP send tools/call add"]


def test_a_program_whose_python_cannot_import_agentloupe_says_it_runs_untraced(home):
    # the machine's own interpreter, not a venv with agentloupe
    python = subprocess.run(
        ["python3", "-c", "import sys; print(sys.executable)"], capture_output=True, text=True, cwd=home
    ).stdout.strip()
    check = subprocess.run([python, "-c", "import agentloupe"], capture_output=True, cwd=home)
    assert check.returncode != 0, "this test needs a python without agentloupe"
    result = _run(home, sys.executable, "-m", "agentloupe", "exec", "--no-tree", "--", python, "-c",
                  "import sys; print('ran'); sys.exit(3)")
    assert result.returncode == 3 and result.stdout == "ran\n"
    said = [line for line in result.stderr.splitlines() if "untraced" in line]
    assert len(said) == 1 and f"{python} -m pip install agentloupe" in said[0], result.stderr


def test_the_bundled_agent_runs_on_mcp_2_with_langchain_mcp_tools(home):
    # its servers on the SDK's MCPServer, its sessions on mcp 2's ClientSession, its MCP tools made
    # by langchain.mcp (the adapters are not installed in this venv: a converter of our own, or the
    # adapters, could not have made them)
    question = "What is 25 + 37, the 12th Fibonacci number, and the weather in Tokyo?"
    result = _run(home, f"{VENV}/bin/loupe", "run", "--no-tree", question)
    assert result.returncode == 0, result.stderr
    assert "add(a=25, b=37) = 62" in result.stdout and 'get_weather(city="Tokyo") = Tokyo: ' in result.stdout
    assert "Traceback" not in result.stderr and "beta" not in result.stderr
    trace_id = result.stderr.split("trace_id=")[1].split()[0]
    spans = [s for s in spans_in(home) if s.trace_id == trace_id]
    assert_trace_complete(spans, trace_id)
    assert {s.service for s in spans} == {"agentloupe", "agentloupe-math", "agentloupe-weather"}
    by_id = {s.span_id: s for s in spans}
    for tool, server, transport in (("add", "math", "pipe"), ("get_weather", "weather", "tcp")):
        [served] = [s for s in spans if s.name == f"tools/call {tool}" and s.kind == "SERVER"]
        client = by_id[served.parent_span_id]  # one CLIENT span (the SDK's), the SERVER span its child
        assert client.name == f"tools/call {tool}" and client.kind == "CLIENT" and client.service == "agentloupe"
        assert client.attributes["agentloupe.server.name"] == server
        assert client.attributes["network.transport"] == transport
        assert client.attributes["gen_ai.tool.call.id"]
    assert {"start_server math", "start_server weather", "stop_server math", "stop_server weather"} <= {
        s.name for s in spans
    }
    leftover = subprocess.run(["pgrep", "-f", f"{VENV}/bin/python.*agentloupe.servers"], capture_output=True)
    assert leftover.returncode == 1, leftover.stdout


def test_loupe_call_and_tools_on_mcp_2(home):
    called = _run(home, f"{VENV}/bin/loupe", "call", "--no-tree", "math.divide", '{"a": 1, "b": 0}')
    assert called.returncode == 1 and called.stdout == ""
    assert called.stderr.strip().splitlines()[-1].startswith("loupe: error: tool divide failed: division by zero")
    for kind in ("CLIENT", "SERVER"):  # a tool's error result is an error on both sides, as on mcp 1.x
        [span] = [s for s in spans_in(home) if s.name == "tools/call divide" and s.kind == kind]
        assert span.is_error and span.attributes["error.type"] == "tool_error"
    listed = _run(home, f"{VENV}/bin/loupe", "tools")
    assert listed.returncode == 0, listed.stderr
    assert "math.add(a: number, b: number)" in listed.stdout and "weather.get_weather(city: string)" in listed.stdout


def test_your_own_graph_runs_under_loupe_run_on_the_mcp_2_stack(home):
    # --graph needs no MCP SDK of its own unless the graph asks for mcp.json's tools
    agent = ASSETS / "create_agent" / "agent.py"
    result = _run(home, f"{VENV}/bin/loupe", "run", "--graph", f"{agent}:make_graph", "--output", "json", "What is 25 + 37?")
    assert result.returncode == 0, result.stderr
    assert '"total": 62.0' in result.stdout
    assert any(s.name == "execute_tool add" for s in spans_in(home))


def test_what_a_caller_puts_in_meta_arrives_as_it_is_with_the_trace_context_beside_it(home):
    client = str(ASSETS / "mcp2" / "meta_client.py")
    plain = _run(home, f"{VENV}/bin/python", client)
    traced = _run(home, f"{VENV}/bin/loupe", "exec", "--no-tree", "--", f"{VENV}/bin/python", client)
    assert plain.returncode == 0 and traced.returncode == 0, traced.stderr
    seen_plain = json.loads(plain.stdout.strip().splitlines()[-1])
    seen_traced = json.loads(traced.stdout.strip().splitlines()[-1])
    assert seen_traced["custom"] == "kept" and set(seen_traced) - set(seen_plain) == {"traceparent"}
    assert {k: v for k, v in seen_traced.items() if k != "traceparent"} == seen_plain
    root = next(s for s in spans_in(home) if s.name == "loupe exec")
    assert seen_traced["traceparent"].split("-")[1] == root.trace_id  # the program's trace, into the server


def test_a_programs_own_mcp_2_client_and_server_get_deadlines_capture_and_tool_errors(home):
    # a FastMCP 4 client and server of the program's own, not agentloupe's pool: under loupe exec the
    # watchdog's tool deadline reports the hang on both sides with the stuck line, --capture-content
    # records a call's arguments and result on both spans, a tool's error result is an error on both
    result = _run(
        home, f"{VENV}/bin/loupe", "exec", "--no-tree", "--capture-content", "--timeout", "tool=1", "--",
        f"{VENV}/bin/python", str(ASSETS / "mcp2" / "hang_client.py"),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["echo: hi", "failed: True", "hang: gave up"]  # its answers, unchanged
    spans = spans_in(home)
    root = next(s for s in spans if s.name == "loupe exec")
    mine = [s for s in spans if s.trace_id == root.trace_id]

    def one(tool, kind):
        [span] = [s for s in mine if s.name == f"tools/call {tool}" and s.kind == kind]
        return span

    for kind in ("CLIENT", "SERVER"):
        echo = one("echo", kind)
        assert "hi" in echo.attributes["gen_ai.tool.call.arguments"], (kind, echo.attributes)
        assert "echo: hi" in echo.attributes["gen_ai.tool.call.result"], (kind, echo.attributes)
        failed = one("fail", kind)
        assert failed.is_error and failed.attributes["error.type"] == "tool_error", (kind, failed.attributes)
    assert one("echo", "SERVER").service != one("echo", "CLIENT").service  # in the server's own process

    hangs = {s.kind: e["attributes"] for s in mine if s.name == "tools/call hang" for e in s.events if e["name"] == "hang"}
    assert set(hangs) == {"CLIENT", "SERVER"}, [(s.name, s.kind, s.events) for s in mine if "hang" in s.name]
    assert hangs["CLIENT"]["agentloupe.hang.kind"] == "tool" and hangs["CLIENT"]["agentloupe.hang.deadline_s"] == 1
    assert "hang_server.py" in hangs["SERVER"]["agentloupe.hang.stuck_at"] and "in hang" in hangs["SERVER"]["agentloupe.hang.stuck_at"]
    # FastMCP's client awaits the request in a task of its own (and wait_for in another): the stuck
    # line is still the program's
    assert "hang_client.py" in hangs["CLIENT"]["agentloupe.hang.stuck_at"] and "in main" in hangs["CLIENT"]["agentloupe.hang.stuck_at"]


def test_a_programs_own_fastmcp_call_cancelled_at_its_deadline_is_marked_timeout(home):
    # --on-hang cancel: the hung call raises DeadlineExceeded (a TimeoutError) in the program, which
    # gives up as it would have at its own 3 s; FastMCP's span, which records it, says timeout
    result = _run(
        home, f"{VENV}/bin/loupe", "exec", "--no-tree", "--timeout", "tool=1", "--on-hang", "cancel", "--",
        f"{VENV}/bin/python", str(ASSETS / "mcp2" / "hang_client.py"),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["echo: hi", "failed: True", "hang: gave up"]
    spans = spans_in(home)
    root = next(s for s in spans if s.name == "loupe exec")
    [call] = [s for s in spans if s.trace_id == root.trace_id and s.name == "tools/call hang" and s.kind == "CLIENT"]
    assert call.attributes["error.type"] == "timeout", call.attributes
    [hang] = [e["attributes"] for e in call.events if e["name"] == "hang"]
    assert hang["agentloupe.hang.action"] == "cancel" and "hang_client.py" in hang["agentloupe.hang.stuck_at"]
    assert "handler for" not in result.stderr and "request handler raised" not in result.stderr  # no server traceback
