"""The trace as a tree on the terminal: names, durations, services, errors."""

from __future__ import annotations

from collections.abc import Iterable

from agentloupe.instrumentation.tracefiles import SpanRecord, build_trees

_SHOWN_ATTRIBUTES = ("error.type", "agentloupe.stop.signal", "agentloupe.server.ready_ms", "gen_ai.usage.input_tokens")


def _line(span: SpanRecord, root_service: str) -> str:
    parts = [span.name, f"{span.duration_ms:,.1f} ms"]
    if span.kind in ("CLIENT", "SERVER"):
        parts.append(span.kind.lower())
    if span.service != root_service:
        parts.append(f"[{span.service}]")
    if span.is_error:
        parts.append(f"ERROR {span.attributes.get('error.type', '')}".rstrip())
        if span.status_message:
            parts.append(f"({span.status_message[:80]})")
    if span.attributes.get("agentloupe.cancelled"):
        parts.append("cancelled")
    for event in span.events:
        if event["name"] in ("hang", "loop_blocked"):
            parts.append(f"!{event['name']}")
    return "  ".join(parts)


def render_tree(spans: Iterable[SpanRecord], trace_id: str) -> str:
    """Render the spans of ``trace_id`` (from every process) as an indented tree."""
    selected = [s for s in spans if s.trace_id == trace_id]
    if not selected:
        return f"trace {trace_id}: no spans recorded"
    roots = build_trees(selected)
    root_service = roots[0].service
    lines = [f"trace {trace_id}  ({len(selected)} spans, service {root_service})"]

    def walk(span: SpanRecord, prefix: str, last: bool) -> None:
        lines.append(f"{prefix}{'└─ ' if last else '├─ '}{_line(span, root_service)}")
        child_prefix = prefix + ("   " if last else "│  ")
        for index, child in enumerate(span.children):
            walk(child, child_prefix, index == len(span.children) - 1)

    for index, root in enumerate(roots):
        walk(root, "", index == len(roots) - 1)
    return "\n".join(lines)
