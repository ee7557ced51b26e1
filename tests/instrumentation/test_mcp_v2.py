"""mcp 2.x in one process: agentloupe adds to the SDK's own spans (never a twin), puts the
watchdog's deadlines, a tool's error result and captured content on both sides, and undoes it all.
(mcp 1.x's patches: test_mcp_patches.py.)"""

import asyncio
import logging

import pytest

from tests.conftest import MCP_GENERATION

if MCP_GENERATION != 2:
    pytest.skip("mcp 2.x's own spans: this runs in the mcp 2 pass of the test command", allow_module_level=True)

from mcp import Client, MCPError
from mcp.client.session import ClientSession
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server._otel import OpenTelemetryMiddleware
from mcp.server.runner import ServerRunner
from mcp.shared import jsonrpc_dispatcher
from mcp.shared.jsonrpc_dispatcher import JSONRPCDispatcher
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentloupe.instrumentation import content, instrument_mcp, uninstrument_mcp
from agentloupe.instrumentation.diagnostics.watchdog import DeadlineExceeded, HangWatchdog, WatchdogConfig
from agentloupe.instrumentation.mcp import requests_v2


@pytest.fixture(scope="module")
def exporter():
    # the SDK's spans go to the global provider: one per process, so it is set once, here
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    spans = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    return spans


@pytest.fixture
def spans(exporter):
    exporter.clear()
    instrument_mcp()
    yield exporter
    uninstrument_mcp()


def _server() -> MCPServer:
    server = MCPServer("plain")

    @server.tool()
    async def add(a: int, b: int) -> int:
        return a + b

    @server.tool()
    async def fail() -> str:
        raise ToolError("always fails")

    @server.tool()
    async def hang() -> str:
        await asyncio.Event().wait()
        return "never"

    return server


def _one(spans, name, kind):
    found = [s for s in spans.get_finished_spans() if s.name == name and s.kind.name == kind]
    assert len(found) == 1, [(s.name, s.kind.name) for s in spans.get_finished_spans()]
    return found[0]


def test_instrument_twice_then_uninstrument_restores_originals():
    seams = lambda: (  # noqa: E731
        ClientSession.send_request, ServerRunner._compose_server_middleware, JSONRPCDispatcher._resolve_pending,
        OpenTelemetryMiddleware.__call__, jsonrpc_dispatcher.inject_trace_context,
    )
    originals = seams()
    instrument_mcp()
    patched = seams()
    instrument_mcp()
    assert seams() == patched and all(p is not o for p, o in zip(patched, originals, strict=True))
    uninstrument_mcp()
    uninstrument_mcp()
    assert seams() == originals


async def test_one_client_and_one_server_span_per_call_named_as_on_mcp_1(spans):
    async with Client(_server(), mode="legacy") as client:
        result = await client.call_tool("add", {"a": 2, "b": 3})
    assert result.content[0].text == "5"
    call, served = _one(spans, "tools/call add", "CLIENT"), _one(spans, "tools/call add", "SERVER")
    assert served.parent.span_id == call.context.span_id
    assert call.attributes["gen_ai.tool.name"] == "add" and call.attributes["gen_ai.operation.name"] == "execute_tool"
    assert not [s for s in spans.get_finished_spans() if s.name.startswith("MCP send tools/call")]


async def test_a_tools_error_result_is_an_error_on_both_sides(spans):
    async with Client(_server(), mode="legacy") as client:
        result = await client.call_tool("fail", {})
    assert result.is_error  # what the caller sees is unchanged
    for kind in ("CLIENT", "SERVER"):
        span = _one(spans, "tools/call fail", kind)
        assert not span.status.is_ok and span.attributes["error.type"] == "tool_error", kind


async def test_captured_content_on_both_sides_only_when_asked(spans, monkeypatch):
    async with Client(_server(), mode="legacy") as client:
        await client.call_tool("add", {"a": 2, "b": 3})
        monkeypatch.setattr(content, "capture_enabled", lambda: True)
        await client.call_tool("add", {"a": 4, "b": 5})
    calls = sorted((s for s in spans.get_finished_spans() if s.name == "tools/call add"), key=lambda s: s.start_time)
    assert all("gen_ai.tool.call.arguments" not in s.attributes for s in calls[:2])  # off by default
    for span in calls[2:]:
        assert '"a": 4' in span.attributes["gen_ai.tool.call.arguments"], span.kind
        assert "9" in span.attributes["gen_ai.tool.call.result"], span.kind


async def test_a_hung_call_is_reported_on_both_spans_with_the_stuck_line(spans):
    config = WatchdogConfig(timeouts={"tool": 0.2}, policy="report", poll_s=0.02)
    async with HangWatchdog(config), Client(_server(), mode="legacy") as client:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(client.call_tool("hang", {}), 1.0)  # the caller gives up itself
    call, served = _one(spans, "tools/call hang", "CLIENT"), _one(spans, "tools/call hang", "SERVER")
    for span in (call, served):
        [hang] = [e for e in span.events if e.name == "hang"]
        assert hang.attributes["agentloupe.hang.kind"] == "tool", span.kind
    assert "in hang" in [e for e in served.events if e.name == "hang"][0].attributes["agentloupe.hang.stuck_at"]


async def test_a_hung_call_is_cancelled_at_its_deadline_and_marked_timeout(spans):
    # one watchdog for both sides: the client's deadline began first, so it is reported (and
    # cancels) first; what the server's does after is not what this test is about
    config = WatchdogConfig(timeouts={"tool": 0.3}, policy="cancel", poll_s=0.02)
    async with HangWatchdog(config), Client(_server(), mode="legacy") as client:
        with pytest.raises(DeadlineExceeded):
            await client.call_tool("hang", {})
        assert (await client.call_tool("add", {"a": 1, "b": 1})).content[0].text == "2"  # the session goes on
    call = _one(spans, "tools/call hang", "CLIENT")
    assert call.attributes["error.type"] == "timeout" and [e for e in call.events if e.name == "hang"]


async def test_a_servers_deadline_answers_an_error_that_says_so_with_no_traceback(spans, monkeypatch, caplog):
    # the server's deadline alone (the client's wrapper taken out): it cancels the tool and answers
    # an MCP error naming the deadline; any other exception the SDK logs with its traceback
    monkeypatch.setattr(ClientSession, "send_request", requests_v2._client.original)
    config = WatchdogConfig(timeouts={"tool": 0.3}, policy="cancel", poll_s=0.02)
    async with HangWatchdog(config), Client(_server(), mode="legacy") as client:
        with pytest.raises(MCPError, match="tool passed its 0.3 s deadline"):
            await client.call_tool("hang", {})
        assert (await client.call_tool("add", {"a": 1, "b": 1})).content[0].text == "2"  # the session goes on
    served = _one(spans, "tools/call hang", "SERVER")
    assert served.attributes["error.type"] == "timeout" and [e for e in served.events if e.name == "hang"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records]


async def test_without_a_watchdog_requests_go_on_as_they_are(spans):
    async with Client(_server(), mode="legacy") as client:
        assert (await client.call_tool("no_such_tool", {})).is_error
        with pytest.raises(MCPError):
            await client.read_resource("nowhere://at-all")
        assert (await client.call_tool("add", {"a": 1, "b": 2})).content[0].text == "3"


async def test_notifications_get_no_server_span(spans):
    async with Client(_server(), mode="legacy") as client:
        await client.call_tool("add", {"a": 1, "b": 2})
    names = [s.name for s in spans.get_finished_spans()]
    assert "tools/call add" in names and not [n for n in names if n.startswith("notifications/")], names


async def test_a_librarys_own_error_status_is_kept_as_it_set_it(spans):
    # FastMCP's client span for a tool's error result carries FastMCP's own status description:
    # agentloupe adds beside it and never overwrites it (compared with the same call untraced)
    from fastmcp import Client as FastMCPClient
    from fastmcp import FastMCP

    server = FastMCP("failing")

    @server.tool
    async def fail() -> str:
        raise ToolError("one failure")

    def statuses() -> dict[tuple[str, str], tuple[str, str | None]]:
        found = {(s.name, s.kind.name): (s.status.status_code.name, s.status.description) for s in spans.get_finished_spans()}
        spans.clear()
        return found

    async def call() -> None:
        async with FastMCPClient(server) as client:
            result = await client.call_tool("fail", {}, raise_on_error=False)
        assert result.is_error

    uninstrument_mcp()
    await call()
    plain = {key: value for key, value in statuses().items() if value[0] == "ERROR"}
    instrument_mcp()
    await call()
    traced = statuses()
    assert plain, "FastMCP set no error status: nothing to keep"
    for (name, kind), status in plain.items():
        renamed = name.removeprefix("MCP send ")
        assert traced.get((name, kind), traced.get((renamed, kind))) == status, (name, kind, traced)
