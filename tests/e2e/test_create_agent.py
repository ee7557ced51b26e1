"""A LangChain 1.x `create_agent` graph under `loupe run --graph`: its model and tool nodes, its
middleware hooks and its structured response, each traced, the model call under its node."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_loupe, spans_in

AGENT = Path(__file__).parent.parent / "assets" / "create_agent" / "agent.py"


def test_create_agent_nodes_middleware_and_structured_response(home):
    result = run_loupe(home, "run", "--graph", f"{AGENT}:make_graph", "--output", "json", "What is 25 + 37?")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["structured_response"] == {"total": 62.0}
    spans = spans_in(home)
    by_id = {s.span_id: s for s in spans}
    names = [s.name for s in sorted(spans, key=lambda s: s.start_ns)]
    assert names.count("CountModelCalls.before_model") == 2  # the middleware hook, before each model call
    assert names.count("model") == 2 and names.count("tools") == 1
    chats = [s for s in spans if s.name == "chat ToolCallingFake"]
    assert len(chats) == 2 and all(by_id[c.parent_span_id].name == "model" for c in chats)
    tool = next(s for s in spans if s.name == "execute_tool add")
    assert by_id[tool.parent_span_id].name == "tools" and tool.attributes["gen_ai.tool.call.id"] == "call_1"
