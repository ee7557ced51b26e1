"""Servers launched before the command's imports: taken over by the pool, or stopped; never orphaned."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import anyio
import psutil
import pytest

from agentloupe.platform.config import ServerConfig, Settings, bundled_servers
from agentloupe.platform.errors import ServerStartError
from agentloupe.platform.sessions import SessionPool, headstart
from agentloupe.platform.sessions import launcher
from agentloupe.platform.sessions.launcher import ServerProcess, child_environment
from tests.conftest import (
    QUESTION,
    alive,
    assert_trace_complete,
    loupe_env,
    run_loupe,
    server_children,
    server_pids,
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
    # stopped as the head start ends (it waits for the exit): reaped, and no such process any more
    assert process.returncode is not None
    assert not psutil.pid_exists(process.pid)


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
    command = home / "server"  # not there yet: the launch ahead fails with "not found"
    broken = ServerConfig(name="broken", command=str(command), required=True)
    settings = Settings(servers={"broken": broken})
    async with headstart.head_start(settings, ["broken"], child_environment(settings)) as started:
        failed = started.launched["broken"].error
        assert isinstance(failed, ServerStartError)
        # Now the command exists, and is a working server: a pool that launched again would start
        # it. The pool raises the launch ahead's error instead, that very one.
        command.write_text(f"#!/bin/sh\nexec {sys.executable} -m agentloupe.servers.math\n")
        command.chmod(0o755)
        with pytest.raises(ServerStartError, match="not found") as raised:
            async with SessionPool(settings, child_environment(settings), langchain_tools=False):
                pass
        assert raised.value is failed


def test_the_trace_of_a_run_starts_where_its_servers_were_launched(home):
    # the command's imports take at least a second here (held by the hook), and say when they began
    importing = home / "importing"
    result = run_loupe(home, "run", "--no-tree", QUESTION, **hold_imports(home, importing, at_least_s=1))
    assert result.returncode == 0, result.stderr
    imports = json.loads(importing.read_text())
    assert imports["thread"] != "MainThread"  # the imports ran on a thread, not on the loop
    spans = spans_in(home)
    root = next(s for s in spans if s.name == "loupe run")
    assert_trace_complete(spans, root.trace_id)
    starts = sorted((s for s in spans if s.name.startswith("start_server ")), key=lambda s: s.start_ns)
    assert [s.name for s in starts] == ["start_server weather", "start_server math"]  # HTTP (the longer boot) first
    # as many launched before the imports as leave a core to them; the rest in turn, while they run
    ahead = max(1, (os.cpu_count() or 1) - 1)
    for i, start in enumerate(starts):
        assert root.start_ns <= start.start_ns <= start.end_ns <= root.end_ns
        assert (start.start_ns <= imports["began_ns"]) == (i < ahead)
        # taken over by the pool only once the imports were done
        claimed_ns = start.start_ns + start.attributes["agentloupe.server.claimed_after_ms"] * 1e6
        assert claimed_ns >= imports["began_ns"] + 1e9
    shown = run_loupe(home, "trace")
    assert shown.stdout.count("launched ahead: taken over after") == 2, shown.stdout


def test_a_call_to_a_server_that_cannot_start_says_so_and_leaves_nothing_behind(home):
    config = write_mcp_json(home / "mcp.json", {"broken": {"command": sys.executable, "args": ["-c", "exit(3)"]}})
    result = run_loupe(home, "call", "--config", str(config), "broken.anything")
    assert result.returncode == 1, result.stderr  # a server that failed to start
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("loupe: ") and "broken" in last and "code 3" in last, result.stderr
    assert "Traceback" not in result.stderr
    # nothing left running: every server process loupe launched is gone (loupe itself has exited)
    pids = server_pids(spans_in(home))
    assert pids and not [pid for pid in pids if alive(pid)]


async def test_a_pool_with_another_config_for_the_name_launches_its_own(settings):
    other = Settings(servers={"math": settings.servers["math"].model_copy()})
    async with headstart.head_start(settings, ["math"], child_environment(settings)) as started:
        ahead = started.launched["math"].process
        assert ahead is not None
        async with SessionPool(other, child_environment(other), langchain_tools=False) as pool:
            assert pool.slots["math"].process is not ahead
        assert alive(ahead.pid)  # not claimed: the head start stops it when it ends
    wait_for(lambda: not alive(ahead.pid), "the unclaimed server to be stopped", timeout=10)


# Loaded into the `loupe` process only (it takes its variables out of the environment the servers
# inherit): the first `import mcp` (the first of the command's imports) writes which thread it ran
# on and when it began to a file, then waits until the test lets it go (or a minimum time passes).
# The test can then send Ctrl-C while the imports surely still run, or know how long they took.
HOLD_IMPORTS = """
import json, os, sys, threading, time
from pathlib import Path

_marker = os.environ.pop("LOUPE_TEST_HOLD_IMPORTS", None)
_at_least_s = os.environ.pop("LOUPE_TEST_HOLD_IMPORTS_S", None)


class _HoldImports:
    def find_spec(self, name, path=None, target=None):
        if name == "mcp":
            sys.meta_path.remove(self)
            began = {"thread": threading.current_thread().name, "began_ns": time.time_ns()}
            Path(_marker).write_text(json.dumps(began))
            deadline = time.monotonic() + (float(_at_least_s) if _at_least_s else 120)  # never for ever
            while not Path(_marker + ".release").exists() and time.monotonic() < deadline:
                time.sleep(0.05)
        return None


if _marker:
    sys.meta_path.insert(0, _HoldImports())
"""


def hold_imports(home, marker, at_least_s: float | None = None) -> dict[str, str]:
    """The environment that loads ``HOLD_IMPORTS`` into a `loupe` process; ``marker`` tells when its
    imports begin; they go on once ``<marker>.release`` exists (or ``at_least_s`` have passed)."""
    hook = home / "hook"
    hook.mkdir(exist_ok=True)
    (hook / "sitecustomize.py").write_text(HOLD_IMPORTS)
    env = {"PYTHONPATH": str(hook), "LOUPE_TEST_HOLD_IMPORTS": str(marker)}
    if at_least_s is not None:
        env["LOUPE_TEST_HOLD_IMPORTS_S"] = str(at_least_s)
    return env


@pytest.mark.parametrize("command", [["run", QUESTION], ["call", "math.add", '{"a": 2, "b": 3}']], ids=["run", "call"])
def test_ctrl_c_while_the_command_still_imports_stops_the_servers_launched_ahead(home, command):
    importing = home / "importing"
    release = home / "importing.release"
    process = subprocess.Popen([sys.executable, "-m", "agentloupe", *command], cwd=home,
                               env=loupe_env(home, **hold_imports(home, importing)),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        expected = 2 if command[0] == "run" else 1
        wait_for(lambda: len(server_children(process.pid)) == expected, "the servers to be launched ahead", timeout=30)
        servers = server_children(process.pid)
        wait_for(importing.exists, "the command's imports to start", timeout=30)
        process.send_signal(signal.SIGINT)  # the imports are held: they are still running
        # stopped now, while the imports still run: not once they are done
        wait_for(lambda: not any(alive(s.pid) for s in servers), "the servers launched ahead to be stopped", timeout=30)
    finally:
        release.write_text("")
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr


async def test_the_next_server_waits_until_the_one_booting_stops_using_the_cpu(home):
    # busy for 0.6 s of CPU (a server's imports), then waiting for input (booted)
    busy = "import time\nend = time.process_time() + 0.6\nwhile time.process_time() < end: pass\ntime.sleep(30)"
    process = await anyio.open_process([sys.executable, "-c", busy])
    booting = ServerProcess(name="busy", process=process, log_path=home / "busy.log")
    try:
        started = time.perf_counter()
        await launcher.idle(booting, limit_s=10)
        waited = time.perf_counter() - started
        assert sum(psutil.Process(process.pid).cpu_times()[:2]) >= 0.6  # it had done its work
        assert waited < 5  # and was seen idle then, well before the limit
        started = time.perf_counter()
        await launcher.idle(booting, limit_s=10)  # an idle one: at once
        assert time.perf_counter() - started < 1
    finally:
        process.kill()
        await process.wait()
