"""Server-side MCP instrumentation: a SERVER span per request, parented by the client's ``_meta``.

The low-level ``Server._handle_request`` runs every request but ``initialize``,
which ``ServerSession._received_request`` answers itself, so both are wrapped.
The tool runs inside the same task, so the server span is current inside it.
"""

from __future__ import annotations

import time
from typing import Any

from mcp import types
from mcp.server.lowlevel.server import Server
from mcp.server.session import ServerSession
from opentelemetry.trace import SpanKind

from agentloupe.instrumentation import content, semconv
from agentloupe.instrumentation.diagnostics.watchdog import CALLER_GRACE_S, deadline
from agentloupe.instrumentation.mcp.meta import parent_context
from agentloupe.instrumentation.patching import MethodPatch, log_telemetry_failure
from agentloupe.instrumentation.spans import mark_error, traced
from agentloupe.instrumentation.telemetry import metrics

_handle = MethodPatch(Server, "_handle_request")
_received = MethodPatch(ServerSession, "_received_request")


def _peer_attributes(message: Any) -> dict[str, Any]:
    request = getattr(getattr(message, "message_metadata", None), "request_context", None)
    client = getattr(request, "client", None)
    if client is None:
        return {semconv.NETWORK_TRANSPORT: "pipe"}
    attrs: dict[str, Any] = {semconv.NETWORK_TRANSPORT: "tcp", semconv.CLIENT_ADDRESS: client.host}
    if client.port:
        attrs[semconv.CLIENT_PORT] = client.port
    headers = getattr(request, "headers", None)
    session_id = headers.get("mcp-session-id") if headers is not None else None
    if session_id:
        attrs[semconv.MCP_SESSION_ID] = session_id
    return attrs


def _record_response(span: Any, response: Any) -> str | None:
    if isinstance(response, types.ErrorData):
        span.set_attribute(semconv.RPC_JSONRPC_ERROR_CODE, response.code)
        mark_error(span, str(response.code), response.message)
        return str(response.code)
    result = getattr(response, "root", response)
    if isinstance(result, types.CallToolResult):
        captured = content.render_blocks(result.content)
        if captured is not None:
            span.set_attribute(semconv.GEN_AI_TOOL_CALL_RESULT, captured)
        if result.isError:
            text = next((c.text for c in result.content if isinstance(c, types.TextContent)), None)
            mark_error(span, "tool_error", (text or "")[:500] or None)
            return "tool_error"
    return None


def _request_span(message: Any, req: Any) -> tuple[str, dict[str, Any]]:
    method = getattr(req, "method", type(req).__name__)
    attrs: dict[str, Any] = {
        semconv.MCP_METHOD_NAME: method,
        semconv.JSONRPC_REQUEST_ID: str(message.request_id),
        **_peer_attributes(message),
    }
    name = method
    if isinstance(req, types.CallToolRequest):
        name = f"{method} {req.params.name}"
        attrs[semconv.GEN_AI_OPERATION_NAME] = semconv.OP_EXECUTE_TOOL
        attrs[semconv.GEN_AI_TOOL_NAME] = req.params.name
        captured = content.render(req.params.arguments or {})
        if captured is not None:
            attrs[semconv.GEN_AI_TOOL_CALL_ARGUMENTS] = captured
    return name, attrs


async def _handle_request(
    self: Server, message: Any, req: Any, session: Any, lifespan_context: Any, raise_exceptions: bool
) -> Any:
    original = _handle.original
    assert original is not None
    try:
        name, attrs = _request_span(message, req)
        parent = parent_context(message.request_meta)
    except Exception:
        log_telemetry_failure("mcp_server_attributes")
        return await original(self, message, req, session, lifespan_context, raise_exceptions)
    started = time.perf_counter()
    outcome: dict[str, str | None] = {"error": None}
    with traced(
        name, kind=SpanKind.SERVER, attributes=attrs, context=parent, tracer_provider=_handle.tracer_provider
    ) as span:
        respond = message.respond

        async def respond_and_record(response: Any) -> None:
            try:
                outcome["error"] = _record_response(span, response)
            except Exception:
                log_telemetry_failure("mcp_server_response")
            await respond(response)

        message.respond = respond_and_record
        try:
            kind = "tool" if isinstance(req, types.CallToolRequest) else "mcp"
            with deadline(kind, span=span, grace=CALLER_GRACE_S):
                return await original(self, message, req, session, lifespan_context, raise_exceptions)
        finally:
            message.respond = respond
            # cancelled by the client's notifications/cancelled: mcp ends the handler quietly
            if getattr(message, "cancelled", False) and span.is_recording():
                span.set_attribute(semconv.CANCELLED, True)
            try:
                metric_attrs = {semconv.MCP_METHOD_NAME: attrs[semconv.MCP_METHOD_NAME]}
                if semconv.GEN_AI_TOOL_NAME in attrs:
                    metric_attrs[semconv.GEN_AI_TOOL_NAME] = attrs[semconv.GEN_AI_TOOL_NAME]
                if outcome["error"]:
                    metric_attrs[semconv.ERROR_TYPE] = outcome["error"]
                metrics.mcp_server_operation_duration(_handle.meter_provider).record(
                    time.perf_counter() - started, metric_attrs
                )
            except Exception:
                log_telemetry_failure("mcp_server_metrics")


async def _received_request(self: ServerSession, responder: Any) -> Any:
    original = _received.original
    assert original is not None
    if not isinstance(responder.request.root, types.InitializeRequest):
        return await original(self, responder)
    try:
        attrs = {
            semconv.MCP_METHOD_NAME: "initialize",
            semconv.JSONRPC_REQUEST_ID: str(responder.request_id),
            semconv.MCP_PROTOCOL_VERSION: str(responder.request.root.params.protocolVersion),
            **_peer_attributes(responder),
        }
        parent = parent_context(responder.request_meta)
    except Exception:
        log_telemetry_failure("mcp_server_initialize")
        return await original(self, responder)
    with traced(
        "initialize", kind=SpanKind.SERVER, attributes=attrs, context=parent, tracer_provider=_received.tracer_provider
    ):
        return await original(self, responder)


def instrument_mcp_server(*, tracer_provider: Any = None, meter_provider: Any = None) -> None:
    """Patch the low-level MCP server so every server in this process traces requests. Idempotent."""
    providers = {"tracer_provider": tracer_provider, "meter_provider": meter_provider}
    _handle.install(_handle_request, **providers)
    _received.install(_received_request, **providers)


def uninstrument_mcp_server() -> None:
    """Put ``Server`` and ``ServerSession`` back exactly as they were."""
    _handle.uninstall()
    _received.uninstall()
