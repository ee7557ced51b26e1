"""A fault server for demos and tests (stdio): hangs, loop blocks, leaks, crashes, slowness.

Each fault does exactly what its name says, on purpose. Use it to see what the
watchdog and the memory checks report: ``loupe call faults.hang '{}'``.
"""

from __future__ import annotations

import asyncio
import math
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


_CATASTROPHIC = re.compile(r"(a+)+$")


def _backtrack(n: int) -> float:
    """One catastrophic match over n characters (C code, GIL held); its seconds."""
    started = time.perf_counter()
    _CATASTROPHIC.match("a" * n + "b")
    return time.perf_counter() - started


@mcp.tool()
async def block_in_c(ms: int = 500) -> str:
    """Block inside C code holding the GIL for about ms milliseconds (a catastrophic regex).

    Sized by time, not by input length: the regex's cost doubles per character and a machine's
    speed varies, so the length is calibrated on short runs (each under 20 ms, the loop free
    between them) and then doubled up to the asked time. The result says the measured time.
    """
    n, took = 12, 0.0
    while took < 0.01 and n < 40:
        n += 1
        took = _backtrack(n)
        await asyncio.sleep(0)
    n += max(0, round(math.log2(ms / 1000 / took))) if took > 0 else 0
    return f"blocked in C for {_backtrack(n) * 1000:.0f} ms (regex over {n} characters)"


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
