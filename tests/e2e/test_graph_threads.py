"""Threads and interrupts: a checkpointed graph that stops at interrupt() says so (exit 4, the
interrupt's value, how to go on), and --resume --thread continues it in another process, its trace
linked to the first one's."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_loupe, spans_in

APPROVAL = Path(__file__).parent.parent / "assets" / "threads" / "approval.py"
EXIT_INTERRUPTED = 4


def test_an_interrupted_run_is_continued_by_another_with_a_link_to_it(home):
    env = {"APPROVAL_STATE": str(home / "approval.pickle")}
    first = run_loupe(home, "run", "--graph", f"{APPROVAL}:graph", "--input", '{"request": "deploy", "decision": ""}', **env)
    assert first.returncode == EXIT_INTERRUPTED, first.stderr
    said = [line for line in first.stderr.splitlines() if line.startswith("loupe: ")]
    thread = said[0].removeprefix("loupe: thread ")
    assert said == [
        f"loupe: thread {thread}",
        'loupe: interrupted: {"question": "approve deploy?"}',
        f"loupe: continue with: loupe run --graph {APPROVAL}:graph --thread {thread} --resume JSON",
    ], first.stderr
    interrupted = next(s for s in spans_in(home) if s.name == "loupe run")
    assert interrupted.attributes["langgraph.interrupted"] is True

    second = run_loupe(home, "run", "--graph", f"{APPROVAL}:graph", "--thread", thread, "--resume", '"yes"',
                       "--output", "json", **env)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout) == {"request": "deploy", "decision": "yes"}
    resumed = next(s for s in spans_in(home) if s.name == "loupe run" and s.trace_id != interrupted.trace_id)
    assert resumed.attributes["langgraph.resumed"] is True
    assert [(link["trace_id"], link["span_id"]) for link in resumed.links] == [(interrupted.trace_id, interrupted.span_id)]


def test_resume_without_a_thread_is_one_line(home):
    result = run_loupe(home, "run", "--graph", f"{APPROVAL}:graph", "--resume", '"yes"')
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "loupe: error: --resume needs --thread ID: the thread the interrupted run printed"
    ]
