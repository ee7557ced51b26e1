"""Any MCP server from an mcp.json: stdio, HTTP already running, HTTP launched by agentloupe."""

from __future__ import annotations

import sys

import pytest

from tests.conftest import (
    ASSETS,
    alive,
    http_server,
    run_loupe,
    server_pids,
    spans_in,
    write_mcp_json,
)

ASK = "call get_current_time with timezone Europe/London"


def _assert_traced(home, result, *, server_joins: bool):
    assert result.returncode == 0, result.stderr
    assert "Europe/London " in result.stdout
    spans = spans_in(home)
    client = next(s for s in spans if s.name == "tools/call get_current_time" and s.kind == "CLIENT")
    assert client.service == "agentloupe"
    assert client.attributes["gen_ai.tool.name"] == "get_current_time"
    if server_joins:
        # the server's code knows nothing of agentloupe; launched by it, it is instrumented
        # at start-up (bootstrap on PYTHONPATH) and traces as the name it has in mcp.json
        server = next(s for s in spans if s.name == "tools/call get_current_time" and s.kind == "SERVER")
        assert server.service == "clock" and server.parent_span_id == client.span_id
    else:
        # started by someone else: nothing of agentloupe in it, no server spans, nothing broke
        assert {s.service for s in spans} == {"agentloupe"}
    return spans


def test_third_party_stdio_server(home):
    config = write_mcp_json(home / "mcp.json", {"clock": {"command": sys.executable, "args": [str(ASSETS / "clock_server.py")]}})
    result = run_loupe(home, "run", "--config", str(config), ASK)
    spans = _assert_traced(home, result, server_joins=True)
    assert not [pid for pid in server_pids(spans) if alive(pid)]


def test_third_party_http_server_launched_by_agentloupe(home):
    config = write_mcp_json(
        home / "mcp.json",
        {
            "clock": {
                "command": sys.executable,
                "args": [str(ASSETS / "clock_server.py"), "--port", "{port}"],
                "url": "http://127.0.0.1:{port}/mcp",
            }
        },
    )
    result = run_loupe(home, "run", "--config", str(config), ASK)
    spans = _assert_traced(home, result, server_joins=True)
    assert not [pid for pid in server_pids(spans) if alive(pid)]


@pytest.fixture
def running_clock():
    with http_server(sys.executable, str(ASSETS / "clock_server.py")) as url:
        yield url


def test_third_party_http_server_already_running(home, running_clock):
    config = write_mcp_json(home / "mcp.json", {"clock": {"url": running_clock}})
    result = run_loupe(home, "run", "--config", str(config), ASK)
    spans = _assert_traced(home, result, server_joins=False)
    client = next(s for s in spans if s.name == "tools/call get_current_time")
    assert client.attributes["network.transport"] == "tcp"
    assert client.attributes["mcp.session.id"]


def test_request_the_planner_cannot_map_gets_an_honest_answer(home):
    config = write_mcp_json(home / "mcp.json", {"clock": {"command": sys.executable, "args": [str(ASSETS / "clock_server.py")]}})
    result = run_loupe(home, "run", "--config", str(config), "sing me a song about the sea")
    assert result.returncode == 0, result.stderr
    assert "could not answer" in result.stdout and "no tool matches" in result.stdout
