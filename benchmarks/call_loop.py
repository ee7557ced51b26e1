"""One program as a user writes it: an MCP client calling ``add`` in a loop, its server in the
same process (``memory``) or a stdio child (``stdio``), on either MCP generation.

    python benchmarks/call_loop.py mcp2 memory [calls]
    loupe exec --no-tree -- python benchmarks/call_loop.py mcp2 stdio

``CALL_LOOP_OTEL=sdk`` makes the program (and its stdio server) set up the OpenTelemetry SDK as its
own code would: a ``TracerProvider`` with a ``BatchSpanProcessor`` and an exporter that drops.
Without it the program sets up nothing (what ``loupe exec`` or ``opentelemetry-instrument`` then
adds is theirs). Prints one JSON line on stdout: the median wall time per call and the process's CPU time per call
(all its threads; a stdio server's are its own), in ms, after 50 warm-up calls.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time

WARMUP = 50


def own_sdk() -> None:
    """The SDK's own spans, recorded: a batch processor and an exporter that drops them."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    class Dropped(SpanExporter):
        def export(self, spans):  # type: ignore[no-untyped-def]
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Dropped()))
    trace.set_tracer_provider(provider)


def server(stack: str):  # type: ignore[no-untyped-def]
    if stack == "mcp2":
        from fastmcp import FastMCP

        mcp = FastMCP("calls")
    else:
        from mcp.server.fastmcp import FastMCP as FastMCP1

        mcp = FastMCP1("calls", log_level="WARNING")  # (its default logs every request)

    @mcp.tool()
    async def add(a: float, b: float) -> float:
        """Add two numbers: a + b."""
        return a + b

    return mcp


async def timed(call, calls: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """The median wall time per call, and the process's CPU time per call (all its threads), in ms."""
    for _ in range(WARMUP):
        await call()
    times = []
    cpu = time.process_time()
    for _ in range(calls):
        started = time.perf_counter()
        await call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000, (time.process_time() - cpu) / calls * 1000


async def mcp2(transport: str, calls: int) -> tuple[float, float]:
    from fastmcp import Client
    from fastmcp.client.transports import StdioTransport

    target = server("mcp2") if transport == "memory" else StdioTransport(sys.executable, [__file__, "serve", "mcp2"])
    async with Client(target) as client:
        return await timed(lambda: client.call_tool("add", {"a": 1, "b": 2}), calls)


async def mcp1(transport: str, calls: int) -> tuple[float, float]:
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client
    from mcp.shared.memory import create_connected_server_and_client_session

    if transport == "memory":
        async with create_connected_server_and_client_session(server("mcp1")._mcp_server) as session:
            return await timed(lambda: session.call_tool("add", {"a": 1, "b": 2}), calls)
    params = StdioServerParameters(command=sys.executable, args=[__file__, "serve", "mcp1"], env=dict(os.environ))
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        return await timed(lambda: session.call_tool("add", {"a": 1, "b": 2}), calls)


def main() -> None:
    if os.environ.get("CALL_LOOP_OTEL") == "sdk":
        own_sdk()
    if sys.argv[1] == "serve":
        mcp = server(sys.argv[2])
        if sys.argv[2] == "mcp2":
            mcp.run(show_banner=False, log_level="WARNING")
        else:
            mcp.run()
        return
    stack, transport = sys.argv[1], sys.argv[2]
    calls = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    loop = mcp2 if stack == "mcp2" else mcp1
    wall, cpu = asyncio.run(loop(transport, calls))
    print(json.dumps({"stack": stack, "transport": transport, "per_call_ms": wall, "cpu_per_call_ms": cpu}))


if __name__ == "__main__":
    main()
