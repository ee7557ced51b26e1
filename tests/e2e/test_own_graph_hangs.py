"""Hangs in a user's own graph, under `loupe run --graph` and `loupe exec` alike: the report names the
user's stuck line (file, line, function, node), sits on the node's span, and a deadline the user set
ends the run with one line and exit code 124."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import loupe_env, run_loupe, spans_in

HANGS = Path(__file__).parent.parent / "assets" / "hangs"
EXIT_DEADLINE = 124


def _at(name: str, marker: str, function: str) -> str:
    """``/path/name.py:LINE in function`` for the line of ``name`` that holds ``marker``."""
    path = HANGS / name
    line = next(i for i, text in enumerate(path.read_text().splitlines(), start=1) if marker in text)
    return f"{path}:{line} in {function}"


def _run(home, mode: str, name: str, state: str, *flags: str):
    if mode == "graph":
        return run_loupe(home, "run", "--graph", f"{HANGS / name}:graph", "--input", state, *flags, timeout=60)
    return run_loupe(home, "exec", *flags, "--", sys.executable, str(HANGS / name), timeout=60)


def _hang_events(home, span_name: str) -> list[dict]:
    return [e["attributes"] for s in spans_in(home) if s.name == span_name for e in s.events if e["name"] == "hang"]


def _last_error(stderr: str) -> str:
    """The one error line (under `loupe exec` the program says it, before the parent's tree)."""
    errors = [line for line in stderr.splitlines() if line.startswith("loupe: error:")]
    assert len(errors) == 1, stderr
    return errors[0]


@pytest.mark.parametrize("mode", ["graph", "exec"])
def test_an_awaited_event_is_named_at_the_users_line_on_the_node(home, mode):
    result = _run(home, mode, "hang.py", '{"x": 1}', "--timeout", "run=3", "--on-hang", "cancel")
    stuck = f"{_at('hang.py', 'await event.wait()', 'wait_for_result')} <- {_at('hang.py', 'await wait_for_result(', 'stuck')} (node stuck)"
    assert result.returncode == EXIT_DEADLINE, result.stderr
    assert _last_error(result.stderr) == f"loupe: error: run passed its 3 s deadline waiting at {stuck} and was cancelled"
    assert "unexpected" not in result.stderr and "Traceback" not in result.stderr
    on_node = _hang_events(home, "stuck")
    assert on_node and on_node[0]["agentloupe.hang.stuck_at"] == stuck
    assert any("hang.py" in line for line in on_node[0]["agentloupe.hang.await_chain"])  # the full chain is kept


@pytest.mark.parametrize("mode", ["graph", "exec"])
def test_a_lock_cycle_across_send_branches_names_both_lines(home, mode):
    result = _run(home, mode, "deadlock.py", '{"done": []}', "--timeout", "run=3", "--on-hang", "cancel")
    take = _at("deadlock.py", "async with theirs:", "take")
    left = f"{take} <- {_at('deadlock.py', 'await take(first, second)', 'branch')} (node branch)"
    right = f"{take} <- {_at('deadlock.py', 'await take(second, first)', 'branch')} (node branch)"
    assert result.returncode == EXIT_DEADLINE, result.stderr
    error = _last_error(result.stderr)
    assert left in error and right in error and "these wait on each other" in error, error
    # each branch's own span carries its own line
    named = {e["agentloupe.hang.stuck_at"] for e in _hang_events(home, "branch")}
    assert {left, right} <= named, named


@pytest.mark.parametrize("mode", ["graph", "exec"])
def test_a_sync_node_blocked_in_its_thread_is_named_from_that_thread(home, mode):
    result = _run(home, mode, "sync_node.py", '{"x": 1}', "--timeout", "run=3")
    stuck = f"{_at('sync_node.py', 'with held:', 'update_cache')} (node locked)"
    # ends at the deadline although the thread stays stuck (run_loupe's own timeout would fail it)
    assert result.returncode == EXIT_DEADLINE, result.stderr
    assert _last_error(result.stderr) == f"loupe: error: run passed its 3 s deadline waiting at {stuck} and was cancelled"


@pytest.mark.parametrize("mode", ["graph", "exec"])
def test_a_node_deadline_bounds_each_node(home, mode):
    result = _run(home, mode, "hang.py", '{"x": 1}', "--timeout", "node=2", "--on-hang", "cancel")
    assert result.returncode == EXIT_DEADLINE, result.stderr
    assert _last_error(result.stderr).startswith("loupe: error: node passed its 2 s deadline waiting at ")
    on_node = _hang_events(home, "stuck")
    assert on_node and on_node[0]["agentloupe.hang.kind"] == "node" and on_node[0]["agentloupe.hang.action"] == "cancel"
    assert not _hang_events(home, "fetch")  # the node that finished in time has none


def test_without_a_deadline_set_loupe_exec_adds_none(home):
    # the 300 s default run deadline bounds loupe's own runs, never a program that did not ask
    result = run_loupe(home, "exec", "--", sys.executable, "-c",
                       "import asyncio; from agentloupe.instrumentation.diagnostics.watchdog import active\n"
                       "async def main():\n    print(active().config.explicit == frozenset())\nasyncio.run(main())")
    assert result.returncode == 0 and result.stdout.strip() == "True", result.stderr


@pytest.mark.parametrize("mode", ["graph", "exec"])
def test_a_gc_heavy_node_is_a_gc_pause_on_that_node_not_a_block_in_agentloupe(home, mode):
    result = _run(home, mode, "gc_heavy.py", '{"x": 1}')
    assert result.returncode == 0, result.stderr
    churn = next(s for s in spans_in(home) if s.name == "churn")
    pauses = [e["attributes"] for e in churn.events if e["name"] == "gc_pause"]
    assert pauses and max(p["agentloupe.gc.pause_ms"] for p in pauses) >= 100, churn.events
    assert all(p["agentloupe.gc.generation"] == 2 for p in pauses if p["agentloupe.gc.pause_ms"] >= 100)
    blamed = [e["attributes"]["agentloupe.loop.blocking_line"] for s in spans_in(home) for e in s.events
              if e["name"] == "loop_blocked"]
    assert not [line for line in blamed if "agentloupe/instrumentation" in line], blamed


def test_a_tool_whose_mcp_server_never_answers_is_named_at_the_nodes_line(home):
    config = home / "mcp.json"
    config.write_text('{"mcpServers": {"faults": {"command": "%s", "args": ["-m", "agentloupe.servers.faults"]}}}' % sys.executable)
    result = run_loupe(home, "run", "--graph", f"{HANGS / 'mcp_hang.py'}:make_graph", "--config", str(config),
                       "--input", '{"x": 1}', "--timeout", "run=4", timeout=90)
    stuck = f"{_at('mcp_hang.py', 'await hang.ainvoke', 'call_it')} (node call)"
    assert result.returncode == EXIT_DEADLINE, result.stderr
    assert _last_error(result.stderr) == f"loupe: error: run passed its 4 s deadline waiting at {stuck} and was cancelled"
    assert _hang_events(home, "call")[0]["agentloupe.hang.stuck_at"] == stuck
    # the server's side of the call is in the same trace, ended (its process was stopped in order)
    served = [s for s in spans_in(home) if s.name == "tools/call hang" and s.kind == "SERVER"]
    assert served and not served[0].unfinished


def test_the_librarys_watch_bounds_a_graph_run_and_names_the_line(home):
    result = subprocess.run([sys.executable, str(HANGS / "watched.py")], env=loupe_env(home), cwd=HANGS,
                            capture_output=True, text=True, timeout=60)
    stuck = f"{_at('hang.py', 'await event.wait()', 'wait_for_result')} <- {_at('hang.py', 'await wait_for_result(', 'stuck')} (node stuck)"
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"DeadlineExceeded: run passed its 2 s deadline waiting at {stuck} and was cancelled"
