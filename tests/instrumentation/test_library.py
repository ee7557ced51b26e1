"""agentloupe as a library, in the user's own programs (run as real processes)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agentloupe.view.traces import build_trees, read_spans
from tests.conftest import ASSETS, loupe_env


def _run(home: Path, script: str, *args: str) -> str:
    result = subprocess.run([sys.executable, str(ASSETS / script), *args], env=loupe_env(home), capture_output=True, text=True, timeout=120, cwd=home)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _tree(home: Path):
    spans = read_spans(home / "traces")
    return spans, build_trees(spans)


def _shape(span, depth=0):
    yield depth, span.name
    for child in span.children:
        yield from _shape(child, depth + 1)


@pytest.mark.parametrize("mode", ["invoke", "stream", "events"])
def test_user_graph_nests_nodes_branches_model_tool_and_subgraph(home, mode):
    _run(home, "user_graph.py", mode)
    spans, roots = _tree(home)
    assert [r.name for r in roots] == ["invoke_agent fanout"]
    shape = sorted(_shape(roots[0]))
    assert shape == sorted([
        (0, "invoke_agent fanout"),
        (1, "plan"), (2, "chat GenericFakeChatModel"),
        (1, "left"), (2, "execute_tool lookup"),
        (1, "right"),
        (1, "sub"), (2, "subgraph"), (3, "inner"),
    ])
    left = next(s for s in spans if s.name == "left")
    right = next(s for s in spans if s.name == "right")
    assert left.start_ns < right.end_ns and right.start_ns < left.end_ns  # the branches overlapped
    chat = next(s for s in spans if s.name.startswith("chat "))
    assert chat.kind == "CLIENT" and chat.attributes["gen_ai.operation.name"] == "chat"
    assert not [s for s in spans if s.is_error]


def test_interrupt_is_not_an_error_and_the_resume_is_recognisable(home):
    _run(home, "user_graph.py", "interrupt")
    spans, roots = _tree(home)
    assert [r.name for r in roots] == ["invoke_agent approval", "invoke_agent approval"]
    first, resumed = roots
    assert first.attributes["langgraph.interrupted"] is True
    assert resumed.attributes["langgraph.resumed"] is True
    assert first.attributes["gen_ai.conversation.id"] == resumed.attributes["gen_ai.conversation.id"] == "thread-42"
    assert not [s for s in spans if s.is_error]
    assert any(e["name"] == "interrupt" for s in spans for e in s.events)


def test_instrument_twice_and_uninstrument_leave_no_double_spans_and_no_patch(home):
    _run(home, "user_graph.py", "twice")
    spans, roots = _tree(home)
    assert [r.name for r in roots] == ["invoke_agent fanout"]  # the second run, uninstrumented, made none
    assert len([s for s in spans if s.name == "plan"]) == 1


def test_user_fastmcp_server_joins_the_callers_trace(home):
    out = _run(home, "user_client.py", str(ASSETS / "user_server.py"))
    assert out.strip() == "HELLO!"
    spans, roots = _tree(home)
    assert [r.name for r in roots] == ["user request"]
    assert {s.service for s in spans} == {"user-client", "user-server"}
    server = next(s for s in spans if s.name == "tools/call shout" and s.kind == "SERVER")
    client = next(s for s in spans if s.span_id == server.parent_span_id)
    assert client.name == "tools/call shout" and client.kind == "CLIENT" and client.service == "user-client"


def test_configure_adds_to_a_provider_the_user_set_up(home):
    out = _run(home, "user_provider.py")
    assert "user exporter got: ['mine']" in out
    assert "provider kept: True" in out
    assert [s.name for s in read_spans(home / "traces")] == ["mine"]  # and agentloupe's trace file has it too


@pytest.mark.parametrize("example", ["langgraph_agent.py", "watch_hang.py"])
def test_examples_run(home, example):
    script = Path(__file__).resolve().parents[2] / "examples" / example
    result = subprocess.run([sys.executable, str(script)], env=loupe_env(home), capture_output=True, text=True, timeout=120, cwd=home)
    assert result.returncode == 0, result.stderr
    spans = read_spans(home / "traces")
    if example == "langgraph_agent.py":
        assert result.stdout.strip() == "Hello from the example agent."
        [root] = build_trees(spans)
        assert sorted(_shape(root)) == [(0, "invoke_agent example"), (1, "respond"), (2, "chat GenericFakeChatModel")]
    if example == "watch_hang.py":
        [span] = spans
        assert any(e["name"] == "hang" and "wait_for_a_reply_that_never_comes" in e["attributes"]["agentloupe.hang.stuck_at"] for e in span.events)
