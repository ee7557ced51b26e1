"""instrument/uninstrument are undoable and idempotent; _meta is merged, never mutated.
(mcp 2.x keeps its own spans and gets no such patches: test_mcp_v2.py.)"""

import pytest

from tests.conftest import MCP_GENERATION

if MCP_GENERATION != 1:
    pytest.skip("mcp 1.x's patches: mcp 2.x's own spans are tested in test_mcp_v2.py", allow_module_level=True)

from mcp import ClientSession, types
from mcp.server.lowlevel.server import Server
from mcp.server.session import ServerSession
from opentelemetry import baggage, context, propagate, trace
from opentelemetry.propagators.textmap import TextMapPropagator, default_setter
from opentelemetry.sdk.trace import TracerProvider

from agentloupe.instrumentation import instrument_mcp, uninstrument_mcp
from agentloupe.instrumentation.mcp.client_v1 import with_trace_context


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
    caller_meta, fields_set = request.root.params.meta, set(request.root.params.model_fields_set)
    with trace.use_span(tracer.start_span("x"), end_on_exit=True) as span:
        sent = with_trace_context(request, span)
    meta = sent.root.params.meta.model_dump()
    assert meta["progressToken"] == 7
    assert meta["traceparent"].split("-")[1] == format(span.get_span_context().trace_id, "032x")
    assert "traceparent" not in request.root.params.meta.model_dump()
    assert sent.root.params.name == "add" and sent.root.params.arguments == {"a": 1}
    assert request.root.params.meta is caller_meta and request.root.params.model_fields_set == fields_set


def _injected(span) -> dict[str, str]:
    carrier: dict[str, str] = {}
    with trace.use_span(span):
        propagate.inject(carrier)
    return carrier


def _sent_meta(span) -> dict[str, str]:
    request = types.ClientRequest(types.CallToolRequest(params=types.CallToolRequestParams(name="add", arguments={})))
    with trace.use_span(span):
        sent = with_trace_context(request, span)
    return {key: value for key, value in sent.root.params.meta.model_dump().items() if value is not None}


def test_the_default_propagators_fast_path_sends_what_propagate_inject_makes():
    tracer = TracerProvider().get_tracer("t")
    plain = tracer.start_span("plain")
    assert _sent_meta(plain) == _injected(plain)
    parent = trace.NonRecordingSpan(
        trace.SpanContext(
            0x0AF7651916CD43DD8448EB211C80319C,
            0xB7AD6B7169203331,
            is_remote=True,
            trace_flags=trace.TraceFlags(1),
            trace_state=trace.TraceState([("vendor", "value")]),
        )
    )
    child = tracer.start_span("child", context=trace.set_span_in_context(parent))
    with_state = _sent_meta(child)
    assert with_state == _injected(child) and with_state["tracestate"] == "vendor=value"
    token = context.attach(baggage.set_baggage("user", "ada"))
    try:
        with_baggage = _sent_meta(plain)
        assert with_baggage == _injected(plain) and with_baggage["baggage"] == "user=ada"
        no_span = _sent_meta(trace.INVALID_SPAN)  # no SDK, no parent: the baggage still travels
        assert no_span == _injected(trace.INVALID_SPAN) == {"baggage": "user=ada"}
    finally:
        context.detach(token)


def test_a_propagator_the_user_set_is_the_one_used():
    class Custom(TextMapPropagator):
        def inject(self, carrier, context=None, setter=default_setter):
            setter.set(carrier, "x-custom", "yes")

        def extract(self, carrier, context=None, getter=None):
            return context

        @property
        def fields(self):
            return {"x-custom"}

    before = propagate.get_global_textmap()
    propagate.set_global_textmap(Custom())
    try:
        assert _sent_meta(TracerProvider().get_tracer("t").start_span("x")) == {"x-custom": "yes"}
    finally:
        propagate.set_global_textmap(before)


def test_requests_without_params_get_meta():
    provider = TracerProvider()
    with trace.use_span(provider.get_tracer("t").start_span("x"), end_on_exit=True):
        sent = with_trace_context(types.ClientRequest(types.ListToolsRequest()), trace.get_current_span())
    assert "traceparent" in sent.root.params.meta.model_dump()


def test_uninstrument_leaves_an_inherited_method_inherited():
    """A later patch of BaseSession (by another library) must stay visible through ClientSession."""
    from mcp.shared.session import BaseSession

    assert "send_request" not in vars(ClientSession)
    instrument_mcp()
    assert "send_request" in vars(ClientSession)
    uninstrument_mcp()
    assert "send_request" not in vars(ClientSession)
    assert ClientSession.send_request is BaseSession.send_request


def _in_memory_server():
    from mcp.server.fastmcp import FastMCP

    server = FastMCP("t", log_level="WARNING")

    @server.tool()
    async def add(a: int, b: int) -> int:
        return a + b

    return server


# A broken `_attributes` sends the request uninstrumented: `with_trace_context` is then never
# reached. So each client-side function is broken in a run of its own (the server side in both).
@pytest.mark.parametrize("client_function", ["_attributes", "with_trace_context"])
async def test_failing_telemetry_code_never_fails_the_call(monkeypatch, client_function):
    from mcp.shared.memory import create_connected_server_and_client_session

    from agentloupe.instrumentation.mcp import client_v1 as mcp_client
    from agentloupe.instrumentation.mcp import server_v1 as mcp_server

    ran: list[str] = []

    def broken(name: str):
        def raising(*args, **kwargs):
            ran.append(name)
            raise RuntimeError(f"{name} broke")

        return raising

    monkeypatch.setattr(mcp_client, client_function, broken(client_function))
    monkeypatch.setattr(mcp_server, "_request_span", broken("_request_span"))
    instrument_mcp()
    try:
        async with create_connected_server_and_client_session(_in_memory_server()) as session:
            result = await session.call_tool("add", {"a": 2, "b": 3})
    finally:
        uninstrument_mcp()
    assert not result.isError and result.content[0].text == "5"
    # the broken code did run (and raise) on both sides: the call went through regardless
    assert client_function in ran and "_request_span" in ran


async def test_result_recording_that_raises_still_returns_the_result(monkeypatch):
    from mcp.shared.memory import create_connected_server_and_client_session
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from agentloupe.instrumentation.mcp import client_v1 as mcp_client

    def broken(*args, **kwargs):
        raise RuntimeError("recording broke")

    monkeypatch.setattr(mcp_client, "_record_result", broken)
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrument_mcp(tracer_provider=provider)
    try:
        async with create_connected_server_and_client_session(_in_memory_server()) as session:
            result = await session.call_tool("add", {"a": 2, "b": 3})
    finally:
        uninstrument_mcp()
    assert result.content[0].text == "5"
    # the spans went to the provider passed in, client and server side
    names = sorted((s.name, s.kind.name) for s in exporter.get_finished_spans())
    assert ("tools/call add", "CLIENT") in names and ("tools/call add", "SERVER") in names
