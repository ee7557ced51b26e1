"""A process's parent span (``TRACEPARENT``, set by ``loupe exec``) adopts the program's root spans.

Attaching that context for the whole process would make it the current span everywhere, and a
program (or library) that asks "is a span current?" would then behave unlike it does plainly:
FastMCP keeps a current span over a request's ``_meta`` (a server under ``loupe exec`` would not
join its caller), a test asserting an empty context fails. Instead nothing is made current: a
span that starts with no parent, on any thread, is given the process's parent as it starts, before
any exporter sees it. A span that has a parent (a request's ``_meta``, an HTTP header, the
program's own) keeps it.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import SpanContext

_parent: SpanContext | None = None


def process_parent() -> SpanContext | None:
    """The span this process runs under (``loupe exec``'s), or None."""
    return _parent


class AdoptRoots(SpanProcessor):
    """Makes each root span a child of the process's parent, as it starts (first in the chain)."""

    def __init__(self, parent: SpanContext) -> None:
        self.parent = parent

    def on_start(self, span: Span, parent_context: Any = None) -> None:
        if span.parent is not None:
            return
        own = span.get_span_context()
        # the SDK's Span keeps both as plain fields; a span is handed to processors before anyone
        # else holds it, so nothing has read the old ids yet
        span._parent = self.parent
        span._context = SpanContext(
            self.parent.trace_id,
            own.span_id,
            is_remote=False,
            trace_flags=own.trace_flags,
            trace_state=self.parent.trace_state,
        )

    def on_end(self, span: ReadableSpan) -> None:
        return None


def adopt_roots(parent: SpanContext, provider: Any) -> bool:
    """Root spans made on ``provider`` go under ``parent`` from now on. False: not an SDK provider."""
    global _parent
    from agentloupe.instrumentation.telemetry.providers import add_first, home

    if not parent.is_valid or not add_first(home(provider), AdoptRoots(parent)):
        return False
    _parent = parent
    return True
