"""A client on the 2026-07-28 protocol (mcp 2.x): the server's tool answers InputRequiredResult
and the client's driver retries the call with the answers. ``sdk`` drives it with the SDK's
``mcp.Client``, ``fastmcp`` with FastMCP's ``Client``; the person answers ``accept`` or
``decline`` (the third argument). A 50 ms "model" for sampling, with a span of its own as a
model client would make. No agentloupe import: run under ``loupe exec``."""

import asyncio
import sys
from pathlib import Path

from mcp import StdioServerParameters, types
from opentelemetry import trace

tracer = trace.get_tracer("rounds-client")
SERVER, DRIVER, ANSWER = sys.argv[1], sys.argv[2], sys.argv[3]


async def model() -> str:
    with tracer.start_as_current_span("chat fake-model"):
        await asyncio.sleep(0.05)
    return "a short summary"


async def sdk() -> str:
    from mcp import Client

    async def sampling(context, params):
        text = await model()
        return types.CreateMessageResult(
            role="assistant", content=types.TextContent(type="text", text=text), model="fake-model"
        )

    async def elicitation(context, params):
        return (
            types.ElicitResult(action="accept", content={"keep": True})
            if ANSWER == "accept"
            else types.ElicitResult(action="decline")
        )

    server = StdioServerParameters(command=sys.executable, args=[SERVER])
    async with Client(server, sampling_callback=sampling, elicitation_callback=elicitation) as client:
        result = await client.call_tool("summarize", {"text": "a long text"})
        return f"{result.content[0].text} ({client.protocol_version})"


async def with_fastmcp() -> str:
    from fastmcp import Client  # imported before the loop starts (below)
    from fastmcp.client.elicitation import ElicitResult

    async def sampling(messages, params, context):
        return await model()

    async def elicitation(message, response_type, params, context):
        return {"keep": True} if ANSWER == "accept" else ElicitResult(action="decline")

    async with Client(Path(SERVER), sampling_handler=sampling, elicitation_handler=elicitation) as client:
        result = await client.call_tool("summarize", {"text": "a long text"}, raise_on_error=False)
        return result.content[0].text


if DRIVER == "fastmcp":
    import fastmcp.client  # noqa: F401 - a second's import, not inside the loop
print(asyncio.run(sdk() if DRIVER == "sdk" else with_fastmcp()))
