"""mcp 2.x: what agentloupe does around each request, on either side, beside the SDK's spans.

The SDK makes the spans (``v2.py`` enriches them); what a span processor cannot do needs a place
around the request itself:

- **the watchdog's deadlines** (``tool`` for tools/call, ``mcp`` for the rest), client side and
  server side, on every session and server in the process (a program's own as well as
  agentloupe's): past its deadline a request's span gets the ``hang`` event with the stuck line;
  with ``--on-hang cancel`` the request is cancelled and ``DeadlineExceeded`` raised (the server
  answers it as an error);
- **a tool's answer for the CLIENT span**: the SDK marks a tool's error result on the SERVER span
  only, and its CLIENT span ends before the caller sees the result; the answer is kept as the
  session's dispatcher hands it to the waiting request (``JSONRPCDispatcher._resolve_pending``),
  for that request's span alone, so ``v2.py`` marks the error and, with capture on, records the
  arguments and result there;
- **content capture in servers**: with capture on, a tool call's arguments and result on the
  server's SERVER span;
- **one SERVER span per request, none for a notification** (as FastMCP and agentloupe on 1.x):
  the SDK's OpenTelemetry middleware would make a parentless one for each (``initialized``), a
  trace of its own per session;
- **the caller's ``_meta`` as it is**: a trace context the caller put in ``_meta`` itself (a
  proxy forwarding its own caller's) goes out unchanged, as on 1.x, where the SDK would write its
  span's over it.

Client side, ``ClientSession.send_request`` is wrapped: the SDK's CLIENT span begins inside it, so
the request (its deadline, its arguments, its dispatcher) is handed to that span as it starts
(``v2.py`` calls ``adopt_request_span``), and a deadline that cancelled marks it ``timeout``, as on
mcp 1.x. Server side, one middleware is put
innermost in every server's chain (``ServerRunner._compose_server_middleware``): inside the SDK's
OpenTelemetry middleware, or FastMCP's seam span, whichever makes the SERVER span, so that span is
the current one there. The SDK documents no seam for either yet (its own TODOs name them): a
missing one is logged once and that part is left out; the requests go on as they are.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from opentelemetry import trace

from agentloupe.instrumentation import content, semconv
from agentloupe.instrumentation.diagnostics.exceeded import DeadlineExceeded
from agentloupe.instrumentation.diagnostics.watchdog import CALLER_GRACE_S, Deadline, deadline
from agentloupe.instrumentation.mcp.rounds_v2 import ROUND_METHODS, is_retry
from agentloupe.instrumentation.patching import MethodPatch, log_telemetry_failure


@dataclass(eq=False)
class Request:
    """A request a session is sending, as its CLIENT span sees it."""

    method: str | None
    deadline: Deadline | None  # None when no watchdog runs
    arguments: Any  # a tools/call's arguments
    dispatcher: Any  # the session's dispatcher: where its answer arrives
    request_id: str | None = None  # set once its answer is awaited
    answered: dict[str, Any] | None = None  # the tool's answer, as the dispatcher received it
    retry: bool = False  # an input-required round after the first (it carries the answers)
    logical: Any = None  # the span its rounds share (the one above its CLIENT span)
    target: str = ""  # a round's tool, prompt or resource
    answering: list[str] = field(default_factory=list)  # a retry's answers: the keys of the questions

    def expect_answer(self, request_id: str) -> None:
        """Keep the answer to this request for its span (taken, or dropped, by ``answer()``): a
        tool's result, or an InputRequiredResult for any request that may take rounds."""
        if self.dispatcher is not None:
            self.request_id = request_id
            _awaited[(id(self.dispatcher), request_id)] = self

    def settle(self) -> None:
        """Its span ends: the answer (which arrives before) is no longer waited for."""
        if self.request_id is not None:
            _awaited.pop((id(self.dispatcher), self.request_id), None)
            self.request_id = None

    def answer(self) -> dict[str, Any] | None:
        """The tool's answer, once, as the dispatcher received it; None if none came."""
        self.settle()
        answered, self.answered = self.answered, None
        return answered


#: The request this task is sending, until its CLIENT span takes it.
_sending: ContextVar[Request | None] = ContextVar("agentloupe_mcp_request", default=None)
#: The tools/call requests whose answer a span waits for, by (dispatcher, request id). Bounded:
#: each span takes or drops its own at its end, and a dispatcher lives as long as its open requests.
_awaited: dict[tuple[int, str], Request] = {}

#: SERVER spans whose request a deadline ended, by span id, until v2.py marks them at their end.
_exceeded: set[int] = set()
_INTERNAL_ERROR = -32603  # JSON-RPC's

_client: MethodPatch | None = None
_server: MethodPatch | None = None
_answers: MethodPatch | None = None
_notifications: MethodPatch | None = None
_injected: tuple[Any, Any] | None = None  # (the dispatcher's module, its own inject_trace_context)
_TRACE_CONTEXT_KEYS = ("traceparent", "tracestate", "baggage")


def _kind(method: Any) -> str:
    return "tool" if method == "tools/call" else "mcp"


async def _send_request(self: Any, request: Any, result_type: Any, *args: Any, **kwargs: Any) -> Any:
    assert _client is not None and _client.original is not None
    original = _client.original
    root = getattr(request, "root", request)
    method = getattr(root, "method", None)
    params = getattr(root, "params", None)
    arguments = getattr(params, "arguments", None) if method == "tools/call" else None
    with deadline(_kind(method)) as watched:
        sending = Request(method, watched, arguments, getattr(self, "_dispatcher", None))
        if method in ROUND_METHODS:
            sending.retry = is_retry(params)
            sending.target = str(getattr(params, "name", None) or getattr(params, "uri", ""))
            sending.answering = list(getattr(params, "input_responses", None) or ())
        token = _sending.set(sending)
        try:
            return await original(self, request, result_type, *args, **kwargs)
        finally:
            _sending.reset(token)


def adopt_request_span(span: Any) -> Request | None:
    """Called as the SDK's CLIENT span for a request starts: the request it is for, whose deadline
    now reports on it (its ``cancelled`` says, at the span's end, whether it ended the request)."""
    request = _sending.get()
    if request is not None:
        if request.deadline is not None:
            request.deadline.span = span
        _sending.set(None)  # one span per request: a nested request has its own
    return request


def exceeded(span: Any) -> bool:
    """Did a deadline end the request this SERVER span is for (told once, at its end)?"""
    span_id = span.get_span_context().span_id
    if span_id in _exceeded:
        _exceeded.discard(span_id)
        return True
    return False


def _resolve_pending(self: Any, request_id: Any, outcome: Any) -> None:
    assert _answers is not None and _answers.original is not None
    try:
        if _awaited and isinstance(outcome, dict) and (request := _awaited.get((id(self), str(request_id)))):
            request.answered = outcome
    except Exception:
        log_telemetry_failure("mcp_v2_tool_answer")
    _answers.original(self, request_id, outcome)


async def _serve_request(ctx: Any, *, call_next: Any) -> Any:
    if getattr(ctx, "request_id", None) is None:  # a notification: nothing waits for it
        return await call_next(ctx)
    try:
        with deadline(_kind(ctx.method), grace=CALLER_GRACE_S):  # on the current span: the SERVER span
            result = await call_next(ctx)
    except DeadlineExceeded as exc:
        # answered as an MCP error that says so (the SDK logs any other exception with its
        # traceback and answers "Internal server error"); its span is marked timeout at its end
        from mcp.shared.exceptions import MCPError  # type: ignore[attr-defined]  # mcp 2 only

        if (span := trace.get_current_span()).is_recording():
            _exceeded.add(span.get_span_context().span_id)
        raise MCPError(_INTERNAL_ERROR, str(exc)) from exc
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


async def _server_span(self: Any, ctx: Any, call_next: Any) -> Any:
    assert _notifications is not None and _notifications.original is not None
    if getattr(ctx, "request_id", None) is None:  # a notification: not a request, no span
        return await call_next(ctx)
    return await _notifications.original(self, ctx, call_next)


def _inject_keeping_the_callers(meta: dict[str, Any]) -> None:
    assert _injected is not None
    kept = {key: meta[key] for key in _TRACE_CONTEXT_KEYS if key in meta}
    _injected[1](meta)
    if kept.get("traceparent"):  # the caller's own context goes out, as they set it
        if "tracestate" not in kept:  # the SDK's would belong to the SDK's traceparent
            meta.pop("tracestate", None)
        meta.update(kept)


def instrument_requests() -> None:
    """Deadlines around every request, tools' answers for their spans, content capture in every
    server. Idempotent. A seam this SDK release lacks is logged once and left out."""
    global _client, _server, _answers, _notifications
    from mcp.client.session import ClientSession

    if _client is None:
        _client = MethodPatch(ClientSession, "send_request")
    _client.install(_send_request)
    try:
        from mcp.shared.jsonrpc_dispatcher import JSONRPCDispatcher

        if _answers is None:
            _answers = MethodPatch(JSONRPCDispatcher, "_resolve_pending")
        _answers.install(_resolve_pending)
    except (ImportError, AttributeError):
        log_telemetry_failure("mcp_v2_seam_resolve_pending")
    try:
        from mcp.server.runner import ServerRunner

        if _server is None:
            _server = MethodPatch(ServerRunner, "_compose_server_middleware")
        _server.install(_compose_server_middleware)
    except (ImportError, AttributeError):
        log_telemetry_failure("mcp_v2_seam_server_middleware")
    try:
        from mcp.server._otel import OpenTelemetryMiddleware

        if _notifications is None:
            _notifications = MethodPatch(OpenTelemetryMiddleware, "__call__")
        _notifications.install(_server_span)
    except (ImportError, AttributeError):
        log_telemetry_failure("mcp_v2_seam_server_span")
    global _injected
    try:
        from mcp.shared import jsonrpc_dispatcher

        if _injected is None:
            _injected = (jsonrpc_dispatcher, jsonrpc_dispatcher.inject_trace_context)
            jsonrpc_dispatcher.inject_trace_context = _inject_keeping_the_callers
    except (ImportError, AttributeError):
        log_telemetry_failure("mcp_v2_seam_inject")


def uninstrument_requests() -> None:
    global _injected
    for patch in (_client, _server, _answers, _notifications):
        if patch is not None:
            patch.uninstall()
    if _injected is not None:
        _injected[0].inject_trace_context = _injected[1]
        _injected = None
