"""A tool's output, capped: what the model, the terminal and the span get of a huge result."""

from __future__ import annotations

from typing import Any

from agentloupe.instrumentation import semconv

MAX_TOOL_OUTPUT_CHARS = 64 * 1024


def truncate_output(text: str, span: Any) -> str:
    """A tool output past the size cap, cut with a note (for the model, the terminal and the span)."""
    if len(text) <= MAX_TOOL_OUTPUT_CHARS:
        return text
    cut = len(text) - MAX_TOOL_OUTPUT_CHARS
    span.set_attribute(semconv.TOOL_OUTPUT_TRUNCATED_CHARS, cut)
    return text[:MAX_TOOL_OUTPUT_CHARS] + f"\n[agentloupe: output truncated, {cut} more characters]"
