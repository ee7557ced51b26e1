"""mcp 2.x: what agentloupe does around each request, on either side, beside the SDK's spans.

The SDK makes the spans (``v2.py`` enriches them); what a span processor cannot do needs a place
around the request itself:

- **the watchdog's deadlines** (``tool`` for tools/call, ``mcp`` for the rest), client side and
  server side, on every session and server in the process (a program's own as well as
  agentloupe's): past its deadline a request's span gets the ``hang`` event with the stuck line;
  with ``--on-hang cancel`` the request is cancelled and ``DeadlineExceeded`` raised (the server
  answers it as an error);
- **content capture in servers**: with capture on, a tool call's arguments and result on the
  server's SERVER span (the client side records them from the pool's transport, ``v2.py``).

Client side, ``ClientSession.send_request`` is wrapped: the SDK's CLIENT span begins inside it, so
the deadline is moved onto that span as it starts (``v2.py`` calls ``adopt_request_span``), and a
deadline that cancelled marks it ``timeout``, as on mcp 1.x. Server side, one middleware is put
innermost in every server's chain (``ServerRunner._compose_server_middleware``): inside the SDK's
OpenTelemetry middleware, or FastMCP's seam span, whichever makes the SERVER span, so that span is
the current one there. The SDK documents no seam for either yet (its own TODOs name them): a
missing one is logged once and that part is left out; the requests go on as they are.
"""

from __future__ import annotations

from contextvars import ContextVar
from functools import partial
from typing import Any

from opentelemetry import trace

from agentloupe.instrumentation import content, semconv
from agentloupe.instrumentation.diagnostics.watchdog import Deadline, deadline
from agentloupe.instrumentation.patching import MethodPatch, log_telemetry_failure

#: The deadline of the request this task is sending, until its CLIENT span takes it.
_request_deadline: ContextVar[Deadline | None] = ContextVar("agentloupe_mcp_request_deadline", default=None)

_client: MethodPatch | None = None
_server: MethodPatch | None = None


def _kind(method: Any) -> str:
    return "tool" if method == "tools/call" else "mcp"


async def _send_request(self: Any, request: Any, result_type: Any, *args: Any, **kwargs: Any) -> Any:
    assert _client is not None and _client.original is not None
    original = _client.original
    method = getattr(getattr(request, "root", request), "method", None)
    with deadline(_kind(method)) as watched:
        token = _request_deadline.set(watched)
        try:
            return await original(self, request, result_type, *args, **kwargs)
        finally:
            _request_deadline.reset(token)


def adopt_request_span(span: Any) -> Deadline | None:
    """Called as the SDK's CLIENT span for a request starts: that request's deadline now reports on
    it. Returns the deadline (its ``cancelled`` says, at the span's end, whether it ended it)."""
    watched = _request_deadline.get()
    if watched is not None:
        watched.span = span
        _request_deadline.set(None)  # one span per request: a nested request has its own
    return watched


async def _serve_request(ctx: Any, *, call_next: Any) -> Any:
    if getattr(ctx, "request_id", None) is None:  # a notification: nothing waits for it
        return await call_next(ctx)
    with deadline(_kind(ctx.method)):  # on the current span: the request's SERVER span
        result = await call_next(ctx)
    if ctx.method == "tools/call" and content.capture_enabled():
        try:
            _capture(ctx, result)
        except Exception:
            log_telemetry_failure("mcp_v2_server_capture")
    return result


def _capture(ctx: Any, result: Any) -> None:
    span = trace.get_current_span()
    if (arguments := content.render((ctx.params or {}).get("arguments") or {})) is not None:
        span.set_attribute(semconv.GEN_AI_TOOL_CALL_ARGUMENTS, arguments)
    blocks = getattr(result, "content", None)  # the handler's model, or the wire dict
    answer = content.render_blocks(blocks) if blocks is not None else None
    if answer is None and isinstance(result, dict):
        answer = content.render(result.get("content", []))
    if answer is not None:
        span.set_attribute(semconv.GEN_AI_TOOL_CALL_RESULT, answer)


def _compose_server_middleware(self: Any, inner: Any) -> Any:
    assert _server is not None and _server.original is not None
    return _server.original(self, partial(_serve_request, call_next=inner))


def instrument_requests() -> None:
    """Deadlines around every request, content capture in every server. Idempotent."""
    global _client, _server
    try:
        from mcp.client.session import ClientSession
        from mcp.server.runner import ServerRunner

        if _client is None:
            _client = MethodPatch(ClientSession, "send_request")
        if _server is None and hasattr(ServerRunner, "_compose_server_middleware"):
            _server = MethodPatch(ServerRunner, "_compose_server_middleware")
        _client.install(_send_request)
        if _server is None:
            raise AttributeError("ServerRunner._compose_server_middleware")
        _server.install(_compose_server_middleware)
    except Exception:
        log_telemetry_failure("mcp_v2_request_seams")


def uninstrument_requests() -> None:
    for patch in (_client, _server):
        if patch is not None:
            patch.uninstall()
