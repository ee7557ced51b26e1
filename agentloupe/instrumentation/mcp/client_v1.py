"""Client-side MCP instrumentation for mcp 1.x: a span per request, trace context in ``params._meta``.

Patching ``ClientSession.send_request`` covers every request the client sends
(initialize, tools/list, tools/call, ping), whoever built the session: the
platform, langchain-mcp-adapters or user code. ``BaseSession`` is left alone:
the server session shares it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, TypeVar

from mcp import ClientSession, McpError, types
from opentelemetry import baggage, propagate
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.propagators.textmap import TextMapPropagator
from opentelemetry.trace import Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from pydantic import BaseModel

from agentloupe.instrumentation import content, semconv
from agentloupe.instrumentation.diagnostics.watchdog import deadline
from agentloupe.instrumentation.mcp import current_tool_call_id
from agentloupe.instrumentation.patching import MethodPatch, log_telemetry_failure
from agentloupe.instrumentation.spans import error_type_of, mark_error, traced
from agentloupe.instrumentation.telemetry import metrics

_ATTR = "_agentloupe_info"
_Model = TypeVar("_Model", bound=BaseModel)
_Request = TypeVar("_Request", types.ClientRequest, types.ServerRequest)
_IN_FLIGHT = "_agentloupe_in_flight"
_patch = MethodPatch(ClientSession, "send_request")


@dataclass
class SessionInfo:
    """What the transport knows and the session cannot tell: where the peer is."""

    server_name: str | None = None
    network_transport: str | None = None  # "pipe" (stdio) or "tcp" (HTTP)
    server_address: str | None = None
    server_port: int | None = None
    session_id: Callable[[], str | None] | None = None
    protocol_version: str | None = None


def annotate_session(session: ClientSession, **info: Any) -> SessionInfo:
    """Attach peer details to ``session`` so its spans carry them."""
    current = getattr(session, _ATTR, None) or SessionInfo()
    for key, value in info.items():
        setattr(current, key, value)
    setattr(session, _ATTR, current)
    return current


def with_trace_context(request: _Request, span: Span) -> _Request:
    """A copy of ``request`` (a client's, or the other way a server's) whose ``params._meta``
    carries traceparent/tracestate/baggage.

    What the caller already put there wins: a proxy forwarding its own caller's
    ``traceparent`` keeps that context (the request goes out unchanged), and a
    caller's ``tracestate``/``baggage`` or other keys are kept as they are.
    """
    params_model = getattr(request.root, "params", None)
    caller_meta = getattr(params_model, "meta", None)
    if caller_meta is not None and "traceparent" in (caller_meta.model_extra or {}):
        return request
    carrier = _carrier(span)
    if not carrier:
        return request
    if params_model is not None:
        # The common case (tools/call): shallow copies down to params, with a new _meta. A dump and
        # a re-validation of the whole request cost more than the span itself (measured); the new
        # _meta is validated (our strings and the caller's already validated keys: cheap).
        merged = carrier if caller_meta is None else {**carrier, **caller_meta.model_dump(exclude_none=True)}
        params_copy = _replaced(params_model, meta=types.RequestParams.Meta.model_validate(merged))
        return _replaced(request, root=_replaced(request.root, params=params_copy))
    data = request.root.model_dump(by_alias=True, mode="json", exclude_none=True)
    params = data.get("params") or {}
    meta = params.get("_meta") or {}
    if not isinstance(meta, dict):
        return request
    params["_meta"] = {**carrier, **meta}
    data["params"] = params
    # Validate as the same request type: re-validating through the ClientRequest union
    # tries every member first (measured as a visible share of a stdio call).
    return type(request)(type(request.root).model_validate(data))


def span_in_flight(session: Any, token: Any) -> Span | None:
    """The span of the request in flight on ``session`` whose id (or progress token) is ``token``."""
    in_flight = getattr(session, _IN_FLIGHT, None)
    return in_flight.get(token) if in_flight else None


def spans_in_flight(session: Any) -> list[Span]:
    """The spans of every request in flight on ``session``."""
    in_flight = getattr(session, _IN_FLIGHT, None)
    return list(in_flight.values()) if in_flight else []


def latest_in_flight(session: Any) -> Span | None:
    """The span of the request sent last of those still in flight on ``session``."""
    in_flight = getattr(session, _IN_FLIGHT, None)
    return next(reversed(in_flight.values())) if in_flight else None


def _replaced(model: _Model, **fields: Any) -> _Model:
    """A shallow copy of ``model`` with ``fields`` replaced: ``model_copy(update=...)`` without its
    checks for extra fields, which cost as much as the copy (measured; ``fields`` are declared ones)."""
    copied = model.__copy__()
    copied.__dict__.update(fields)
    copied.__pydantic_fields_set__.update(fields)
    return copied


_w3c_default: TextMapPropagator | None = None


def _carrier(span: Span) -> dict[str, str]:
    """``propagate.inject()`` of ``span``'s context. With the default propagators (W3C trace context
    and baggage, not replaced), ``traceparent`` is formatted here: on a real call, where the
    propagator's code is cold, its layers cost ten times their warm cost (measured: 46 us in situ)."""
    global _w3c_default
    textmap = propagate.get_global_textmap()
    if textmap is not _w3c_default:
        if _w3c_default is not None or not _is_w3c_default(textmap):
            carrier: dict[str, str] = {}
            propagate.inject(carrier)
            return carrier
        _w3c_default = textmap
    context = span.get_span_context()
    carrier = {}
    if context.is_valid:
        carrier["traceparent"] = f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"
        if context.trace_state:
            carrier["tracestate"] = context.trace_state.to_header()
    if baggage.get_all():
        W3CBaggagePropagator().inject(carrier)
    return carrier


def _is_w3c_default(textmap: TextMapPropagator) -> bool:
    """The propagator OpenTelemetry makes when ``OTEL_PROPAGATORS`` is unset: tracecontext, baggage."""
    inner = getattr(textmap, "_propagators", None)
    return (
        isinstance(textmap, CompositePropagator)
        and isinstance(inner, list)
        and [type(item) for item in inner] == [TraceContextTextMapPropagator, W3CBaggagePropagator]
    )


def _attributes(session: ClientSession, root: Any) -> tuple[str, dict[str, Any]]:
    method = root.method
    info: SessionInfo = getattr(session, _ATTR, None) or SessionInfo()
    attrs: dict[str, Any] = {
        semconv.MCP_METHOD_NAME: method,
        semconv.JSONRPC_REQUEST_ID: str(getattr(session, "_request_id", "")),
    }
    if info.server_name:
        attrs[semconv.SERVER_NAME] = info.server_name
    if info.network_transport:
        attrs[semconv.NETWORK_TRANSPORT] = info.network_transport
    if info.server_address:
        attrs[semconv.SERVER_ADDRESS] = info.server_address
    if info.server_port:
        attrs[semconv.SERVER_PORT] = info.server_port
    if info.protocol_version:
        attrs[semconv.MCP_PROTOCOL_VERSION] = info.protocol_version
    if info.session_id is not None:
        session_id = info.session_id()
        if session_id:
            attrs[semconv.MCP_SESSION_ID] = session_id
    name = method
    if isinstance(root, types.CallToolRequest):
        tool = root.params.name
        name = f"{method} {tool}"
        attrs[semconv.GEN_AI_OPERATION_NAME] = semconv.OP_EXECUTE_TOOL
        attrs[semconv.GEN_AI_TOOL_NAME] = tool
        call_id = current_tool_call_id.get()
        if call_id:
            attrs[semconv.GEN_AI_TOOL_CALL_ID] = call_id
        captured = content.render(root.params.arguments or {})
        if captured is not None:
            attrs[semconv.GEN_AI_TOOL_CALL_ARGUMENTS] = captured
    return name, attrs


async def _send_request(
    self: ClientSession, request: types.ClientRequest, result_type: Any, *args: Any, **kwargs: Any
) -> Any:
    original = _patch.original
    assert original is not None
    root = request.root
    try:
        name, attrs = _attributes(self, root)
    except Exception:
        log_telemetry_failure("mcp_client_attributes")
        return await original(self, request, result_type, *args, **kwargs)
    started = time.perf_counter()
    error_type: str | None = None
    try:
        with traced(name, kind=SpanKind.CLIENT, attributes=attrs, tracer_provider=_patch.tracer_provider) as span:
            try:
                outgoing = with_trace_context(request, span)
            except Exception:
                log_telemetry_failure("mcp_client_propagation")
                outgoing = request
            try:
                kind = "tool" if isinstance(root, types.CallToolRequest) else "mcp"
                request_id = getattr(self, "_request_id", None)  # the id `original` gives this request
                # progress and log messages the server sends find the span by the request's id
                # (mcp's progress token when the caller asks for progress) or as the latest
                in_flight = self.__dict__.setdefault(_IN_FLIGHT, {})
                in_flight[request_id] = span
                with deadline(kind, span=span):
                    try:
                        result = await original(self, outgoing, result_type, *args, **kwargs)
                    except BaseException as exc:
                        if _cancelled(exc) and isinstance(request_id, int):
                            await _tell_server_cancelled(self, request_id)
                        raise
                    finally:
                        in_flight.pop(request_id, None)
            except McpError as exc:
                error_type = str(exc.error.code)
                span.set_attribute(semconv.RPC_JSONRPC_ERROR_CODE, exc.error.code)
                mark_error(span, error_type, exc.error.message)
                raise
            try:
                error_type = _record_result(self, span, root, result)
            except Exception:
                log_telemetry_failure("mcp_client_result")
            return result
    except BaseException as exc:
        error_type = error_type or error_type_of(exc)
        raise
    finally:
        try:
            _record_duration(root, attrs, error_type, time.perf_counter() - started)
        except Exception:
            log_telemetry_failure("mcp_client_metrics")


def _cancelled(exc: BaseException) -> bool:
    import anyio

    return isinstance(exc, anyio.get_cancelled_exc_class())


async def _tell_server_cancelled(session: ClientSession, request_id: int) -> None:
    """mcp 1.x sends no ``notifications/cancelled`` when a caller cancels a request: the server
    would go on with it (a hung tool, forever). Sent here, shielded, briefly; never raised."""
    import anyio

    notification = types.ClientNotification(
        types.CancelledNotification(params=types.CancelledNotificationParams(requestId=request_id, reason="cancelled"))
    )
    # Best effort: when the session itself is going away (the transport closed, the start given
    # up), there is no server left to tell, and nothing to report.
    with anyio.CancelScope(shield=True), anyio.move_on_after(1.0), suppress(Exception):
        await session.send_notification(notification)


def _record_result(session: ClientSession, span: Any, root: Any, result: Any) -> str | None:
    if isinstance(result, types.InitializeResult):
        info = annotate_session(session, protocol_version=str(result.protocolVersion))
        span.set_attribute(semconv.MCP_PROTOCOL_VERSION, info.protocol_version or "")
    elif isinstance(result, types.CallToolResult):
        captured = content.render_blocks(result.content)
        if captured is not None:
            span.set_attribute(semconv.GEN_AI_TOOL_CALL_RESULT, captured)
        if result.isError:
            mark_error(span, "tool_error", _first_text(result))
            metrics.tool_errors(_patch.meter_provider).add(1, {semconv.GEN_AI_TOOL_NAME: root.params.name})
            return "tool_error"
    return None


def _record_duration(root: Any, attrs: dict[str, Any], error_type: str | None, seconds: float) -> None:
    metric_attrs = {semconv.MCP_METHOD_NAME: root.method}
    if isinstance(root, types.CallToolRequest):
        metric_attrs[semconv.GEN_AI_TOOL_NAME] = root.params.name
    if attrs.get(semconv.SERVER_NAME):
        metric_attrs[semconv.SERVER_NAME] = attrs[semconv.SERVER_NAME]
    if error_type:
        metric_attrs[semconv.ERROR_TYPE] = error_type
    metrics.mcp_client_operation_duration(_patch.meter_provider).record(seconds, metric_attrs)


def _first_text(result: types.CallToolResult) -> str | None:
    for item in result.content:
        if isinstance(item, types.TextContent):
            return item.text[:500]
    return None


def instrument_mcp_client(*, tracer_provider: Any = None, meter_provider: Any = None) -> None:
    """Patch ``ClientSession`` so every session sends spans and trace context. Idempotent.

    ``tracer_provider``/``meter_provider``: None means the global ones, looked up per span.
    """
    _patch.install(_send_request, tracer_provider=tracer_provider, meter_provider=meter_provider)


def uninstrument_mcp_client() -> None:
    """Put ``ClientSession`` back exactly as it was (an inherited method is inherited again)."""
    _patch.uninstall()
