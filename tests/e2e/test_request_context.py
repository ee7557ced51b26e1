"""A request's own trace context wins inside the request: a FastMCP 4 HTTP server under its own
``loupe exec``, called by a client under another, puts the request's spans under the client's
``tools/call`` span (the server's process-wide parent from ``loupe exec`` is not the request's),
with and without ``--trace-per-invocation``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agentloupe.platform.sessions.launcher import free_port
from tests.conftest import MCP_GENERATION, answers, loupe_env, run_loupe, spans_in, wait_for

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "mcp2"
pytestmark = pytest.mark.skipif(MCP_GENERATION != 2, reason="FastMCP 4's server: mcp 2.x")


@pytest.mark.parametrize("per_invocation", [[], ["--trace-per-invocation"]], ids=["one-trace", "per-invocation"])
def test_a_server_under_exec_joins_the_trace_of_the_request_it_serves(home, per_invocation):
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "agentloupe", "exec", "--no-tree", *per_invocation, "--",
         sys.executable, str(ASSETS / "http_server.py"), str(port)],
        env=loupe_env(home), cwd=home, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}/mcp"
        wait_for(lambda: answers(url) or server.poll() is not None, "the server")
        assert server.poll() is None, server.stderr.read() if server.stderr else ""
        called = run_loupe(home, "exec", "--no-tree", "--", sys.executable, str(ASSETS / "http_client.py"), url)
        assert called.returncode == 0, called.stderr
        assert called.stdout.strip() == "5.0"
    finally:
        server.terminate()
        server.wait(30)
    spans = spans_in(home)
    [call] = [s for s in spans if s.name == "tools/call add" and s.kind == "CLIENT"]
    [served] = [s for s in spans if s.name == "tools/call add" and s.kind == "SERVER"]
    assert call.service != served.service
    assert (served.trace_id, served.parent_span_id) == (call.trace_id, call.span_id)
