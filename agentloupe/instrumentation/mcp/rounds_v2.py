"""Input-required rounds on mcp 2.x (the 2026-07-28 protocol, SEP-2322).

A server that needs its client's model, roots or a person answers a ``tools/call`` (also a
``prompts/get``, a ``resources/read``) with an ``InputRequiredResult``; the client fulfils the
requests embedded in it and sends the call again with the answers. One logical call, several
requests:

- each round is the SDK's CLIENT span of its request (its SERVER span under it), numbered
  (``agentloupe.mcp.input_required.round``); a round answered with input required says what
  the server asked for (``...asked``);
- what the client does between rounds, each embedded request fulfilled, is a span of its own
  (``sampling/createMessage``, ``elicitation/create``, ``roots/list``; direction
  ``input_required``) with the callback's own spans inside it and a refusal marked on it; while
  it runs, the deadlines of the call stop their clocks (waiting on a person is not a hang);
- the span the rounds share (FastMCP's client span for the call, the agent's tool span) counts
  them (``...rounds``);
- a retry whose round was asked in another run (``langchain.mcp``'s interrupt, resumed by another
  process) links to that round (``resumes.py``).

Seams (mcp 2.3): ``ClientSession.dispatch_input_request``, which the SDK's driver
(``run_input_required_driver``, for ``mcp.Client`` and FastMCP's ``Client``) goes through; a
retry is told by its params (``request_state``, ``input_responses``: ``requests_v2.py``) and
numbered as its span starts (``v2.py``).
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from typing import Any

from mcp.client.session import ClientSession
from opentelemetry.trace import SpanKind

from agentloupe.instrumentation import semconv
from agentloupe.instrumentation.mcp import resumes
from agentloupe.instrumentation.mcp.backchannel import (
    record_duration,
    request_attributes,
    waiting_on_client,
    waits_for,
)
from agentloupe.instrumentation.mcp.backchannel_v2 import answered, answering_backchannel
from agentloupe.instrumentation.patching import MethodPatch, log_telemetry_failure
from agentloupe.instrumentation.spans import attributes_of, error_type_of, mark_error, traced
from agentloupe.instrumentation.telemetry import metrics

#: The requests a server may answer with InputRequiredResult
ROUND_METHODS = frozenset({"tools/call", "prompts/get", "resources/read"})
_dispatch = MethodPatch(ClientSession, "dispatch_input_request")


def is_retry(params: Any) -> bool:
    """Does a request carry a previous round's answers (``request_state``, ``input_responses``)?"""
    return getattr(params, "request_state", None) is not None or bool(getattr(params, "input_responses", None))


#: The number of the latest round sent from this task, for rounds no call span counts (the SDK's
#: driver sends them one after the other, from the caller's task): a retry is the next one
_round: ContextVar[int] = ContextVar("agentloupe_mcp_round", default=0)


def call_span(parent: Any) -> Any:
    """``parent`` if it is the span of one logical call (FastMCP's client span for it, the agent's
    tool span), which counts its rounds; else None (a program's own span may hold many calls)."""
    attributes = attributes_of(parent)
    if attributes.get(semconv.MCP_METHOD_NAME) in ROUND_METHODS and getattr(parent, "kind", None) is SpanKind.CLIENT:
        return parent
    return parent if attributes.get(semconv.GEN_AI_OPERATION_NAME) == semconv.OP_EXECUTE_TOOL else None


def round_started(span: Any, request: Any) -> None:
    """A request that may take rounds starts (``request``: ``requests_v2.Request``, its
    ``logical`` set); a retry is numbered, counted on the logical call, and linked to the round it
    answers if an earlier run (another process) sent that one."""
    logical = request.logical
    if logical is not None:  # its count: a client may send each round from a task of its own (FastMCP)
        rounds = attributes_of(logical).get(semconv.MCP_ROUNDS)
        previous = rounds if isinstance(rounds, int) else 1
    else:
        previous = _round.get()
    number = previous + 1 if request.retry else 1
    _round.set(number)
    if request.retry:
        span.set_attribute(semconv.MCP_ROUND, number)
        if logical is not None and logical.is_recording():
            logical.set_attribute(semconv.MCP_ROUNDS, number)
        if request.answering:
            for link in resumes.retried(request.method, request.target, request.answering):
                span.add_link(link.context, link.attributes)


def round_answered(span: Any, request: Any) -> None:
    """A round's answer arrived (``request.answered``: the result as the dispatcher received it),
    just before its span ends: an InputRequiredResult says what it asks; the first such round is
    round 1."""
    answer, logical = request.answered, request.logical
    if not isinstance(answer, dict) or answer.get("resultType") != "input_required":
        return
    asked = answer.get("inputRequests")
    requests = asked.values() if isinstance(asked, dict) else ()
    methods = sorted({str(r.get("method")) for r in requests if isinstance(r, dict)})
    span.set_attribute(semconv.MCP_ROUND_ASKED, methods or ["request_state"])
    if semconv.MCP_ROUND not in attributes_of(span):
        span.set_attribute(semconv.MCP_ROUND, 1)
        if logical is not None and logical.is_recording():
            logical.set_attribute(semconv.MCP_ROUNDS, 1)
    if isinstance(asked, dict) and asked:
        resumes.asked(request.method, request.target, list(asked), span.get_span_context())


def _answer_of(result: Any) -> dict[str, Any] | None:
    """The callback's answer as the wire has it (``action``, ``model``), or an error's code."""
    if hasattr(result, "model_dump"):
        return result.model_dump(mode="json", by_alias=True, exclude_none=True)
    return None


async def _dispatch_input_request(self: Any, ctx: Any, request: Any) -> Any:
    original = _dispatch.original
    assert original is not None
    if answering_backchannel.get():
        return await original(self, ctx, request)
    try:
        method = str(getattr(request, "method", ""))
        message = getattr(getattr(request, "params", None), "message", "") or ""
        attrs = request_attributes(method, "", message)
        attrs.pop(semconv.JSONRPC_REQUEST_ID, None)  # embedded: no request of its own on the wire
        attrs[semconv.MCP_DIRECTION] = semconv.DIRECTION_INPUT_REQUIRED
        attrs[semconv.MCP_INPUT_REQUEST_KEY] = str(getattr(ctx, "request_id", ""))
        what = waits_for(method, message)
    except Exception:
        log_telemetry_failure("mcp_v2_input_request_attributes")
        return await original(self, ctx, request)
    started = time.perf_counter()
    error_type: str | None = None
    try:
        provider = _dispatch.tracer_provider
        with traced(method, kind=SpanKind.INTERNAL, attributes=attrs, tracer_provider=provider) as span:
            # the call's deadlines (this task's) stop their clocks while the answer is awaited
            with waiting_on_client(method, what, bounded=False):
                answer = await original(self, ctx, request)
            try:
                error_type = _settled(span, answer)
            except Exception:
                log_telemetry_failure("mcp_v2_input_request_answer")
            return answer
    except BaseException as exc:
        error_type = error_type or error_type_of(exc)
        raise
    finally:
        histogram = metrics.mcp_server_operation_duration
        direction = semconv.DIRECTION_INPUT_REQUIRED
        record_duration(histogram, _dispatch.meter_provider, method, error_type, started, direction=direction)


def _settled(span: Any, answer: Any) -> str | None:
    """The answer on the span; a refusal (``ErrorData``, a declined elicitation) marks it."""
    code = getattr(answer, "code", None)
    if isinstance(code, int) and hasattr(answer, "message"):  # ErrorData: the callback refused
        span.set_attribute(semconv.RPC_JSONRPC_ERROR_CODE, code)
        mark_error(span, str(code), str(answer.message))
        return str(code)
    return answered(span, _answer_of(answer))


def instrument_rounds_v2(*, tracer_provider: Any = None, meter_provider: Any = None) -> None:
    """Patch the client's dispatch of embedded input requests. Idempotent. (An mcp 2 release
    before input-required rounds has no such dispatch: nothing to trace.)"""
    if hasattr(ClientSession, "dispatch_input_request"):
        _dispatch.install(_dispatch_input_request, tracer_provider=tracer_provider, meter_provider=meter_provider)


def uninstrument_rounds_v2() -> None:
    _dispatch.uninstall()
