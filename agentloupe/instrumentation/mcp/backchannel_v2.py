"""The other direction on mcp 2.x (handshake-era sessions, which keep the back-channel).

The SDK already sends a server's request to its client under a CLIENT span of its own (``MCP
send sampling/createMessage``, under the tool's SERVER span, trace context in ``_meta``), which
the enricher names and marks (``v2.py``: direction, the elicitation's question). What it lacks,
added here:

- in the client, a SERVER span for handling the request, parented by its ``_meta``, with the
  callback's own spans inside it, its answer (a declined elicitation, a refusal) marked on it;
- while the server waits for that answer, its deadlines stop their clocks, and so do those of the
  client's requests in flight on that session (waiting on the other side is not a hang); a
  deadline for a person's answer only if set (``person``);
- progress and log messages as events: in the server on the span current where they are sent,
  in the client on the span of the request they belong to (by progress token; a log message on
  the session's latest request in flight), a log message also as an OpenTelemetry log record.

Seams (mcp 2.3): ``ClientSession._on_request`` (the handshake path's server-to-client
requests), ``ServerSession.send_request``, ``JSONRPCDispatcher.notify`` and
``_dispatch_notification``. The 2026-07-28 protocol has no back-channel: its input-required
rounds are each a ``tools/call`` of their own (traced as any request).
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from typing import Any

from mcp import MCPError  # type: ignore[attr-defined]
from mcp.client.session import ClientSession
from mcp.server.session import ServerSession
from mcp.shared.jsonrpc_dispatcher import JSONRPCDispatcher
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
from agentloupe.instrumentation.mcp.meta import parent_context
from agentloupe.instrumentation.patching import MethodPatch, log_telemetry_failure
from agentloupe.instrumentation.spans import error_type_of, mark_error, traced
from agentloupe.instrumentation.telemetry import metrics

ASKS = frozenset({"sampling/createMessage", "elicitation/create", "roots/list", "ping"})
_on_request = MethodPatch(ClientSession, "_on_request")
#: A session binds ``_on_request`` as it starts: one started before an undo still calls the wrapper
_SDK_ON_REQUEST = ClientSession._on_request  # type: ignore[attr-defined]
_send = MethodPatch(ServerSession, "send_request")
_notify = MethodPatch(JSONRPCDispatcher, "notify")
_dispatch = MethodPatch(JSONRPCDispatcher, "_dispatch_notification")

#: What the server's request about to go out says of itself, and the deadline of a person's answer
#: (if one is set), for the SDK's CLIENT span to take as it starts (``v2.py``)
asking: ContextVar[tuple[dict[str, Any], Any] | None] = ContextVar("agentloupe_mcp_asking", default=None)
#: Set while the client answers a server's request here: the SDK hands it to the same dispatch as
#: a 2026-07-28 round's embedded requests, which ``rounds_v2.py`` traces (this has its span)
answering_backchannel: ContextVar[bool] = ContextVar("agentloupe_mcp_answering_backchannel", default=False)
#: The CLIENT spans of requests in flight, by (id of the session's dispatcher, request id)
_in_flight: dict[tuple[int, str], Span] = {}
_keys: dict[int, tuple[int, str]] = {}  # span id -> its key above


def request_started(dispatcher: Any, request_id: str, span: Span) -> None:
    """The enricher saw a request's CLIENT span start: progress and log messages find it here."""
    if dispatcher is not None:
        key = (id(dispatcher), request_id)
        span_id = span.get_span_context().span_id
        request_ended(span_id)  # a span of several requests (FastMCP's) is found by its last
        _in_flight[key] = span
        _keys[span_id] = key


def request_ended(span_id: int) -> None:
    key = _keys.pop(span_id, None)
    if key is not None:
        _in_flight.pop(key, None)


def _spans_of(dispatcher: Any) -> list[Span]:
    key = id(dispatcher)
    return [span for (owner, _), span in list(_in_flight.items()) if owner == key]


def _message(params: Any) -> Any:
    return params.get("message", "") if isinstance(params, dict) else getattr(params, "message", "")


def answered(span: Any, answer: Any) -> str | None:
    """The client's answer (the dumped result) on ``span``; a refusal marks it."""
    if not isinstance(answer, dict):
        return None
    if action := answer.get("action"):
        span.set_attribute(semconv.MCP_ELICITATION_ACTION, str(action))
        if action != "accept":
            error_type = f"elicitation_{action}"
            mark_error(span, error_type, f"the user chose {action}")
            return error_type
    if model := answer.get("model"):
        span.set_attribute(semconv.GEN_AI_RESPONSE_MODEL, str(model))
    return None


async def _client_on_request(self: Any, dctx: Any, method: str, params: Any) -> Any:
    token = answering_backchannel.set(True)
    try:
        return await _answer_request(self, dctx, method, params)
    finally:
        answering_backchannel.reset(token)


async def _answer_request(self: Any, dctx: Any, method: str, params: Any) -> Any:
    original = _on_request.original or _SDK_ON_REQUEST
    if _on_request.original is None or method not in ASKS:
        return await original(self, dctx, method, params)
    try:
        attrs = request_attributes(method, getattr(dctx, "request_id", ""), _message(params))
        parent = parent_context((params or {}).get("_meta") if isinstance(params, dict) else None)
        what, waiting = waits_for(method, _message(params)), _spans_of(getattr(self, "_dispatcher", None))
    except Exception:
        log_telemetry_failure("mcp_v2_backchannel_attributes")
        return await original(self, dctx, method, params)
    started = time.perf_counter()
    error_type: str | None = None
    provider = _on_request.tracer_provider
    try:
        with traced(method, kind=SpanKind.SERVER, attributes=attrs, context=parent, tracer_provider=provider) as span:
            try:
                # the requests waiting for this answer do not hang meanwhile (their clocks stop)
                with waiting_on_client(method, what, spans=waiting, bounded=False):
                    answer = await original(self, dctx, method, params)
            except MCPError as exc:
                error_type = str(exc.error.code)
                span.set_attribute(semconv.RPC_JSONRPC_ERROR_CODE, exc.error.code)
                mark_error(span, error_type, exc.error.message)
                raise
            try:
                error_type = answered(span, answer)
            except Exception:
                log_telemetry_failure("mcp_v2_backchannel_answer")
            return answer
    except BaseException as exc:
        error_type = error_type or error_type_of(exc)
        raise
    finally:
        record_duration(metrics.mcp_server_operation_duration, _on_request.meter_provider, method, error_type, started)


async def _server_send_request(self: Any, request: Any, result_type: Any, *args: Any, **kwargs: Any) -> Any:
    original = _send.original
    assert original is not None
    root = getattr(request, "root", request)
    method = getattr(root, "method", None)
    if method not in ASKS:
        return await original(self, request, result_type, *args, **kwargs)
    params = getattr(root, "params", None)
    try:
        attrs, what = request_attributes(method, "", _message(params)), waits_for(method, _message(params))
    except Exception:
        log_telemetry_failure("mcp_v2_backchannel_request")
        return await original(self, request, result_type, *args, **kwargs)
    # the client's answer is not the server's hang (its wait has a deadline of its own, on the
    # SDK's span for the request: the enricher moves it there as that span starts)
    with waiting_on_client(method, what) as watched:
        token = asking.set((attrs, watched))
        try:
            return await original(self, request, result_type, *args, **kwargs)
        finally:
            asking.reset(token)


async def _notify_and_note(self: Any, method: str, params: Any, *args: Any, **kwargs: Any) -> Any:
    original = _notify.original
    assert original is not None
    if method in ("notifications/progress", "notifications/message") and isinstance(params, dict):
        try:
            span = trace.get_current_span()
            if method == "notifications/progress":
                event = progress_event(params.get("progress", 0), params.get("total"), params.get("message"))
                span.add_event(semconv.EVENT_MCP_PROGRESS, event)
            else:
                span.add_event(
                    semconv.EVENT_MCP_LOG, log_event(params.get("level"), params.get("data"), params.get("logger"))
                )
        except Exception:
            log_telemetry_failure("mcp_v2_server_notification")
    return await original(self, method, params, *args, **kwargs)


def _dispatch_and_note(self: Any, msg: Any, *args: Any, **kwargs: Any) -> Any:
    original = _dispatch.original
    assert original is not None
    try:
        _note(self, msg.method, msg.params if isinstance(msg.params, dict) else {})
    except Exception:
        log_telemetry_failure("mcp_v2_client_notification")
    return original(self, msg, *args, **kwargs)


def _note(dispatcher: Any, method: str, params: dict[str, Any]) -> None:
    spans = _spans_of(dispatcher)
    note_notification(
        method,
        params,
        by_token=lambda token: _in_flight.get((id(dispatcher), str(token))),
        latest=spans[-1] if spans else None,
    )


def instrument_backchannel_v2(*, tracer_provider: Any = None, meter_provider: Any = None) -> None:
    """Patch both sides' other direction on mcp 2.x. Idempotent."""
    providers = {"tracer_provider": tracer_provider, "meter_provider": meter_provider}
    _on_request.install(_client_on_request, **providers)
    _send.install(_server_send_request, **providers)
    _notify.install(_notify_and_note, **providers)
    _dispatch.install(_dispatch_and_note, **providers)


def uninstrument_backchannel_v2() -> None:
    for patch in (_on_request, _send, _notify, _dispatch):
        patch.uninstall()
