"""instrument/uninstrument are undoable and idempotent; _meta is merged, never mutated."""

from mcp import ClientSession, types
from mcp.server.lowlevel.server import Server
from mcp.server.session import ServerSession
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from agentloupe.instrumentation import instrument_mcp, uninstrument_mcp
from agentloupe.instrumentation.mcp_client import _with_trace_context


def test_instrument_twice_then_uninstrument_restores_originals():
    originals = (ClientSession.send_request, Server._handle_request, ServerSession._received_request)
    instrument_mcp()
    patched = (ClientSession.send_request, Server._handle_request, ServerSession._received_request)
    instrument_mcp()
    assert (ClientSession.send_request, Server._handle_request, ServerSession._received_request) == patched
    assert patched[0] is not originals[0]
    uninstrument_mcp()
    uninstrument_mcp()
    assert (ClientSession.send_request, Server._handle_request, ServerSession._received_request) == originals


def test_trace_context_merged_into_meta_without_touching_the_request():
    provider = TracerProvider()
    tracer = provider.get_tracer("t")
    request = types.ClientRequest(
        types.CallToolRequest(params=types.CallToolRequestParams(name="add", arguments={"a": 1}, _meta={"progressToken": 7}))
    )
    with trace.use_span(tracer.start_span("x"), end_on_exit=True) as span:
        sent = _with_trace_context(request)
    meta = sent.root.params.meta.model_dump()
    assert meta["progressToken"] == 7
    assert meta["traceparent"].split("-")[1] == format(span.get_span_context().trace_id, "032x")
    assert "traceparent" not in request.root.params.meta.model_dump()


def test_requests_without_params_get_meta():
    provider = TracerProvider()
    with trace.use_span(provider.get_tracer("t").start_span("x"), end_on_exit=True):
        sent = _with_trace_context(types.ClientRequest(types.ListToolsRequest()))
    assert "traceparent" in sent.root.params.meta.model_dump()
