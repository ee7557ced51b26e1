"""mcp 2.x and FastMCP 4: use the spans the SDK makes, add what they lack. Never a twin.

mcp 2.x makes a CLIENT span per request (``MCP send {method} [name]``, trace context
injected into ``params._meta``) and its server middleware a SERVER span per inbound
message (``{method} [target]``, parented on ``_meta``). agentloupe adds, from a span
processor on the tracer provider (what needs a place around the request itself, a deadline, a
tool's answer, is set there by ``requests_v2.py``):

- the names and attributes the OpenTelemetry MCP conventions give, the same as agentloupe
  makes on mcp 1.x (``tools/call {tool}``, ``gen_ai.tool.name``, ``gen_ai.operation.name``,
  ``gen_ai.tool.call.id``), so dashboards and ``loupe trace`` read both generations alike;
  where FastMCP's client wraps a request in a span of its own, that one is the request's (named
  and measured once) and the SDK's stays under it as ``MCP send ...``, the transport's part;
- ``mcp.client.operation.duration`` / ``mcp.server.operation.duration`` and tool errors: the SDK
  marks a tool's error result on the SERVER span only; the CLIENT span is marked too and counted
  there, as on mcp 1.x (the answer is kept for the span as it arrives: ``requests_v2.py``);
- with content capture on, a tool call's arguments and result on its CLIENT span (the servers
  record them on their SERVER spans, ``requests_v2.py``);
- on the CLIENT spans of agentloupe's own sessions, what the pool knows of the server
  (``request_attributes``: its name in mcp.json, transport, address, protocol version);
- the span hooks (memory probe, loop-block attribution) on those spans;
- the watchdog's deadline of each request moved onto its CLIENT span as it starts, and that span
  marked ``timeout`` when the deadline ended the request (the deadlines themselves, client and
  server side, are set around the requests: ``requests_v2.py``).

Where they disagree, the SDK's span wins on what it measured (timing, parenting, status,
``error.type``); agentloupe's names win (the 1.x spelling, which the conventions give).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import SpanKind, StatusCode

from agentloupe.instrumentation import content, semconv
from agentloupe.instrumentation.diagnostics.exceeded import DeadlineExceeded
from agentloupe.instrumentation.mcp import current_tool_call_id, request_attributes
from agentloupe.instrumentation.mcp.backchannel_v2 import (
    ASKS,
    asking,
    instrument_backchannel_v2,
    request_ended,
    request_started,
    uninstrument_backchannel_v2,
)
from agentloupe.instrumentation.mcp.requests_v2 import (
    Request,
    adopt_request_span,
    exceeded,
    instrument_requests,
    uninstrument_requests,
)
from agentloupe.instrumentation.mcp.rounds_v2 import (
    ROUND_METHODS,
    call_span,
    instrument_rounds_v2,
    round_answered,
    round_started,
    uninstrument_rounds_v2,
)
from agentloupe.instrumentation.patching import log_telemetry_failure
from agentloupe.instrumentation.spans import attributes_of, mark_error, span_ending, span_started
from agentloupe.instrumentation.telemetry import metrics, providers

#: Instrumentation scopes whose spans are MCP requests: the SDK's and FastMCP's.
SDK_SCOPES = frozenset({"mcp-python-sdk", "fastmcp"})
_CLIENT_PREFIX = "MCP send "


def _is_mcp(span: ReadableSpan) -> bool:
    scope = span.instrumentation_scope
    return scope is not None and scope.name in SDK_SCOPES and semconv.MCP_METHOD_NAME in attributes_of(span)


def _wrapped_by_fastmcp(span: Span, parent_context: Context | None) -> bool:
    """Is the SDK's client ``span`` inside FastMCP's client span for the same request?"""
    scope = span.instrumentation_scope
    if scope is None or scope.name == "fastmcp":
        return False
    parent: Any = trace.get_current_span(parent_context)
    parent_scope = getattr(parent, "instrumentation_scope", None)
    return (
        parent_scope is not None
        and parent_scope.name == "fastmcp"
        and getattr(parent, "kind", None) is SpanKind.CLIENT
        and attributes_of(parent).get(semconv.MCP_METHOD_NAME) == attributes_of(span).get(semconv.MCP_METHOD_NAME)
    )


def _tool_call_id(parent_context: Context | None) -> Any:
    """The model's tool-call id: set by agentloupe's tool wrapper, or on the agent's tool span above."""
    if call_id := current_tool_call_id.get():
        return call_id
    parent = trace.get_current_span(parent_context)
    return attributes_of(parent).get(semconv.GEN_AI_TOOL_CALL_ID)


def _expect_answer(span: Span, request: Request) -> None:
    request.expect_answer(str(attributes_of(span).get(semconv.JSONRPC_REQUEST_ID, "")))


def _capture_arguments(span: Any, request: Request) -> None:
    if (captured := content.render(request.arguments or {})) is not None:
        span.set_attribute(semconv.GEN_AI_TOOL_CALL_ARGUMENTS, captured)


def _cancelling() -> bool:
    try:
        task = asyncio.current_task()
    except RuntimeError:
        return False
    return task is not None and task.cancelling() > 0


def _before_end(span: Span, request_of: Callable[[], Request | None], settle: Request | None = None) -> None:
    """What is done to the SDK's span just before it ends, while it still takes attributes: the
    span hooks, a tool's error result marked, a deadline that ended the request marked ``timeout``
    (as on mcp 1.x). The SDK's own ``_on_ending`` comes after the span is sealed
    (opentelemetry-sdk 1.45), so the span's ``end`` is wrapped, on this span alone."""
    original = span.end

    def end(end_time: int | None = None) -> None:
        try:
            if settle is not None:
                settle.settle()
            request = request_of()
            round_of = settle if settle is not None else request
            if round_of is not None and round_of.method in ROUND_METHODS:  # before the answer is taken
                round_answered(span, round_of)
                if attributes_of(span).get(semconv.MCP_ROUND) and span.name.startswith(_CLIENT_PREFIX):
                    span.update_name(span.name[len(_CLIENT_PREFIX) :])  # a round is a request of its own
            watched = request.deadline if request is not None else None
            # raised through the span (FastMCP's client span records it in the caller's task)
            raised = attributes_of(span).get(semconv.ERROR_TYPE) == DeadlineExceeded.__qualname__
            if watched is not None and watched.cancelled and (raised or _cancelling()):  # not if answered meanwhile
                # (the library's status here is about agentloupe's own DeadlineExceeded: told plainly)
                mark_error(span, "timeout", f"{watched.kind} passed its {watched.seconds:g} s deadline")
            elif request is None and (exceeded(span) or raised):  # a server's deadline (told once)
                span.set_attribute(semconv.ERROR_TYPE, "timeout")
            answer = request.answer() if request is not None else None
            if answer is not None:
                if answer.get("isError") is True:
                    _mark_beside(span, "tool_error", "the tool answered with an error result")
                if (captured := content.render(answer.get("content", []))) is not None:
                    span.set_attribute(semconv.GEN_AI_TOOL_CALL_RESULT, captured)
            if _cancelling():  # cancellation is a state, not an error, as on agentloupe's own spans
                span.set_attribute(semconv.CANCELLED, True)
                span.add_event("cancelled")
            span_ending(span)
        except Exception:
            log_telemetry_failure("mcp_v2_span_ending")
        # the span no longer holds this function (which holds the span): no reference cycle
        # left for the garbage collector, whose passes over such spans cost more than the span
        with suppress(AttributeError):
            del span.end
        original(end_time)

    span.end = end  # type: ignore[method-assign]


def _mark_beside(span: Any, error_type: str, message: str) -> None:
    """An error on a library's span: a status the library set stays as it is (its description
    too); agentloupe's finding goes beside it, as ``error.type`` if the library set none."""
    status = getattr(span, "status", None)
    if status is not None and status.status_code is StatusCode.ERROR:
        if semconv.ERROR_TYPE not in attributes_of(span):
            span.set_attribute(semconv.ERROR_TYPE, error_type)
        return
    mark_error(span, error_type, message)


class MCPSpanEnricher(SpanProcessor):
    """Names, attributes, metrics and hooks for the MCP SDK's own spans."""

    def __init__(self, meter_provider: Any = None) -> None:
        self.meter_provider = meter_provider
        self.enabled = True  # an SDK provider cannot remove a processor: uninstrument switches it off
        # The SDK's client spans inside a FastMCP client span of the same request: FastMCP's is the
        # request's span (named and measured); the SDK's stays as its transport-level child.
        self._inner: set[int] = set()
        # FastMCP's client spans by id, and the request their inner SDK span handed them
        self._handed: dict[int, Request] = {}

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        try:
            if not self.enabled or not _is_mcp(span):
                return
            attributes = attributes_of(span)
            if span.kind is SpanKind.CLIENT and _wrapped_by_fastmcp(span, parent_context):
                # FastMCP's span is the request's: the request (its deadline, arguments, answer),
                # which only this inner span sees begin, is handed to it
                self._inner.add(span.context.span_id)
                outer: Any = trace.get_current_span(parent_context)
                request = adopt_request_span(outer)
                # its answer arrives before it ends; nothing is waited for past its end
                _before_end(span, lambda: None, settle=request)
                if request is not None:
                    self._handed[outer.context.span_id] = request  # the last of its requests
                    request_started(request.dispatcher, str(attributes.get(semconv.JSONRPC_REQUEST_ID, "")), outer)
                    if request.method in ROUND_METHODS:  # FastMCP's span is the call; this, a round
                        _expect_answer(span, request)
                        request.logical = outer
                        round_started(span, request)
                    if request.method == "tools/call":
                        _capture_arguments(outer, request)
                span_started(span)
                return
            if span.name.startswith(_CLIENT_PREFIX):
                span.update_name(span.name[len(_CLIENT_PREFIX) :])
            client = span.kind is SpanKind.CLIENT
            request = adopt_request_span(span) if client else None
            span_id = span.context.span_id
            # first: whatever below fails, the span's end still settles what it waits for
            _before_end(span, lambda: request or self._handed.pop(span_id, None))
            added: dict[str, Any] = dict(request_attributes.get() or {}) if client else {}
            if client and request is not None:
                request_started(request.dispatcher, str(attributes.get(semconv.JSONRPC_REQUEST_ID, "")), span)
                if request.method in ROUND_METHODS:
                    request.logical = call_span(trace.get_current_span(parent_context))
                    if request.method != "tools/call":  # (a tool call's answer is awaited below)
                        _expect_answer(span, request)
                    round_started(span, request)
            elif client and attributes.get(semconv.MCP_METHOD_NAME) in ASKS and (asked := asking.get()):
                # a server's request to its client: the direction, what it asks, a person's deadline
                added.update({k: v for k, v in asked[0].items() if k != semconv.JSONRPC_REQUEST_ID})
                if asked[1] is not None:
                    asked[1].span = span
            if attributes.get(semconv.MCP_METHOD_NAME) == "tools/call":
                tool = span.name.partition(" ")[2]
                if tool and semconv.GEN_AI_TOOL_NAME not in attributes:
                    added[semconv.GEN_AI_TOOL_NAME] = tool
                added[semconv.GEN_AI_OPERATION_NAME] = semconv.OP_EXECUTE_TOOL
                if client and (call_id := _tool_call_id(parent_context)):
                    added[semconv.GEN_AI_TOOL_CALL_ID] = call_id
                if request is not None:
                    request.expect_answer(str(attributes.get(semconv.JSONRPC_REQUEST_ID, "")))
                    if (captured := content.render(request.arguments or {})) is not None:
                        added[semconv.GEN_AI_TOOL_CALL_ARGUMENTS] = captured
            if added:
                span.set_attributes(added)
            span_started(span)
        except Exception:
            log_telemetry_failure("mcp_v2_span_start")

    def on_end(self, span: ReadableSpan) -> None:
        try:
            if span.kind is SpanKind.CLIENT and span.context is not None:
                request_ended(span.context.span_id)  # before anything: nothing kept past its end
            if not self.enabled or not _is_mcp(span) or span.start_time is None or span.end_time is None:
                return
            if span.context is not None and span.context.span_id in self._inner:
                self._inner.discard(span.context.span_id)
                return  # measured as the FastMCP span around it
            attributes = attributes_of(span)
            metric_attrs = {semconv.MCP_METHOD_NAME: attributes[semconv.MCP_METHOD_NAME]}
            if tool := attributes.get(semconv.GEN_AI_TOOL_NAME):
                metric_attrs[semconv.GEN_AI_TOOL_NAME] = tool
            if error_type := attributes.get(semconv.ERROR_TYPE):
                metric_attrs[semconv.ERROR_TYPE] = error_type
            seconds = (span.end_time - span.start_time) / 1e9
            if span.kind is SpanKind.SERVER:
                metrics.mcp_server_operation_duration(self.meter_provider).record(seconds, metric_attrs)
            else:
                if direction := attributes.get(semconv.MCP_DIRECTION):  # a server's request to its client
                    metric_attrs[semconv.MCP_DIRECTION] = direction
                metrics.mcp_client_operation_duration(self.meter_provider).record(seconds, metric_attrs)
                if error_type == "tool_error" and tool:
                    metrics.tool_errors(self.meter_provider).add(1, {semconv.GEN_AI_TOOL_NAME: tool})
        except Exception:
            log_telemetry_failure("mcp_v2_span_end")


_installed: tuple[Any, MCPSpanEnricher] | None = None


def instrument_v2(*, tracer_provider: Any = None, meter_provider: Any = None) -> None:
    """Add the enricher to the tracer provider the SDK's spans go to (the global one). Idempotent."""
    global _installed
    instrument_requests()  # deadlines and server-side capture: with or without a tracer provider
    instrument_backchannel_v2(tracer_provider=tracer_provider, meter_provider=meter_provider)
    instrument_rounds_v2(tracer_provider=tracer_provider, meter_provider=meter_provider)
    # a program's provider that agentloupe rides on already runs agentloupe's chain: add to that
    provider = providers.home(tracer_provider or trace.get_tracer_provider())
    if _installed is not None and _installed[0] is provider:
        _installed[1].enabled = True
        return
    enricher = MCPSpanEnricher(meter_provider)
    # first in the chain: a span's start record (trace files) and any exporter see it named
    if not providers.add_first(provider, enricher):
        return  # no SDK provider (telemetry not configured): the SDK's spans are no-ops anyway
    _installed = (provider, enricher)


def uninstrument_v2() -> None:
    """Switch the enricher off (an SDK provider has no way to remove a processor), unwrap requests."""
    uninstrument_requests()
    uninstrument_backchannel_v2()
    uninstrument_rounds_v2()
    if _installed is not None:
        _installed[1].enabled = False
