"""Servers launched before the command's imports: taken over by the pool, or stopped; never orphaned."""

from __future__ import annotations

import signal
import subprocess
import sys

import psutil
import pytest

from agentloupe.platform.config import ServerConfig, Settings, bundled_servers
from agentloupe.platform.errors import ServerStartError
from agentloupe.platform.sessions import SessionPool, headstart
from agentloupe.platform.sessions.launcher import child_environment
from tests.conftest import (
    QUESTION,
    alive,
    assert_trace_complete,
    loupe_env,
    run_loupe,
    spans_in,
    wait_for,
    write_mcp_json,
)


@pytest.fixture(autouse=True)
def scratch_home(home, monkeypatch):
    monkeypatch.setenv("AGENTLOUPE_HOME", str(home))  # the servers' logs and trace files


@pytest.fixture
def settings() -> Settings:
    return Settings(servers={"math": bundled_servers()["math"]})


async def test_a_server_no_pool_claims_is_stopped_when_the_head_start_ends(settings):
    async with headstart.head_start(settings, ["math"], child_environment(settings)) as started:
        process = started.launched["math"].process
        assert process is not None and alive(process.pid)
    wait_for(lambda: not alive(process.pid), "the unclaimed server to be stopped", timeout=10)
    assert headstart.pending(settings.servers["math"]) is None


async def test_the_pool_takes_over_the_launched_process_and_stops_it_itself(settings):
    async with headstart.head_start(settings, ["math"], child_environment(settings)) as started:
        launched = started.launched["math"].process
        assert launched is not None
        async with SessionPool(settings, child_environment(settings), langchain_tools=False) as pool:
            assert pool.slots["math"].process is launched
            assert headstart.pending(settings.servers["math"]) is None  # claimed once: a restart launches anew
            result = await pool.session("math").call_tool("add", {"a": 2, "b": 3})
            assert result.content[0].text == "5"
        assert not alive(launched.pid)


async def test_a_launch_that_failed_is_the_pools_start_error(home):
    broken = ServerConfig(name="broken", command="/nonexistent/server", required=True)
    settings = Settings(servers={"broken": broken})
    async with headstart.head_start(settings, ["broken"], child_environment(settings)) as started:
        assert isinstance(started.launched["broken"].error, ServerStartError)
        with pytest.raises(ServerStartError, match="not found"):
            async with SessionPool(settings, child_environment(settings), langchain_tools=False):
                pass


def test_the_trace_of_a_run_starts_where_its_servers_were_launched(home):
    result = run_loupe(home, "run", "--no-tree", QUESTION)
    assert result.returncode == 0, result.stderr
    assert "event_loop_blocked" not in result.stderr  # the imports ran on a thread, not on the loop
    spans = spans_in(home)
    root = next(s for s in spans if s.name == "loupe run")
    assert_trace_complete(spans, root.trace_id)
    for name in ("math", "weather"):
        start = next(s for s in spans if s.name == f"start_server {name}")
        assert root.start_ns <= start.start_ns <= start.end_ns <= root.end_ns
        assert start.attributes["agentloupe.server.claimed_after_ms"] >= 0
        assert start.attributes["agentloupe.server.ready_ms"] >= start.attributes["agentloupe.server.claimed_after_ms"]
    shown = run_loupe(home, "trace")
    assert shown.stdout.count("launched ahead: taken over after") == 2, shown.stdout


def test_a_call_to_a_server_that_cannot_start_says_so_and_leaves_nothing_behind(home):
    config = write_mcp_json(home / "mcp.json", {"broken": {"command": sys.executable, "args": ["-c", "exit(3)"]}})
    result = run_loupe(home, "call", "--config", str(config), "broken.anything")
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("loupe: ") and "broken" in last and "code 3" in last, result.stderr
    assert "Traceback" not in result.stderr


async def test_a_pool_with_another_config_for_the_name_launches_its_own(settings):
    other = Settings(servers={"math": settings.servers["math"].model_copy()})
    async with headstart.head_start(settings, ["math"], child_environment(settings)) as started:
        ahead = started.launched["math"].process
        assert ahead is not None
        async with SessionPool(other, child_environment(other), langchain_tools=False) as pool:
            assert pool.slots["math"].process is not ahead
        assert alive(ahead.pid)  # not claimed: the head start stops it when it ends
    wait_for(lambda: not alive(ahead.pid), "the unclaimed server to be stopped", timeout=10)


@pytest.mark.parametrize("command", [["run", QUESTION], ["call", "math.add", '{"a": 2, "b": 3}']])
def test_ctrl_c_while_the_command_still_imports_stops_the_servers_launched_ahead(home, command):
    process = subprocess.Popen([sys.executable, "-m", "agentloupe", *command], env=loupe_env(home), cwd=home,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    servers: list[psutil.Process] = []

    def launched() -> bool:
        children = psutil.Process(process.pid).children()
        servers[:] = [c for c in children if "agentloupe.servers" in " ".join(c.cmdline())]
        return len(servers) == (2 if command[0] == "run" else 1)

    wait_for(launched, "the servers to be launched ahead", timeout=30)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    wait_for(lambda: not any(alive(s.pid) for s in servers), "the servers launched ahead to be stopped", timeout=10)
