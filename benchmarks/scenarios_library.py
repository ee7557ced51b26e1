"""`instrument_mcp()` on a user's own plain `ClientSession`, against no instrumentation, against one
bare SDK span per call (the floor of any span-per-call instrumentation) and against OpenLLMetry's
MCP instrumentation, on the same plain FastMCP server (no agentloupe in it).

Client side only (the server is plain). One process, one session. Each instrumentation is installed
once; the variants then take turns call by call (in an order that rotates every call), switched by
putting the patched or the plain method on the class between calls, outside the timed region.
Interleaving per call, not per block of calls, is what makes a difference of a few percent visible
on a 2-core machine whose speed drifts by more than that within seconds. The figure is the median of
the per-round medians. Spans go to the SDK with a batch processor and an exporter that drops them
(the cost of making spans, not of sending them).
"""

from __future__ import annotations

import statistics
import sys
import time
from collections import Counter

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


async def instrumented_client(results: Results, rounds: int, calls: int) -> None:
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client
    from mcp.shared.session import BaseSession
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    from agentloupe.instrumentation import instrument_mcp, uninstrument_mcp

    made: Counter[str] = Counter()

    class Dropped(SpanExporter):
        """Counts the spans (by instrumentation scope: was each variant really on?) and drops them."""

        def export(self, spans):  # type: ignore[no-untyped-def]
            made.update(span.instrumentation_scope.name for span in spans if span.instrumentation_scope)
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Dropped()))
    uninstrument_mcp()  # the benchmark process instruments itself elsewhere: start plain
    plain_send_request = BaseSession.__dict__["send_request"]
    assert "send_request" not in vars(ClientSession), "ClientSession is patched by something else"
    # Each instrumentation's patched method, taken once; `methods[name]` = (ClientSession's, BaseSession's).
    # agentloupe stays installed (its method calls the original it saved) and is switched by `use`.
    bare = provider.get_tracer("bare")

    async def one_bare_span(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        """The floor of any instrumentation that makes a span per call: one SDK span, nothing else."""
        with bare.start_as_current_span("call"):
            return await plain_send_request(self, *args, **kwargs)

    instrument_mcp(tracer_provider=provider)
    methods = {
        "plain": (None, plain_send_request),
        "one bare span": (one_bare_span, plain_send_request),
        "agentloupe": (vars(ClientSession)["send_request"], plain_send_request),
    }
    if openllmetry_available():
        from opentelemetry.instrumentation.mcp import McpInstrumentor

        openllmetry = McpInstrumentor()
        openllmetry.instrument(tracer_provider=provider)
        methods["OpenLLMetry"] = (None, BaseSession.__dict__["send_request"])
        # 0.62.4's uninstrument() leaves BaseSession.send_request wrapped: put the plain one back.
        openllmetry.uninstrument()
        BaseSession.send_request = plain_send_request  # type: ignore[method-assign]
    else:
        print(f"  OpenLLMetry comparison skipped: {OPENLLMETRY} is not installed (.venv/bin/pip install -e '.[bench]')")

    def use(name: str) -> None:
        own, inherited = methods[name]
        BaseSession.send_request = inherited  # type: ignore[method-assign]
        if own is None:
            if "send_request" in vars(ClientSession):
                del ClientSession.send_request
        else:
            ClientSession.send_request = own  # type: ignore[method-assign]

    names = list(methods)
    walls: dict[str, list[float]] = {name: [] for name in names}  # per-round medians, ms
    cpus: dict[str, list[float]] = {name: [] for name in names}  # the client thread's CPU, same
    params = StdioServerParameters(command=sys.executable, args=["-c", PLAIN_SERVER])
    try:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            with trace.use_span(provider.get_tracer("bench").start_span("round"), end_on_exit=True):
                for call in range(20 * len(names)):  # warm up: output-schema cache, code paths
                    use(names[call % len(names)])
                    await session.call_tool("add", {"a": 2, "b": 3})
                for _ in range(rounds):
                    wall: dict[str, list[float]] = {name: [] for name in names}
                    cpu: dict[str, list[float]] = {name: [] for name in names}
                    for call in range(calls):
                        turn = call % len(names)
                        for name in names[turn:] + names[:turn]:
                            use(name)
                            started, cpu_started = time.perf_counter(), time.thread_time()
                            await session.call_tool("add", {"a": 2, "b": 3})
                            wall[name].append((time.perf_counter() - started) * 1000)
                            cpu[name].append((time.thread_time() - cpu_started) * 1000)
                    for name in names:
                        walls[name].append(statistics.median(wall[name]))
                        cpus[name].append(statistics.median(cpu[name]))
    finally:
        use("agentloupe")  # as installed, so that it is undone exactly
        uninstrument_mcp()
        provider.shutdown()
        instrument_mcp()  # as the rest of the benchmarks expect
    timed = rounds * calls
    scopes = {
        "one bare span": "bare",
        "agentloupe": "agentloupe",
        "OpenLLMetry": "opentelemetry.instrumentation.mcp.instrumentation",
    }
    for name, scope in scopes.items():
        if name in methods and made[scope] < timed:
            raise RuntimeError(f"{name} made {made[scope]} spans for {timed} calls: it was not on")
    scenario = "instrument_mcp() on a plain ClientSession"
    for name in names:
        results.add(scenario, f"{name}: per call (median of {rounds} medians)", walls[name])
    for name in names:
        results.add(scenario, f"{name}: client CPU per call", cpus[name])
    for name in names[1:]:
        added = (statistics.median(walls[name]) / statistics.median(walls["plain"]) - 1) * 100
        note = "target <= +3%" if name == "agentloupe" else ""
        results.add(scenario, f"added by {name}", [added], unit="%", note=note)
        cpu_added = (statistics.median(cpus[name]) - statistics.median(cpus["plain"])) * 1000
        results.add(scenario, f"client CPU added by {name}", [cpu_added], unit="us")
    if "OpenLLMetry" in walls:
        agentloupe, openllmetry = walls["agentloupe"], walls["OpenLLMetry"]
        results.ratio(scenario, "agentloupe / OpenLLMetry", agentloupe, openllmetry, note="target < 1x")


def mcp2_client(results: Results, rounds: int, calls: int) -> None:
    """The mcp 2.x per-call figures (``benchmarks/mcp2_calls.py``), run by the mcp 2 venv's interpreter."""
    import json
    import os
    import subprocess
    from pathlib import Path

    scenario = "tool call on mcp 2.x"
    python = Path(os.environ.get("AGENTLOUPE_MCP2_VENV", ".venv-mcp2")) / "bin" / "python"
    if not python.exists():
        print(f"  {scenario}: skipped, no mcp 2 venv at {python.parent.parent} (bash scripts/test.sh makes it)")
        return
    done = subprocess.run(
        [str(python), "-m", "benchmarks.mcp2_calls", str(rounds), str(calls)],
        capture_output=True, text=True, timeout=900, check=True,
    )
    data = json.loads(done.stdout.strip().splitlines()[-1])
    per_round = data["per_round_ms"]
    note = "median of per-round medians; variants interleaved call by call"
    for variant in ("plain", "sdk", "agentloupe"):
        results.add(scenario, f"{variant} call", per_round[variant], note=note)
    results.ratio(scenario, "agentloupe / the SDK's own span", per_round["agentloupe"], per_round["sdk"])
    results.ratio(scenario, "agentloupe / plain (no span recorded)", per_round["agentloupe"], per_round["plain"])
