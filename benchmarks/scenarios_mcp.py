"""Startup, tool-call latency against langchain-mcp-adapters' default path, tracing overhead."""

from __future__ import annotations

import statistics

from langchain_mcp_adapters.client import MultiServerMCPClient

from agentloupe.instrumentation import instrument_mcp, uninstrument_mcp
from benchmarks.fixtures import PYTHON, pool, servers, tool
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
        calls = {
            "stdio": lambda: add.ainvoke({"a": 2, "b": 3}),
            "http": lambda: weather.ainvoke({"city": "Tokyo"}),
            "default stdio": lambda: default_tools["add"].ainvoke({"a": 2, "b": 3}),
            "default http": lambda: default_tools["get_weather"].ainvoke({"city": "Tokyo"}),
        }
        # the ratios come from one interleaved loop (A B C D A B C D ...); the persistent figures
        # alone get more runs in a second loop, since a process per call is slow to repeat
        side_by_side = await interleaved(calls, default_runs, warmup=1)
        persistent = await interleaved({"stdio": calls["stdio"], "http": calls["http"]}, runs, warmup=3)
        default = {"stdio": side_by_side["default stdio"], "http": side_by_side["default http"]}
    for transport, label in (("stdio", "tool call, stdio"), ("http", "tool call, HTTP")):
        target = "target < 2.5 ms" if transport == "stdio" else "target < 3.5 ms"
        results.add(label, "agentloupe persistent session", persistent[transport], note=target)
        what = "new process per call" if transport == "stdio" else "new session per call"
        results.add(label, f"adapters default ({what})", default[transport])
        target = "target >= 100x" if transport == "stdio" else "target >= 8x"
        results.ratio(label, "default / agentloupe", default[transport], side_by_side[transport], note=target)


async def tracing_overhead_mcp(results: Results, runs: int) -> None:
    """One MCP tool call traced end to end (agentloupe's math server and client spans) vs a baseline
    with no agentloupe in it: a plain FastMCP server with the same tool and a plain ClientSession."""
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    from benchmarks.scenarios_library import PLAIN_SERVER

    plain_params = StdioServerParameters(command=PYTHON, args=["-c", PLAIN_SERVER])
    async with (
        pool(servers("math")) as opened,
        stdio_client(plain_params) as (read, write),
        ClientSession(read, write) as plain_session,
    ):
        await plain_session.initialize()
        traced_add = tool(opened, "add")

        async def traced() -> None:
            instrument_mcp()
            await opened.session("math").call_tool("add", {"a": 2, "b": 3})

        async def plain() -> None:
            uninstrument_mcp()
            await plain_session.call_tool("add", {"a": 2, "b": 3})

        async def traced_tool() -> None:
            instrument_mcp()
            await traced_add.ainvoke({"a": 2, "b": 3})

        samples = await interleaved({"traced": traced, "plain": plain, "traced_tool": traced_tool}, runs, warmup=5)
        instrument_mcp()
    scenario = "tracing overhead, MCP call"
    results.add(scenario, "traced (client + server spans)", samples["traced"])
    results.add(scenario, "baseline: plain FastMCP + plain ClientSession", samples["plain"])
    overhead = (statistics.median(samples["traced"]) / statistics.median(samples["plain"]) - 1) * 100
    results.add(scenario, "added by tracing", [overhead], unit="%", note="target < 10%")
    results.add(scenario, "via the LangChain tool (agent path)", samples["traced_tool"])


async def one_turn_concurrency(results: Results, runs: int) -> None:
    """k slow tools (100-500 ms) in one turn: wall time against the slowest tool."""
    from langchain_core.messages import HumanMessage

    from agentloupe.platform.agent.graph import build_graph
    from agentloupe.platform.agent.models import load_model

    shapes = {1: [500], 2: [300, 500], 3: [100, 300, 500], 5: [100, 200, 300, 400, 500]}
    async with pool(servers("faults")) as opened:
        model, info = load_model("offline")
        graph = build_graph(model, info, opened.tools(), opened.tool_servers())
        for count, durations in shapes.items():
            question = ", ".join(f"call slow with ms {ms}" for ms in durations)

            async def turn(question: str = question) -> None:
                await graph.ainvoke({"messages": [HumanMessage(question)]})

            samples = (await interleaved({"turn": turn}, runs))["turn"]
            slowest = max(durations)
            results.add("one turn, concurrent tools", f"{count} tools of {min(durations)}-{slowest} ms: wall", samples)
            over = (statistics.median(samples) / slowest - 1) * 100
            note = "target within 5%"
            results.add("one turn, concurrent tools", f"{count} tools: over the slowest tool", [over], unit="%", note=note)
