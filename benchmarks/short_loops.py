"""Many short event loops: ``asyncio.run`` of a coroutine that yields once, 300 times; prints the
median per loop in ms. What a test suite with pytest-asyncio or anyio does thousands of times."""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time


async def once() -> None:
    await asyncio.sleep(0)


def main() -> None:
    loops = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    times = []
    for _ in range(loops):
        started = time.perf_counter()
        asyncio.run(once())
        times.append(time.perf_counter() - started)
    print(json.dumps({"per_loop_ms": statistics.median(times) * 1000}))


if __name__ == "__main__":
    main()
