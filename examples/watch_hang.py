"""A hang, caught by agentloupe.watch(): the span gets a `hang` event naming the stuck line.

    python examples/watch_hang.py && loupe trace
"""

import asyncio

import agentloupe
from agentloupe.instrumentation.diagnostics.watchdog import deadline
from agentloupe.instrumentation.spans import traced


async def wait_for_a_reply_that_never_comes() -> None:
    await asyncio.Event().wait()  # the watchdog's hang event names this line


async def main() -> None:
    async with agentloupe.watch(on_hang="cancel"):
        with traced("example tool call") as span:
            try:
                with deadline("tool", span=span, seconds=1.0):
                    await wait_for_a_reply_that_never_comes()
            except TimeoutError as exc:
                print(f"cancelled: {exc}")


if __name__ == "__main__":
    agentloupe.configure(service_name="example-hang")
    asyncio.run(main())
    agentloupe.shutdown()
