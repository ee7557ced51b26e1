"""One way to open a span: errors and cancellation always end it with a status."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager as ContextManager
from typing import Any, Protocol

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from agentloupe.instrumentation import content, semconv

TRACER_NAME = "agentloupe"


class SpanHook(Protocol):
    """Something that watches spans open and close (memory probe, watchdog).

    ``before_end`` runs while the span can still take attributes: an SDK span
    processor only sees it after its attributes are frozen.
    """

    def on_start(self, span: Span) -> None: ...

    def before_end(self, span: Span) -> None: ...


#: Replaced, never changed in place: a span ending on another thread iterates the tuple it read.
_hooks: tuple[SpanHook, ...] = ()
_hooks_lock = threading.Lock()  # (two watchdogs starting on two threads: neither change lost)


def add_span_hook(hook: SpanHook) -> None:
    global _hooks
    with _hooks_lock:
        if hook not in _hooks:
            _hooks = (*_hooks, hook)


def remove_span_hook(hook: SpanHook) -> None:
    global _hooks
    with _hooks_lock:
        _hooks = tuple(h for h in _hooks if h is not hook)


def span_started(span: Span) -> None:
    """For spans opened outside ``traced()`` (callback-driven ones): let the hooks see them."""
    if _hooks and span.is_recording():
        for hook in _hooks:
            try:  # noqa: SIM105 (not suppress(): a context manager per hook per span, measured)
                hook.on_start(span)
            except Exception:
                pass


def span_ending(span: Span) -> None:
    if _hooks and span.is_recording():
        for hook in _hooks:
            try:  # noqa: SIM105
                hook.before_end(span)
            except Exception:
                pass


_tracers: dict[int, tuple[Any, trace.Tracer]] = {}


def get_tracer(tracer_provider: trace.TracerProvider | None = None) -> trace.Tracer:
    """agentloupe's tracer from ``tracer_provider`` (None: the global one), made once per provider.

    The SDK builds a new Tracer on every ``get_tracer`` (a scope, a lock): measured at a third of
    an instrumented MCP call's own overhead when done per span.
    """
    provider = tracer_provider if tracer_provider is not None else trace.get_tracer_provider()
    cached = _tracers.get(id(provider))
    if cached is not None and cached[0] is provider:
        return cached[1]
    from agentloupe._version import __version__

    tracer = trace.get_tracer(TRACER_NAME, __version__, tracer_provider=provider)
    _tracers[id(provider)] = (provider, tracer)
    return tracer


def attributes_of(span: Any) -> Mapping[str, Any]:
    """A span's attributes to read: the dict inside the SDK's ``BoundedAttributes`` (its mapping
    methods take a lock per item, and ``span.attributes`` wraps it anew on every read), else the
    span's ``attributes`` (a non-recording span has none)."""
    plain = getattr(getattr(span, "_attributes", None), "_dict", None)
    if plain is not None:
        return plain
    return getattr(span, "attributes", None) or {}


def mark_error(span: Span, error_type: str, message: str | None = None) -> None:
    """Set ERROR status and ``error.type`` on ``span``; the message is redacted (keys, tokens, e-mails).

    Error messages are exported even with content capture off, so secrets in them
    (an API key echoed by a failing tool) must not leave the process as they are.
    """
    span.set_attribute(semconv.ERROR_TYPE, error_type)
    span.set_status(Status(StatusCode.ERROR, content.redact(message)[:500] if message else None))


def record_exception(span: Span, exc: BaseException) -> None:
    """Like ``Span.record_exception``, with the message redacted and no traceback text."""
    span.add_event(
        "exception",
        {
            "exception.type": type(exc).__qualname__,
            "exception.message": content.redact(str(exc))[:1000],
        },
    )


def error_type_of(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timeout"
    return type(exc).__qualname__


def traced(
    name: str,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Mapping[str, Any] | None = None,
    context: Any = None,
    tracer_provider: trace.TracerProvider | None = None,
    start_time: int | None = None,
    links: Sequence[trace.Link] | None = None,
) -> ContextManager[Span]:
    """Open ``name`` as the current span; end it with a status whatever happens.

    Exceptions set ERROR with ``error.type`` (the class name, or ``timeout``);
    cancellation is recorded as a state (``agentloupe.cancelled``), not an error.
    ``start_time`` (ns since the epoch): when the work began, if before now.

    >>> with traced("start_server math", attributes={semconv.SERVER_NAME: "math"}):
    ...     pass
    """
    return _Traced(get_tracer(tracer_provider), name, kind, attributes, context, start_time, links)


class _Traced:
    """``traced()``: what ``start_as_current_span`` and ``use_span`` do, in one frame instead of three
    generator-based context managers (measured: on an MCP call, where caches are cold between
    calls, the layers cost more than the span)."""

    __slots__ = ("_args", "_links", "_span", "_start_time", "_token", "_tracer")

    def __init__(
        self,
        tracer: trace.Tracer,
        name: str,
        kind: SpanKind,
        attributes: Mapping[str, Any] | None,
        context: Any,
        start_time: int | None,
        links: Sequence[trace.Link] | None = None,
    ) -> None:
        self._tracer = tracer
        self._args = (name, context, kind, dict(attributes) if attributes else None)
        self._start_time = start_time
        self._links = links

    def __enter__(self) -> Span:
        name, context, kind, attributes = self._args
        span = self._tracer.start_span(
            name,
            context=context,
            kind=kind,
            attributes=attributes,
            start_time=self._start_time,
            links=self._links,
            record_exception=False,
            set_status_on_exception=False,
        )
        self._span = span
        self._token = otel_context.attach(trace.set_span_in_context(span))
        span_started(span)
        return span

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        span = self._span
        try:
            if exc is not None and span.is_recording():
                _record_outcome(span, exc)
            span_ending(span)
        finally:
            otel_context.detach(self._token)
            span.end()


def _record_outcome(span: Span, exc: BaseException) -> None:
    if isinstance(exc, (asyncio.CancelledError, KeyboardInterrupt, SystemExit, GeneratorExit)):
        span.set_attribute(semconv.CANCELLED, True)
        if isinstance(exc, asyncio.CancelledError):
            span.add_event("cancelled")
        else:
            span.add_event("cancelled", {"reason": type(exc).__name__})
        return
    record_exception(span, exc)
    status = getattr(span, "status", None)  # the SDK span has one; the API does not promise it
    if status is None or status.status_code is not StatusCode.ERROR:
        mark_error(span, error_type_of(exc), str(exc)[:500] or None)
