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


def test_the_bundled_agent_on_mcp_2_says_what_to_do_in_one_line(home):
    # its sessions and servers are mcp 1.x code: one line with the way out, exit 2, nothing left running
    for args in (["call", "math.add", '{"a": 1, "b": 2}'], ["run", "What is 2 + 3?"], ["tools"]):
        result = _run(home, f"{VENV}/bin/loupe", *args)
        assert result.returncode == 2, result.stderr
        errors = [line for line in result.stderr.splitlines() if line.strip()]
        assert errors[-1].startswith("loupe: error: the bundled agent") and "mcp 2.x" in errors[-1], result.stderr
        assert "loupe exec" in errors[-1] and "agentloupe[mcp1]" in errors[-1]
        assert "Traceback" not in result.stderr
    leftover = subprocess.run(["pgrep", "-f", f"{VENV}/bin/python.*agentloupe.servers"], capture_output=True)
    assert leftover.returncode == 1, leftover.stdout


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
