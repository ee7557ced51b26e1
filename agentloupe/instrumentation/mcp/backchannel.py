"""What both generations' other direction share: progress and log messages as span events, a log
message as an OpenTelemetry log record in its span's context."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span

from agentloupe.instrumentation import content, semconv
from agentloupe.instrumentation.diagnostics.watchdog import deadline, deadline_if_set, waiting_for
from agentloupe.instrumentation.patching import log_telemetry_failure
from agentloupe.instrumentation.telemetry import logs

#: The server's requests whose answer takes a while (a person, the client's model): while one is
#: out, the deadlines the server runs under (and the client's requests waiting for it) stop their
#: clocks; the wait has its own deadline instead: a person's answer only if set (``person``), the
#: client's model as a model call (``model``). Roots and ping are quick: nothing stops for them.
WAIT_KINDS = {"elicitation/create": "person", "sampling/createMessage": "model"}


@contextmanager
def waiting_on_client(
    method: str, what: str, *, span: Span | None = None, spans: list[Span] | None = None, bounded: bool = True
) -> Iterator[Any]:
    """Around a server's request to its client (``bounded``: the side that bounds the wait, the
    server) or the client's handling of it (``spans``: the client's requests that wait for it).
    Yields the wait's own deadline (None when there is none)."""
    kind = WAIT_KINDS.get(method)
    try:
        pause: Any = nullcontext() if kind is None else waiting_for(what, spans=spans)
        if kind is None or not bounded:
            limit: Any = nullcontext()
        elif kind == "person":
            limit = deadline_if_set("person", span=span, describe=what)
        else:
            limit = deadline(kind, span=span, describe=what)
    except Exception:
        log_telemetry_failure("mcp_backchannel_wait")
        pause = limit = nullcontext()
    with pause, limit as watched:
        yield watched


def request_attributes(method: str, request_id: Any, message: Any = "") -> dict[str, Any]:
    """The attributes both sides give a server-to-client request (``message``: an elicitation's)."""
    attrs: dict[str, Any] = {
        semconv.MCP_METHOD_NAME: method,
        semconv.JSONRPC_REQUEST_ID: str(request_id),
        semconv.MCP_DIRECTION: semconv.DIRECTION_SERVER_TO_CLIENT,
    }
    if method == "sampling/createMessage":
        attrs[semconv.GEN_AI_OPERATION_NAME] = semconv.OP_CHAT
    elif method == "elicitation/create":
        attrs[semconv.MCP_ELICITATION_MESSAGE] = str(message)[:300]
    return attrs


def waits_for(method: str, message: Any = "") -> str:
    """What a server waits for while its request is out (the hang report's words)."""
    if method == "elicitation/create":
        return f"the user's answer to elicitation {str(message)[:120]!r}"
    if method == "sampling/createMessage":
        return "the client's model (sampling/createMessage)"
    return f"the client ({method})"


def note_notification(
    method: str, params: Mapping[str, Any], *, by_token: Callable[[Any], Span | None], latest: Span | None
) -> None:
    """A notification the client received, on the span it belongs to: progress on the request whose
    token it names (``by_token``), a log message (also a log record) and the rest on the session's
    ``latest`` request in flight."""
    if method == "notifications/progress":
        span = by_token(params.get("progressToken"))
        if span is not None:
            event = progress_event(params.get("progress", 0), params.get("total"), params.get("message"))
            span.add_event(semconv.EVENT_MCP_PROGRESS, event)
    elif method == "notifications/message":
        event = log_event(params.get("level"), params.get("data"), params.get("logger"))
        if latest is not None:
            record_log(latest, event)
        else:
            logs.emit_record(event[semconv.MCP_LOG_DATA], event[semconv.MCP_LOG_LEVEL], event)
    elif latest is not None and method.startswith("notifications/") and method != "notifications/cancelled":
        attrs = {semconv.MCP_METHOD_NAME: method}
        if uri := params.get("uri"):
            attrs["mcp.resource.uri"] = str(uri)
        latest.add_event(semconv.EVENT_MCP_NOTIFICATION, attrs)


def progress_event(progress: float, total: float | None, message: str | None) -> dict[str, Any]:
    event: dict[str, Any] = {semconv.MCP_PROGRESS: float(progress)}
    if total is not None:
        event[semconv.MCP_PROGRESS_TOTAL] = float(total)
    if message:
        event[semconv.MCP_PROGRESS_MESSAGE] = content.redact(str(message)[:300])
    return event


def log_event(level: Any, data: Any, logger: str | None) -> dict[str, Any]:
    event: dict[str, Any] = {semconv.MCP_LOG_LEVEL: str(level), semconv.MCP_LOG_DATA: content.redact(str(data)[:1000])}
    if logger:
        event[semconv.MCP_LOG_LOGGER] = logger
    return event


def record_log(span: Span, event: dict[str, Any]) -> None:
    """A server's log message: an event on ``span`` and an OpenTelemetry log record in its context."""
    span.add_event(semconv.EVENT_MCP_LOG, event)
    token = otel_context.attach(trace.set_span_in_context(span))
    try:
        logs.emit_record(event[semconv.MCP_LOG_DATA], event[semconv.MCP_LOG_LEVEL], event)
    finally:
        otel_context.detach(token)


def record_duration(
    histogram_of: Callable[[Any], Any],
    meter_provider: Any,
    method: str,
    error_type: str | None,
    started: float,
    *,
    direction: str = semconv.DIRECTION_SERVER_TO_CLIENT,
) -> None:
    """A request of the other direction measured (``started``: its ``perf_counter``) on
    ``histogram_of(meter_provider)``, by method, direction and error type."""
    try:
        attrs = {semconv.MCP_METHOD_NAME: method, semconv.MCP_DIRECTION: direction}
        if error_type:
            attrs[semconv.ERROR_TYPE] = error_type
        histogram_of(meter_provider).record(time.perf_counter() - started, attrs)
    except Exception:
        log_telemetry_failure("mcp_backchannel_metrics")
