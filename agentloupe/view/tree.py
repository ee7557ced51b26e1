"""The trace as a tree on the terminal: names, durations, services, errors."""

from __future__ import annotations

import re
from collections.abc import Iterable

from agentloupe.instrumentation import semconv
from agentloupe.view.traces import SpanRecord, TraceSummary, build_trees


def _size(number: float, *, signed: bool = True) -> str:
    sign = ("+" if number >= 0 else "-") if signed else ""
    value = float(abs(number))
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{sign}{value:,.0f} {unit}" if unit == "B" else f"{sign}{value:,.1f} {unit}"
        value /= 1024
    return str(value)


def mcp_notes(span: SpanRecord) -> list[str]:
    """What an MCP span is, beyond its name, in a few words (the tree and the HTML view): the
    other direction, input-required rounds, a person's answer."""
    direction = span.attributes.get(semconv.MCP_DIRECTION)
    parts = []
    if direction == semconv.DIRECTION_SERVER_TO_CLIENT:  # the server asking its client (its model, roots, a person)
        parts.append("<- server asks")
    elif direction == semconv.DIRECTION_INPUT_REQUIRED:  # asked inside an InputRequiredResult
        parts.append("<- input required")
    parts.extend(_rounds(span))
    action = span.attributes.get(semconv.MCP_ELICITATION_ACTION)
    if action is not None:
        parts.append(f"user: {action}")
    return parts


def _rounds(span: SpanRecord) -> list[str]:
    """Input-required rounds: a round's number and what its answer asked for; the call's count."""
    parts = []
    if isinstance(number := span.attributes.get(semconv.MCP_ROUND), int):
        asked = span.attributes.get(semconv.MCP_ROUND_ASKED)
        parts.append(f"round {number}" + (f" -> asks {', '.join(map(str, asked))}" if asked else ""))
    if isinstance(rounds := span.attributes.get(semconv.MCP_ROUNDS), int):
        parts.append(f"{rounds} round{'s' if rounds != 1 else ''}")
    return parts


def _line(span: SpanRecord, root_service: str) -> str:
    parts = [span.name, "unfinished (its process ended first)" if span.unfinished else f"{span.duration_ms:,.1f} ms"]
    notes = mcp_notes(span)
    if span.kind in ("CLIENT", "SERVER"):
        if notes and notes[0] == "<- server asks":
            parts.append(f"{span.kind.lower()} {notes.pop(0)}")
        else:
            parts.append(span.kind.lower())
    action = notes.pop() if notes and notes[-1].startswith("user: ") else None
    parts.extend(notes)
    if span.service != root_service:
        parts.append(f"[{span.service}]")
    if span.is_error:
        parts.append(f"ERROR {span.attributes.get('error.type', '')}".rstrip())
        if span.status_message:
            parts.append(f"({cut_at_word(span.status_message, 80)})")
    traced = span.attributes.get(semconv.MEMORY_TRACED_DELTA)
    if traced is not None:
        peak = span.attributes.get(semconv.MEMORY_TRACED_PEAK, 0)
        parts.append(f"mem {_size(traced)} (peak {_size(peak, signed=False)})")
    claimed = span.attributes.get(semconv.SERVER_CLAIMED_MS)
    if claimed is not None:  # the ready time is the agent's, not the server's: say so
        parts.append(f"launched ahead: taken over after {claimed:,.0f} ms")
    if span.attributes.get(semconv.CANCELLED):
        parts.append("cancelled")
    if span.attributes.get(semconv.LANGGRAPH_INTERRUPTED):  # stopped for a person: not an error
        parts.append("interrupted")
    for link in span.links:
        if (link.get("attributes") or {}).get(semconv.LINK_KIND) == semconv.LINK_ANSWERS_ROUND:
            parts.append(f"(answers the round of trace {link['trace_id'][:8]}…)")
        else:
            parts.append(f"(continues trace {link['trace_id'][:8]}…)")
    if action is not None:
        parts.append(action)
    progress = [e["attributes"] for e in span.events if e["name"] == semconv.EVENT_MCP_PROGRESS]
    if progress:  # another producer's event may lack the figures: shown as they are
        value, total = progress[-1].get(semconv.MCP_PROGRESS), progress[-1].get(semconv.MCP_PROGRESS_TOTAL)
        done = f"{value:g}" if isinstance(value, (int, float)) else "?"
        done += f"/{total:g}" if isinstance(total, (int, float)) else ""
        parts.append(f"progress {done} ({len(progress)} reports)")
    logged = sum(1 for e in span.events if e["name"] == semconv.EVENT_MCP_LOG)
    if logged:
        parts.append(f"{logged} log message{'s' if logged > 1 else ''}")
    for event in span.events:
        attributes = event["attributes"]
        if event["name"] == "hang":
            parts.append(f"!hang at {_short(attributes.get('agentloupe.hang.stuck_at', '?'))}")
        elif event["name"] == "loop_blocked":
            parts.append(
                f"!loop blocked {attributes.get('agentloupe.loop.blocked_ms', '?')} ms"
                f" at {_short(attributes.get('agentloupe.loop.blocking_line', '?'))}"
            )
        elif event["name"] == "gc_pause":
            parts.append(f"gc pause {attributes.get('agentloupe.gc.pause_ms', '?')} ms")
        elif event["name"] == semconv.EVENT_TOP_ALLOCATIONS:
            parts.append(f"top allocation: {_short(str((attributes.get('sites') or ['?'])[0]))}")
    return "  ".join(parts)


def cut_at_word(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters, cut between words (an ellipsis says it was cut)."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    cut = text[: width - 1].rsplit(" ", 1)[0] if " " in text[: width - 1] else text[: width - 1]
    return cut.rstrip(",;:") + "…"


def _short_path(path: str) -> str:
    for marker in ("/site-packages/", "/agentloupe/"):
        if marker in path:
            head = "agentloupe/" if marker == "/agentloupe/" else ""
            return head + path.split(marker, 1)[1]
    return "/".join(path.rsplit("/", 2)[-2:]) if path.count("/") >= 2 else path


def _short(location: str) -> str:
    """``.../site-packages/pkg/mod.py:12 in f`` -> ``pkg/mod.py:12 in f``, for every path in a line
    (a hang's headline names several frames): the tree stays readable."""
    return re.sub(r"(/[^\s:]+)(?=:\d)", lambda match: _short_path(match.group(1)), location)


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


def render_trace_list(summaries: Iterable[TraceSummary]) -> str:
    """``loupe trace --list``: when, root span, services, duration, errors, one trace a line."""
    import datetime

    lines = []
    for t in summaries:
        when = datetime.datetime.fromtimestamp(t.start_ns / 1e9).strftime("%Y-%m-%d %H:%M:%S")
        errors = f"{t.errors} error{'s' if t.errors != 1 else ''}" if t.errors else "ok"
        lines.append(
            f"{when}  {t.trace_id}  {t.root}  [{', '.join(t.services)}]"
            f"  {t.duration_ms:,.0f} ms  {t.spans} spans  {errors}"
        )
    return "\n".join(lines) or "no traces"
