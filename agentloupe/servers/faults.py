"""A fault server for demos and tests (stdio): hangs, loop blocks, leaks, crashes, slowness.

Each fault does exactly what its name says, on purpose. Use it to see what the
watchdog and the memory checks report: ``loupe call faults.hang '{}'``.
"""

from __future__ import annotations

import asyncio
import os
import re
import time

from agentloupe.servers.runtime import new_server, serve

mcp = new_server("faults", "Deliberate faults: hang, block_loop, block_in_c, leak, crash, slow.")

_kept: list[bytearray] = []


@mcp.tool()
async def hang() -> str:
    """Await forever (until cancelled)."""
    await asyncio.Event().wait()
    return "unreachable"


@mcp.tool()
async def block_loop(ms: int = 600) -> str:
    """Block this server's event loop for ms milliseconds (a sync sleep in async code)."""
    time.sleep(ms / 1000)
    return f"blocked the loop for {ms} ms"


@mcp.tool()
async def block_in_c(n: int = 26) -> str:
    """Block inside C code holding the GIL: a catastrophic regex backtracking over n characters."""
    started = time.perf_counter()
    matched = re.match(r"(a+)+$", "a" * n + "b")
    return f"regex matched={bool(matched)} after {time.perf_counter() - started:.2f} s"


@mcp.tool()
async def leak(mb: int = 1) -> str:
    """Allocate mb megabytes and keep them: a leak."""
    _kept.append(bytearray(mb * 1024 * 1024))
    return f"kept {mb} MB more ({len(_kept)} blocks held)"


@mcp.tool()
async def crash(code: int = 1) -> str:
    """Exit the server process in the middle of the call."""
    os._exit(code)


@mcp.tool()
async def slow(ms: int = 500) -> str:
    """Take ms milliseconds without blocking the loop."""
    await asyncio.sleep(ms / 1000)
    return f"slept {ms} ms"


def main(argv: list[str] | None = None) -> None:
    serve(mcp, transport="stdio", service_name="agentloupe-faults", argv=argv)


if __name__ == "__main__":
    main()
