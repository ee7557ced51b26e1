"""A plain ClientSession (mcp 1.x, or 2.x on the handshake protocol, which has the back-channel)
that answers its server: a 50 ms "model" for sampling (with a span of its own, as a model client
would make), roots, the person's answer for elicitation (``accept``, ``decline`` or ``slow``: 2.5 s
to accept, the second argument), and it hears log messages and progress. No agentloupe import:
run under ``loupe exec``."""

import asyncio
import sys

from mcp import ClientSession, StdioServerParameters, types
from mcp.client.stdio import stdio_client
from opentelemetry import trace

tracer = trace.get_tracer("asking-client")
heard: list[str] = []


async def sampling(context, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
    with tracer.start_as_current_span("chat fake-model"):
        await asyncio.sleep(0.05)
    return types.CreateMessageResult(
        role="assistant", content=types.TextContent(type="text", text="a short summary"), model="fake-model"
    )


async def elicitation(context, params: types.ElicitRequestParams) -> types.ElicitResult:
    if sys.argv[2] == "decline":
        return types.ElicitResult(action="decline")
    if sys.argv[2] == "slow":  # a person who takes their time
        await asyncio.sleep(2.5)
    return types.ElicitResult(action="accept", content={"keep": True})


async def roots(context) -> types.ListRootsResult:
    return types.ListRootsResult(roots=[types.Root(uri="file:///tmp", name="tmp")])


async def logged(params: types.LoggingMessageNotificationParams) -> None:
    heard.append(str(params.data))


async def progressed(progress: float, total: float | None, message: str | None) -> None:
    heard.append(f"progress {progress}/{total}")


async def main() -> None:
    params = StdioServerParameters(command=sys.executable, args=[sys.argv[1]])
    async with stdio_client(params) as (read, write):
        async with ClientSession(
            read,
            write,
            sampling_callback=sampling,
            elicitation_callback=elicitation,
            list_roots_callback=roots,
            logging_callback=logged,
        ) as session:
            await session.initialize()
            result = await session.call_tool("summarize", {"text": "a long text"}, progress_callback=progressed)
            print(result.content[0].text)
            print("heard:", "; ".join(heard))


asyncio.run(main())
