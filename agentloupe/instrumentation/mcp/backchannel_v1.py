"""The other direction on mcp 1.x: what a server asks its client, and what it tells it on the way.

A server tool that asks the client's model (``sampling/createMessage``), the person
(``elicitation/create``), the client's roots (``roots/list``) or pings it sends a request
back over the same session. In the server, that request is a CLIENT span under the SERVER span of
the request that made it (the tool runs in that span's task), with trace context in its ``_meta``;
in the client, its handling is a SERVER span parented by that ``_meta``, so what the handler does
(the model's ``chat`` span, the user's own spans) sits inside it, in the caller's trace.

Progress (``notifications/progress``) and log messages (``notifications/message``) are events:
in the server on the span current where the tool sends them, in the client on the span of the
request they belong to (progress by its token; a log message on the latest request in flight on
that session), and a log message is also an OpenTelemetry log record in that span's context.
Other notifications (``list_changed``, ``resources/updated``) are ``mcp.notification`` events on
the latest request in flight (mcp 1.x's client has no span for the session itself).

Seams (mcp 1.30): ``ServerSession.send_request`` (inherited from ``BaseSession``),
``send_progress_notification`` and ``send_log_message`` on the server side; ``ClientSession.
_received_request`` and ``_received_notification`` on the client side; the client's requests in
flight are kept by ``client_v1``.
"""

from __future__ import annotations

import time
from typing import Any

from mcp import ClientSession, McpError, types
from mcp.server.session import ServerSession
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind

from agentloupe.instrumentation import semconv
from agentloupe.instrumentation.mcp.backchannel import (
    log_event,
    note_notification,
    progress_event,
    record_duration,
    request_attributes,
    waiting_on_client,
    waits_for,
)
from agentloupe.instrumentation.mcp.client_v1 import (
    latest_in_flight,
    span_in_flight,
    spans_in_flight,
    with_trace_context,
)
from agentloupe.instrumentation.mcp.meta import parent_context
from agentloupe.instrumentation.patching import MethodPatch, log_telemetry_failure
from agentloupe.instrumentation.spans import error_type_of, mark_error, traced
from agentloupe.instrumentation.telemetry import metrics

_send = MethodPatch(ServerSession, "send_request")
_progress = MethodPatch(ServerSession, "send_progress_notification")
_log = MethodPatch(ServerSession, "send_log_message")
_received = MethodPatch(ClientSession, "_received_request")
_notified = MethodPatch(ClientSession, "_received_notification")

#: What a server may ask its client (tasks' own requests are left to the SDK's task handlers).
_ASKS = (types.CreateMessageRequest, types.ElicitRequest, types.ListRootsRequest, types.PingRequest)


def _message(root: Any) -> Any:
    return getattr(getattr(root, "params", None), "message", "")


def answer_outcome(span: Span, answer: Any) -> str | None:
    """Record the client's answer on ``span``: a refusal or an error marks it; the error type, if any."""
    if isinstance(answer, types.ErrorData):
        span.set_attribute(semconv.RPC_JSONRPC_ERROR_CODE, answer.code)
        mark_error(span, str(answer.code), answer.message)
        return str(answer.code)
    result = getattr(answer, "root", answer)
    if isinstance(result, types.ElicitResult):
        span.set_attribute(semconv.MCP_ELICITATION_ACTION, result.action)
        if result.action != "accept":
            error_type = f"elicitation_{result.action}"
            mark_error(span, error_type, f"the user chose {result.action}")
            return error_type
    elif isinstance(result, (types.CreateMessageResult, types.CreateMessageResultWithTools)):
        span.set_attribute(semconv.GEN_AI_RESPONSE_MODEL, result.model)
    return None


async def _send_request(
    self: ServerSession, request: types.ServerRequest, result_type: Any, *args: Any, **kw: Any
) -> Any:
    original = _send.original
    assert original is not None
    root = request.root
    if not isinstance(root, _ASKS):
        return await original(self, request, result_type, *args, **kw)
    try:
        attrs = request_attributes(root.method, getattr(self, "_request_id", ""), _message(root))
        if isinstance(root, types.CreateMessageRequest):
            attrs[semconv.GEN_AI_REQUEST_MAX_TOKENS] = root.params.maxTokens
        what = waits_for(root.method, _message(root))
    except Exception:
        log_telemetry_failure("mcp_backchannel_attributes")
        return await original(self, request, result_type, *args, **kw)
    started = time.perf_counter()
    error_type: str | None = None
    try:
        with traced(root.method, kind=SpanKind.CLIENT, attributes=attrs, tracer_provider=_send.tracer_provider) as span:
            try:
                outgoing = with_trace_context(request, span)
            except Exception:
                log_telemetry_failure("mcp_backchannel_propagation")
                outgoing = request
            try:
                # the client's answer is not the server's hang (its wait has a deadline of its own)
                with waiting_on_client(root.method, what, span=span):
                    result = await original(self, outgoing, result_type, *args, **kw)
            except McpError as exc:
                try:
                    error_type = answer_outcome(span, exc.error)
                except Exception:
                    log_telemetry_failure("mcp_backchannel_result")
                raise
            try:
                error_type = answer_outcome(span, result)
            except Exception:
                log_telemetry_failure("mcp_backchannel_result")
            return result
    except BaseException as exc:
        error_type = error_type or error_type_of(exc)
        raise
    finally:
        record_duration(metrics.mcp_client_operation_duration, _send.meter_provider, root.method, error_type, started)


async def _received_request(self: ClientSession, responder: Any) -> Any:
    original = _received.original
    assert original is not None
    root = responder.request.root
    if not isinstance(root, _ASKS):
        return await original(self, responder)
    try:
        attrs = request_attributes(root.method, responder.request_id, _message(root))
        parent = parent_context(responder.request_meta)
        what = waits_for(root.method, _message(root))
    except Exception:
        log_telemetry_failure("mcp_backchannel_handler_attributes")
        return await original(self, responder)
    started = time.perf_counter()
    outcome: dict[str, str | None] = {"error": None}
    try:
        with traced(
            root.method,
            kind=SpanKind.SERVER,
            attributes=attrs,
            context=parent,
            tracer_provider=_received.tracer_provider,
        ) as span:
            respond = responder.respond

            async def respond_and_record(answer: Any) -> None:
                try:
                    outcome["error"] = answer_outcome(span, answer)
                except Exception:
                    log_telemetry_failure("mcp_backchannel_answer")
                await respond(answer)

            responder.respond = respond_and_record
            try:
                # the requests waiting for this answer do not hang meanwhile (their clocks stop)
                with waiting_on_client(root.method, what, spans=spans_in_flight(self), bounded=False):
                    return await original(self, responder)
            finally:
                responder.respond = respond
    except BaseException as exc:
        outcome["error"] = outcome["error"] or error_type_of(exc)
        raise
    finally:
        record_duration(
            metrics.mcp_server_operation_duration, _received.meter_provider, root.method, outcome["error"], started
        )


async def _send_progress(self: ServerSession, progress_token: Any, progress: float, *args: Any, **kw: Any) -> Any:
    original = _progress.original
    assert original is not None
    try:
        total = args[0] if args else kw.get("total")
        message = args[1] if len(args) > 1 else kw.get("message")
        trace.get_current_span().add_event(semconv.EVENT_MCP_PROGRESS, progress_event(progress, total, message))
    except Exception:
        log_telemetry_failure("mcp_server_progress")
    return await original(self, progress_token, progress, *args, **kw)


async def _send_log(self: ServerSession, level: Any, data: Any, *args: Any, **kw: Any) -> Any:
    original = _log.original
    assert original is not None
    try:
        logger = args[0] if args else kw.get("logger")
        trace.get_current_span().add_event(semconv.EVENT_MCP_LOG, log_event(level, data, logger))
    except Exception:
        log_telemetry_failure("mcp_server_log")
    return await original(self, level, data, *args, **kw)


async def _received_notification(self: ClientSession, notification: types.ServerNotification) -> Any:
    original = _notified.original
    assert original is not None
    try:
        _note(self, notification.root)
    except Exception:
        log_telemetry_failure("mcp_client_notification")
    return await original(self, notification)


def _note(session: ClientSession, root: Any) -> None:
    params = getattr(root, "params", None)
    note_notification(
        root.method,
        params.model_dump() if params is not None else {},
        by_token=lambda token: span_in_flight(session, token),
        latest=latest_in_flight(session),
    )


def instrument_backchannel(*, tracer_provider: Any = None, meter_provider: Any = None) -> None:
    """Patch both sides' other direction on mcp 1.x. Idempotent."""
    providers = {"tracer_provider": tracer_provider, "meter_provider": meter_provider}
    _send.install(_send_request, **providers)
    _progress.install(_send_progress, **providers)
    _log.install(_send_log, **providers)
    _received.install(_received_request, **providers)
    _notified.install(_received_notification, **providers)


def uninstrument_backchannel() -> None:
    """Put both sessions back exactly as they were."""
    for patch in (_send, _progress, _log, _received, _notified):
        patch.uninstall()
