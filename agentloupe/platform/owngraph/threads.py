"""Conversation threads of a checkpointed graph, across ``loupe run`` invocations.

A graph compiled with a checkpointer keeps its state per ``thread_id``. A run that stops at
``interrupt()`` is continued by another run, in another process, with ``--resume``. The trace of
the run that stopped is remembered per thread (``$AGENTLOUPE_HOME/threads/<id>.json``), so the
run that continues it links to it (a span link): the two traces read as one conversation. So do
the MCP rounds that asked a person (``langchain.mcp``'s interrupt): the resumed run's retry round
links to the round that asked (``instrumentation/mcp/resumes.py``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Link

from agentloupe.instrumentation import semconv
from agentloupe.instrumentation.mcp.resumes import context_from_json, context_to_json, expect, unanswered
from agentloupe.instrumentation.telemetry.tracefiles import agentloupe_home


def _file(thread_id: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", thread_id)[:120]
    return agentloupe_home() / "threads" / f"{safe}.json"


def remember_interrupted(thread_id: str) -> None:
    """Called inside the run that stopped: its span is what the next run of the thread links to."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return
    path = _file(thread_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**context_to_json(context), "rounds": unanswered()}))


def link_to_interrupted(thread_id: str) -> list[Link]:
    """The link to the run of ``thread_id`` that stopped at an interrupt, if one did here."""
    try:
        data = json.loads(_file(thread_id).read_text())
        context = context_from_json(data)
    except (OSError, ValueError, KeyError, TypeError):
        return []
    expect(data.get("rounds"))
    return [Link(context, {semconv.LINK_KIND: semconv.LINK_RESUMES_RUN})]


def interrupts_of(state: Any) -> list[Any]:
    """The values ``interrupt()`` raised in a run that stopped there (``__interrupt__`` of its output)."""
    found = state.get("__interrupt__") if isinstance(state, dict) else None
    return [getattr(item, "value", item) for item in found or ()]
