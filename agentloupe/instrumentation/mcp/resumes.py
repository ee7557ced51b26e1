"""An input-required round answered by another process: the span link between the two rounds.

``langchain.mcp`` answers a server's question with a LangGraph ``interrupt()``: the run stops
after the round that asked, and a later run (``loupe run --resume``, another process) sends the
call again, then the retry round with the person's answers. That retry is linked to the round
that asked, in the run that stopped:

- a round answered with ``InputRequiredResult`` is *asked*, by what it asks for: its method, its
  tool (prompt, resource) and the keys of its questions; a retry here with answers to those keys
  settles it (``asked``, ``retried``);
- the run that stops keeps the rounds still asked (``unanswered``) beside its thread; the run that
  resumes hands them back (``expect``), and the retry that answers one carries a link to it.

Bounded: a process keeps at most its last ``_KEPT`` asked rounds. No mcp import: the platform
uses it on any install.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.trace import Link, SpanContext, TraceFlags

from agentloupe.instrumentation import semconv

_KEPT = 64

Asked = tuple[str, str, tuple[str, ...]]  # (method, tool/prompt/resource, question keys)

#: Rounds this process sent that asked and that no retry here answered yet, oldest first
_asked: dict[Asked, SpanContext] = {}
#: Rounds of the run this one resumes, waiting for the retry that answers them
_expected: dict[Asked, SpanContext] = {}


def asked(method: str, target: str, keys: list[str], context: SpanContext) -> None:
    """A round was answered with questions (``keys``)."""
    what = (method, target, tuple(sorted(keys)))
    _asked.pop(what, None)
    _asked[what] = context
    while len(_asked) > _KEPT:
        del _asked[next(iter(_asked))]


def retried(method: str, target: str, keys: list[str]) -> list[Link]:
    """A retry round with answers to ``keys`` starts: the round of an earlier run it answers."""
    what = (method, target, tuple(sorted(keys)))
    _asked.pop(what, None)
    context = _expected.pop(what, None)
    return [Link(context, {semconv.LINK_KIND: semconv.LINK_ANSWERS_ROUND})] if context is not None else []


def context_to_json(context: SpanContext) -> dict[str, str]:
    """A span's ids as a file keeps them (hex), for a link from another process."""
    return {"trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}"}


def context_from_json(data: Any) -> SpanContext:
    """The span ``context_to_json`` kept, remote; KeyError, TypeError or ValueError if malformed."""
    return SpanContext(int(data["trace_id"], 16), int(data["span_id"], 16), is_remote=True, trace_flags=TraceFlags(1))


def unanswered() -> list[dict[str, Any]]:
    """The rounds still asked, as a stopped run keeps them (JSON)."""
    return [{"method": m, "target": t, "keys": list(k), **context_to_json(c)} for (m, t, k), c in _asked.items()]


def expect(rounds: Any) -> None:
    """The rounds a stopped run kept: the retry that answers one links to it. Bad entries are
    skipped (a file from another version)."""
    for entry in rounds if isinstance(rounds, list) else ():
        try:
            context = context_from_json(entry)
            _expected[(str(entry["method"]), str(entry["target"]), tuple(sorted(map(str, entry["keys"]))))] = context
        except (KeyError, TypeError, ValueError):
            continue
