"""Run every benchmark scenario, print a table, write JSON lines.

    python -m benchmarks            # full: the figures in BENCHMARKS.md
    python -m benchmarks --quick    # a short run (CI checks its shape, never its times)
    python -m benchmarks --only commands   # one group of scenarios
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import platform
import sys
from pathlib import Path

from benchmarks import (
    scenarios_backchannel,
    scenarios_calls,
    scenarios_commands,
    scenarios_install,
    scenarios_library,
    scenarios_mcp,
    scenarios_process,
)
from benchmarks.fixtures import setup_telemetry
from benchmarks.harness import Results

SCENARIOS = (
    "commands",
    "installs",
    "instrument_mcp() on a plain ClientSession",
    "tool call on mcp 2.x",
    "traced call, mcp1, one process",
    "traced call, mcp1, stdio",
    "traced call, mcp2, one process",
    "traced call, mcp2, stdio",
    "many short event loops",
    "startup",
    "tool call, stdio",
    "tool call, HTTP",
    "one turn, concurrent tools",
    "tracing overhead, MCP call",
    "the other direction",
    "tracing overhead, whole run",
    "memory-check overhead",
    "shutdown",
    "scale",
)


GROUPS = (
    "commands", "installs", "library", "traced calls", "startup", "tool calls", "one turn", "tracing overhead", "other direction", "memory checks",
    "shutdown", "scale",
)


async def run_all(results: Results, quick: bool, only: str | None = None) -> None:
    n = 5 if quick else 20

    def group(name: str) -> bool:
        if only is not None and name != only:
            return False
        print(name, flush=True)
        return True

    if group("commands"):
        scenarios_commands.commands(results, 2 if quick else 7)
    if group("installs"):
        scenarios_install.installs(results, 2 if quick else 11)
    if group("library"):
        await scenarios_library.instrumented_client(results, 3 if quick else 15, 50 if quick else 200)
        scenarios_library.mcp2_client(results, 3 if quick else 15, 60 if quick else 150)
    if group("traced calls"):
        scenarios_calls.traced_calls(results, scenarios_calls.pythons(), 1 if quick else 5, 100 if quick else 1000)
        scenarios_calls.short_loops(results, 1 if quick else 7, 100 if quick else 300)
    if group("startup"):
        await scenarios_mcp.startup(results, 3 if quick else 10)
        await scenarios_mcp.ready_only(results, 3 if quick else 10)
    if group("tool calls"):
        await scenarios_mcp.tool_calls(results, 50 if quick else 300, 3 if quick else 15)
    if group("one turn"):
        await scenarios_mcp.one_turn_concurrency(results, 2 if quick else 5)
    if group("tracing overhead"):
        await scenarios_mcp.tracing_overhead_mcp(results, 100 if quick else 1000)
        scenarios_process.run_overheads(results, 2 if quick else 7)
    if group("other direction"):
        await scenarios_backchannel.backchannel_cost(results, 100 if quick else 1000)
    if group("memory checks"):
        scenarios_process.tracemalloc_cost(results, n)
    if group("shutdown"):
        scenarios_process.shutdown_budget(results, 2 if quick else 5, with_sdk_default=not quick)
    if group("scale"):
        await scenarios_process.scale(results, [1, 10, 50] if quick else [1, 10, 100, 500])


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs and smaller scale levels")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/latest.jsonl"), help="JSON lines output")
    parser.add_argument("--only", choices=GROUPS, help="run one group of scenarios")
    args = parser.parse_args()
    if importlib.util.find_spec("rotel") is None:  # the collector of the shutdown scenario
        print("python -m benchmarks needs the bench extra: .venv/bin/pip install -e '.[bench]'", file=sys.stderr)
        raise SystemExit(2)
    setup_telemetry()
    print(f"agentloupe benchmarks ({'quick' if args.quick else 'full'}) on {platform.machine()}, Python {platform.python_version()}, {__import__('os').cpu_count()} CPUs")
    results = Results()
    asyncio.run(run_all(results, args.quick, args.only))
    results.write(args.output)
    print(f"\nwrote {len(results.figures)} figures to {args.output}")


if __name__ == "__main__":
    main()
