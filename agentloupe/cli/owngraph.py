"""``loupe run --graph``: the flags of a developer's own graph, checked, then one platform call."""

from __future__ import annotations

import json
import shlex
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentloupe.cli.common import execute, fail

if TYPE_CHECKING:  # imported when a graph runs: `loupe run` of the bundled agent launches its servers first
    from agentloupe.platform.config import Settings
    from agentloupe.platform.runs import RunResult

#: A run that stopped at interrupt(): continue it with --resume JSON --thread ID.
EXIT_INTERRUPTED = 4


@dataclass(frozen=True)
class GraphFlags:
    graph: str
    question: str | None = None
    input_json: str | None = None
    context_json: str | None = None
    thread: str | None = None
    resume_json: str | None = None
    output: str = "text"
    stream: bool = False


def run_own_graph(settings: Settings, flags: GraphFlags) -> RunResult | None:
    """Check the flags (one line and exit 2 for bad ones), run the graph, say what a stop means."""
    from agentloupe.platform.commands.rungraph import NOT_RESUMING, prepare_graph_run
    from agentloupe.platform.errors import AgentloupeError

    if flags.output not in ("text", "json"):
        fail(f"--output {flags.output!r}: use text or json", 2)
    resume: Any = NOT_RESUMING
    if flags.resume_json is not None:
        if flags.thread is None:
            fail("--resume needs --thread ID: the thread the interrupted run printed", 2)
        if flags.question is not None or flags.input_json is not None:
            fail("--resume continues a thread: give no QUESTION or --input with it", 2)
        resume = _json_value(flags.resume_json)
    try:
        run = prepare_graph_run(
            settings,
            flags.graph,
            question=flags.question,
            input_json=flags.input_json,
            context_json=flags.context_json,
            thread=flags.thread,
            resume=resume,
            output=flags.output,
            stream=flags.stream,
        )
    except AgentloupeError as exc:
        fail(str(exc), exc.exit_code)
    return execute(settings, run)


def _json_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text  # a bare word is a string: --resume yes


def report_thread(result: RunResult, flags: GraphFlags) -> None:
    """A checkpointed graph's thread (when loupe chose it), and how to continue a run that stopped."""
    if result.thread_id is not None and flags.thread is None:
        print(f"loupe: thread {result.thread_id}", file=sys.stderr)
    resume = "JSON"
    for value in result.interrupts:
        print(f"loupe: interrupted: {json.dumps(value, default=str)}", file=sys.stderr)
        if isinstance(value, dict) and value.get("type") == "mcp_elicitation":  # langchain.mcp's
            questions = [q for q in value.get("requests") or () if isinstance(q, dict)]
            for question in questions:
                print(
                    f"loupe: the MCP tool {value.get('tool_name')!r} asks: {question.get('message')}", file=sys.stderr
                )
            if len(result.interrupts) == 1:
                resume = shlex.quote(json.dumps({"responses": {str(q.get("key")): _accept(q) for q in questions}}))
    if result.interrupts:
        thread = result.thread_id or "?"
        print(
            f"loupe: continue with: loupe run --graph {flags.graph} --thread {thread} --resume {resume}",
            file=sys.stderr,
        )


def _accept(question: dict[str, Any]) -> dict[str, Any]:
    """An answer to an MCP elicitation, to edit: a form's fields with their first choice or a
    placeholder (``{"action": "decline"}`` refuses it)."""
    if question.get("mode") != "form":
        return {"action": "accept"}
    fields = (question.get("requested_schema") or {}).get("properties") or {}
    placeholders = {"string": "...", "integer": 0, "number": 0, "boolean": True}
    content = {
        name: (field.get("enum") or [placeholders.get(str(field.get("type")), "...")])[0]
        for name, field in fields.items()
        if isinstance(field, dict)
    }
    return {"action": "accept", "content": content}
