"""Per-call cost on mcp 2.x: a plain mcp 2 client against the SDK's own spans and agentloupe's.

Run by ``python -m benchmarks`` with the mcp 2 venv's interpreter (``.venv-mcp2``, made by
``scripts/test.sh``), or by hand: ``.venv-mcp2/bin/python -m benchmarks.mcp2_calls [rounds] [calls]``.

One process, one ``ClientSession`` to a plain FastMCP 4 stdio server (no agentloupe in it), one
tracer provider (batch processor, an exporter that drops: the cost of making spans, not of sending
them). Three variants take turns call by call, in an order that rotates every call, switched
between calls outside the timed region:

- plain: the sampler drops every span (the SDK's spans are non-recording: what a process with no
  tracing pays);
- sdk: the SDK's own CLIENT span is recorded (what mcp 2 does once a provider is set);
- agentloupe: the same span, plus agentloupe's enricher (name, attributes, hooks, metrics) and
  what it sets around each request (``requests_v2``: the watchdog's deadline, the answer kept for
  the span). Those wrappers are put in for this variant's calls alone; the hang watchdog runs
  for all three (its thread is there in every variant; only agentloupe's calls open deadlines).

Prints one JSON line: medians of the per-round medians, in ms, and the ratios.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

SERVER = """
from fastmcp import FastMCP
mcp = FastMCP("plain")

@mcp.tool
async def add(a: float, b: float) -> float:
    'Add two numbers: a + b.'
    return a + b

mcp.run(show_banner=False, log_level="WARNING")
"""
VARIANTS = ("plain", "sdk", "agentloupe")


async def measure(rounds: int, calls: int) -> dict[str, object]:
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, Sampler

    from agentloupe.instrumentation.diagnostics.watchdog import HangWatchdog, WatchdogConfig
    from agentloupe.instrumentation.mcp import requests_v2, v2

    made: Counter[str] = Counter()

    class Dropped(SpanExporter):
        def export(self, spans):  # type: ignore[no-untyped-def]
            made.update(span.name for span in spans)
            return SpanExportResult.SUCCESS

    class Switch(Sampler):
        on = False

        def should_sample(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            return (ALWAYS_ON if self.on else ALWAYS_OFF).should_sample(*args, **kwargs)

        def get_description(self) -> str:
            return "switch"

    sampler = Switch()
    provider = TracerProvider(sampler=sampler)
    provider.add_span_processor(BatchSpanProcessor(Dropped()))
    trace.set_tracer_provider(provider)
    v2.instrument_v2(tracer_provider=provider)
    enricher = v2._installed[1] if v2._installed else None
    assert enricher is not None

    def use(variant: str) -> None:
        sampler.on = variant != "plain"
        enricher.enabled = variant == "agentloupe"
        if variant == "agentloupe":
            requests_v2.instrument_requests()
        else:
            requests_v2.uninstrument_requests()

    with tempfile.TemporaryDirectory() as scratch:
        script = Path(scratch) / "plain_server.py"
        script.write_text(SERVER)
        params = StdioServerParameters(command=sys.executable, args=[str(script)])
        async with (
            HangWatchdog(WatchdogConfig()),
            stdio_client(params) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            await session.list_tools()
            per_round: dict[str, list[float]] = {v: [] for v in VARIANTS}
            for _ in range(rounds):
                times: dict[str, list[float]] = {v: [] for v in VARIANTS}
                for i in range(calls):
                    variant = VARIANTS[i % 3] if (i // 3) % 2 == 0 else VARIANTS[(2 - i) % 3]
                    use(variant)
                    started = time.perf_counter()
                    await session.call_tool("add", {"a": 1, "b": 2})
                    times[variant].append(time.perf_counter() - started)
                for variant in VARIANTS:
                    per_round[variant].append(statistics.median(times[variant]))
    provider.force_flush()
    ms = {v: round(statistics.median(per_round[v]) * 1000, 3) for v in VARIANTS}
    # each variant really was on: the recorded CLIENT spans carry agentloupe's name only when enriched
    assert made["MCP send tools/call add"] > 0 and made["tools/call add"] > 0, made
    return {
        "scenario": "tool call on mcp 2.x (stdio, FastMCP 4 server)",
        "rounds": rounds,
        "calls_per_round": calls,
        "median_ms": ms,
        "per_round_ms": {v: [round(x * 1000, 4) for x in per_round[v]] for v in VARIANTS},
        "sdk_vs_plain": round(ms["sdk"] / ms["plain"], 3),
        "agentloupe_vs_sdk": round(ms["agentloupe"] / ms["sdk"], 3),
        "agentloupe_vs_plain": round(ms["agentloupe"] / ms["plain"], 3),
    }


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    calls = int(sys.argv[2]) if len(sys.argv) > 2 else 150
    print(json.dumps(asyncio.run(measure(rounds, calls))), flush=True)


if __name__ == "__main__":
    main()
