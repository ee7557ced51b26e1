"""Server-side MCP instrumentation: a SERVER span per request, parented by the client's ``_meta``.

The low-level ``Server._handle_request`` runs every request but ``initialize``,
which ``ServerSession._received_request`` answers itself, so both are wrapped.
The tool runs inside the same task, so the server span is current inside it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from mcp import types
from mcp.server.lowlevel.server import Server
from mcp.server.session import ServerSession
from opentelemetry import propagate
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind

from agentloupe.instrumentation import content, metrics, semconv
from agentloupe.instrumentation.spans import mark_error, traced
from agentloupe.instrumentation.watchdog import deadline

_originals: dict[str, Callable[..., Any]] = {}


def _parent_context(meta: Any) -> Context:
    """The caller's context from ``_meta``; always extracted into an empty context.

    In stateful streamable HTTP every handler inherits the contextvars of the
    session's first HTTP request: an inherited context would parent wrongly.
    """
    carrier: dict[str, str] = {}
    if meta is not None:
        extra = meta.model_extra if hasattr(meta, "model_extra") else meta
        if isinstance(extra, dict):
            carrier = {k: v for k, v in extra.items() if isinstance(v, str)}
    return propagate.extract(carrier, context=Context())


def _peer_attributes(message: Any) -> dict[str, Any]:
    request = getattr(getattr(message, "message_metadata", None), "request_context", None)
    client = getattr(request, "client", None)
    if client is None:
        return {semconv.NETWORK_TRANSPORT: "pipe"}
    attrs: dict[str, Any] = {semconv.NETWORK_TRANSPORT: "tcp", semconv.CLIENT_ADDRESS: client.host}
    if client.port:
        attrs[semconv.CLIENT_PORT] = client.port
    session_id = request.headers.get("mcp-session-id") if hasattr(request, "headers") else None
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
        captured = content.render([c.model_dump(mode="json") for c in result.content])
        if captured is not None:
            span.set_attribute(semconv.GEN_AI_TOOL_CALL_RESULT, captured)
        if result.isError:
            text = next((c.text for c in result.content if isinstance(c, types.TextContent)), None)
            mark_error(span, "tool_error", (text or "")[:500] or None)
            return "tool_error"
    return None


async def _handle_request(self: Server, message: Any, req: Any, session: Any, lifespan_context: Any, raise_exceptions: bool):
    original = _originals["handle_request"]
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
    started = time.perf_counter()
    outcome: dict[str, str | None] = {"error": None}
    with traced(name, kind=SpanKind.SERVER, attributes=attrs, context=_parent_context(message.request_meta)) as span:
        respond = message.respond

        async def respond_and_record(response: Any) -> None:
            outcome["error"] = _record_response(span, response)
            await respond(response)

        message.respond = respond_and_record
        try:
            with deadline("tool" if isinstance(req, types.CallToolRequest) else "mcp", span=span):
                return await original(self, message, req, session, lifespan_context, raise_exceptions)
        finally:
            message.respond = respond
            metric_attrs = {semconv.MCP_METHOD_NAME: method}
            if semconv.GEN_AI_TOOL_NAME in attrs:
                metric_attrs[semconv.GEN_AI_TOOL_NAME] = attrs[semconv.GEN_AI_TOOL_NAME]
            if outcome["error"]:
                metric_attrs[semconv.ERROR_TYPE] = outcome["error"]
            metrics.mcp_server_operation_duration().record(time.perf_counter() - started, metric_attrs)


async def _received_request(self: ServerSession, responder: Any):
    original = _originals["received_request"]
    if not isinstance(responder.request.root, types.InitializeRequest):
        return await original(self, responder)
    attrs = {
        semconv.MCP_METHOD_NAME: "initialize",
        semconv.JSONRPC_REQUEST_ID: str(responder.request_id),
        semconv.MCP_PROTOCOL_VERSION: str(responder.request.root.params.protocolVersion),
        **_peer_attributes(responder),
    }
    with traced("initialize", kind=SpanKind.SERVER, attributes=attrs, context=_parent_context(responder.request_meta)):
        return await original(self, responder)


def instrument_mcp_server() -> None:
    """Patch the low-level MCP server so every server in this process traces requests. Idempotent."""
    if _originals:
        return
    _originals["handle_request"] = Server._handle_request
    _originals["received_request"] = ServerSession._received_request
    Server._handle_request = _handle_request  # type: ignore[method-assign]
    ServerSession._received_request = _received_request  # type: ignore[method-assign]


def uninstrument_mcp_server() -> None:
    if not _originals:
        return
    Server._handle_request = _originals.pop("handle_request")  # type: ignore[method-assign]
    ServerSession._received_request = _originals.pop("received_request")  # type: ignore[method-assign]
