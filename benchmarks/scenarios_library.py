"""`instrument_mcp()` on a user's own plain `ClientSession`, against no instrumentation and against
OpenLLMetry's MCP instrumentation, on the same plain FastMCP server (no agentloupe in it).

Client side only (the server is plain). One process, one session; per round: a block of calls
plain, one with agentloupe, one with OpenLLMetry (each instrumentation switched on and off around
its block), in an order that rotates from round to round so no variant always goes first; the
figure is the median of the per-block medians. Spans go to the SDK with a
batch processor and an exporter that drops them (the cost of making spans, not of sending them).
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Awaitable, Callable

from benchmarks.harness import Results

PLAIN_SERVER = """
from mcp.server.fastmcp import FastMCP
mcp = FastMCP("plain", log_level="WARNING")

@mcp.tool()
async def add(a: float, b: float) -> int | float:
    'Add two numbers: a + b.'
    total = a + b
    return int(total) if total.is_integer() else total

mcp.run("stdio")
"""
OPENLLMETRY = "opentelemetry-instrumentation-mcp"


def openllmetry_available() -> bool:
    try:
        import opentelemetry.instrumentation.mcp  # noqa: F401
    except ImportError:
        return False
    return True


async def _block(call: Callable[[], Awaitable[object]], calls: int) -> float:
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


async def instrumented_client(results: Results, rounds: int, calls: int) -> None:
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    from agentloupe.instrumentation import instrument_mcp, uninstrument_mcp

    class Dropped(SpanExporter):
        def export(self, spans):  # type: ignore[no-untyped-def]
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Dropped()))
    uninstrument_mcp()  # the benchmark process instruments itself elsewhere: start plain
    compare = openllmetry_available()
    if not compare:
        print(f"  OpenLLMetry comparison skipped: {OPENLLMETRY} is not installed (.venv/bin/pip install -e '.[bench]')")
    medians: dict[str, list[float]] = {"plain": [], "agentloupe": []} | ({"OpenLLMetry": []} if compare else {})
    params = StdioServerParameters(command=sys.executable, args=["-c", PLAIN_SERVER])
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()

        async def add() -> object:
            return await session.call_tool("add", {"a": 2, "b": 3})

        for _ in range(20):
            await add()  # warm up: output-schema cache, connection
        async def plain() -> float:
            return await _block(add, calls)

        async def with_agentloupe() -> float:
            instrument_mcp(tracer_provider=provider)
            try:
                with trace.use_span(provider.get_tracer("bench").start_span("round"), end_on_exit=True):
                    return await _block(add, calls)
            finally:
                uninstrument_mcp()

        async def with_openllmetry() -> float:
            from opentelemetry.instrumentation.mcp import McpInstrumentor

            openllmetry = McpInstrumentor()
            openllmetry.instrument(tracer_provider=provider)
            try:
                with trace.use_span(provider.get_tracer("bench").start_span("round"), end_on_exit=True):
                    return await _block(add, calls)
            finally:
                openllmetry.uninstrument()

        variants = [("plain", plain), ("agentloupe", with_agentloupe), ("OpenLLMetry", with_openllmetry)]
        variants = [(name, run) for name, run in variants if name in medians]
        for round_ in range(rounds):
            turn = round_ % len(variants)
            for name, run in variants[turn:] + variants[:turn]:
                medians[name].append(await run())
    provider.shutdown()
    instrument_mcp()  # as the rest of the benchmarks expect
    scenario = "instrument_mcp() on a plain ClientSession"
    plain = statistics.median(medians["plain"])
    for name, series in medians.items():
        results.add(scenario, f"{name}: per call (median of {rounds} medians)", series)
    for name in [name for name in medians if name != "plain"]:
        added = (statistics.median(medians[name]) / plain - 1) * 100
        note = "target <= +3%" if name == "agentloupe" else ""
        results.add(scenario, f"added by {name}", [added], unit="%", note=note)
    if compare:
        agentloupe, openllmetry = medians["agentloupe"], medians["OpenLLMetry"]
        results.ratio(scenario, "agentloupe / OpenLLMetry", agentloupe, openllmetry, note="target < 1x")
