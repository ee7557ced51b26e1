"""Startup, tool-call latency against langchain-mcp-adapters' default path, tracing overhead."""

from __future__ import annotations

import statistics
import time

from langchain_mcp_adapters.client import MultiServerMCPClient

from agentloupe.instrumentation import instrument_mcp, uninstrument_mcp
from benchmarks.fixtures import PYTHON, plain_math, pool, servers, tool
from benchmarks.harness import Results, interleaved


async def startup(results: Results, runs: int) -> None:
    """All bundled servers ready vs the slowest single server alone (interleaved)."""

    def opener(*names: str):
        async def work() -> None:
            async with pool(servers(*names)):
                pass

        return work

    samples = await interleaved({"all": opener("math", "weather"), "math": opener("math"), "weather": opener("weather")}, runs)
    results.add("startup", "all bundled servers ready (open + close)", samples["all"])
    results.add("startup", "math alone (stdio)", samples["math"])
    results.add("startup", "weather alone (streamable HTTP)", samples["weather"])
    slowest = max(("math", "weather"), key=lambda name: statistics.median(samples[name]))
    results.ratio("startup", f"all / slowest single ({slowest})", samples["all"], samples[slowest], note="target <= 1.2x")


async def ready_only(results: Results, runs: int) -> None:
    """Time to ready alone (what start_server spans report), without the close."""
    ready: list[float] = []
    for _ in range(runs):
        async with pool(servers("math", "weather")) as opened:
            ready.append(max(slot.ready_s or 0 for slot in opened.slots.values()) * 1000)
    results.add("startup", "all ready (slowest start_server span)", ready, note="target < 600 ms; the article: 2.8 s")


async def tool_calls(results: Results, runs: int, default_runs: int) -> None:
    """A persistent session (agentloupe) vs the adapters' default get_tools() path (a session per call)."""
    async with pool(servers("math", "weather")) as opened:
        add, weather = tool(opened, "add"), tool(opened, "get_weather")
        url = f"http://127.0.0.1:{opened.slots['weather'].process.port}/mcp"
        client = MultiServerMCPClient(
            {
                "math": {"transport": "stdio", "command": PYTHON, "args": ["-m", "agentloupe.servers.math"]},
                "weather": {"transport": "streamable_http", "url": url},
            }
        )
        default_tools = {t.name: t for t in await client.get_tools()}
        persistent = await interleaved(
            {"stdio": lambda: add.ainvoke({"a": 2, "b": 3}), "http": lambda: weather.ainvoke({"city": "Tokyo"})}, runs, warmup=3
        )
        default = await interleaved(
            {
                "stdio": lambda: default_tools["add"].ainvoke({"a": 2, "b": 3}),
                "http": lambda: default_tools["get_weather"].ainvoke({"city": "Tokyo"}),
            },
            default_runs,
        )
    results.add("tool call, stdio", "agentloupe persistent session", persistent["stdio"], note="target < 2.5 ms")
    results.add("tool call, stdio", "adapters default (new process per call)", default["stdio"])
    results.ratio("tool call, stdio", "default / agentloupe", default["stdio"], persistent["stdio"], note="target >= 100x")
    results.add("tool call, HTTP", "agentloupe persistent session", persistent["http"], note="target < 3.5 ms")
    results.add("tool call, HTTP", "adapters default (new session per call)", default["http"])
    results.ratio("tool call, HTTP", "default / agentloupe", default["http"], persistent["http"], note="target >= 8x")


async def tracing_overhead_mcp(results: Results, runs: int) -> None:
    """One MCP tool call with full tracing (client and server) vs none (client unpatched, server SDK off)."""
    async with pool(servers("math", math_plain=plain_math())) as opened:
        traced_add = tool(opened, "add")
        session = opened.session("math_plain")

        async def traced() -> None:
            instrument_mcp()
            await traced_add.ainvoke({"a": 2, "b": 3})

        async def plain() -> None:
            uninstrument_mcp()
            await session.call_tool("add", {"a": 2, "b": 3})

        async def traced_raw() -> None:
            instrument_mcp()
            await opened.session("math").call_tool("add", {"a": 2, "b": 3})

        samples = await interleaved({"traced": traced_raw, "plain": plain, "traced_tool": traced}, runs, warmup=5)
        instrument_mcp()
    results.add("tracing overhead, MCP call", "traced (client + server spans)", samples["traced"])
    results.add("tracing overhead, MCP call", "not traced", samples["plain"])
    overhead = (statistics.median(samples["traced"]) / statistics.median(samples["plain"]) - 1) * 100
    results.add("tracing overhead, MCP call", "added by tracing", [overhead], unit="%", note="target < 10%")
    results.add("tracing overhead, MCP call", "via the LangChain tool (agent path)", samples["traced_tool"])


async def one_turn_concurrency(results: Results, runs: int) -> None:
    """k slow tools (100-500 ms) in one turn: wall time vs the slowest tool and vs sequential."""
    from langchain_core.messages import HumanMessage

    from agentloupe.platform.graph import build_graph
    from agentloupe.platform.models import load_model

    shapes = {1: [500], 2: [300, 500], 3: [100, 300, 500], 5: [100, 200, 300, 400, 500]}
    async with pool(servers("faults")) as opened:
        model, info = load_model("offline")
        graph = build_graph(model, info, opened.tools(), opened.tool_servers())
        for count, durations in shapes.items():
            question = ", ".join(f"call slow with ms {ms}" for ms in durations)

            async def turn() -> None:
                await graph.ainvoke({"messages": [HumanMessage(question)]})

            samples = (await interleaved({"turn": turn}, runs))["turn"]
            slowest = max(durations)
            results.add("one turn, concurrent tools", f"{count} tools of {min(durations)}-{slowest} ms: wall", samples)
            over = (statistics.median(samples) / slowest - 1) * 100
            results.add("one turn, concurrent tools", f"{count} tools: over the slowest tool", [over], unit="%", note="target within 5%")
            results.add("one turn, concurrent tools", f"{count} tools: sequential would take", [float(sum(durations))])
    _ = time
