"""A proxy-like program: it forwards its own caller's traceparent in _meta and prints what the server saw."""

import asyncio

from agent import call_own_server

FORWARDED = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


async def main() -> None:
    print(await call_own_server("echo_meta", {"text": "x"}, meta={"traceparent": FORWARDED, "custom": "kept"}))


asyncio.run(main())
