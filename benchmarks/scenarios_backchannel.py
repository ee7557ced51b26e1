"""The other direction's cost (mcp 1.x): a server's request to its client against a client's request.

One server script (the SDK's FastMCP) with two tools: ``add``, and ``ask``, which asks the
client's model once (``sampling/createMessage``, answered at once by the client's callback) and
returns. It runs twice: plain (no agentloupe in the process) beside a plain ``ClientSession``,
and instrumented (agentloupe's bootstrap, as ``loupe exec`` hands it to a stdio child) beside a
``ClientSession`` with ``instrument_mcp()``. Four calls take turns: plain add, plain ask, traced
add, traced ask. Then:

- what tracing adds to a call with no other-direction traffic: traced add - plain add;
- what it adds to the one sampling request: (traced ask - plain ask) - (traced add - plain add);
- their ratio: the target is <= 1 (the other direction costs no more than a client request).
"""

from __future__ import annotations

import statistics

from agentloupe.instrumentation import instrument_mcp, uninstrument_mcp
from benchmarks.fixtures import PYTHON
from benchmarks.harness import Results, interleaved

ASKING_SERVER = """
from mcp.server.fastmcp import Context, FastMCP
from mcp.types import SamplingMessage, TextContent
mcp = FastMCP("asking", log_level="WARNING")

@mcp.tool()
async def add(a: float, b: float) -> float:
    'Add two numbers: a + b.'
    return a + b

@mcp.tool()
async def ask(text: str, ctx: Context) -> str:
    'Ask the client model once.'
    message = SamplingMessage(role="user", content=TextContent(type="text", text=text))
    reply = await ctx.session.create_message([message], max_tokens=10)
    return reply.content.text

mcp.run("stdio")
"""


async def backchannel_cost(results: Results, runs: int) -> None:
    import os
    from contextlib import AsyncExitStack

    from mcp import ClientSession, StdioServerParameters, types
    from mcp.client.stdio import get_default_environment, stdio_client

    from agentloupe.instrumentation.mcp.stdio_children import auto_environment

    async def sampling(context, params):  # type: ignore[no-untyped-def]
        return types.CreateMessageResult(
            role="assistant", content=types.TextContent(type="text", text="ok"), model="instant"
        )

    plain_env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTLOUPE_", "OTEL_"))}
    plain_env.pop("PYTHONPATH", None)
    traced_env = {**get_default_environment(), **auto_environment()}
    async with AsyncExitStack() as stack:
        sessions = {}
        for name, env in (("plain", plain_env), ("traced", traced_env)):
            params = StdioServerParameters(command=PYTHON, args=["-c", ASKING_SERVER], env=env)
            read, write = await stack.enter_async_context(stdio_client(params))
            session = await stack.enter_async_context(ClientSession(read, write, sampling_callback=sampling))
            await session.initialize()
            sessions[name] = session

        def call(variant: str, tool: str, arguments: dict[str, object]):  # type: ignore[no-untyped-def]
            async def work() -> None:
                (instrument_mcp if variant == "traced" else uninstrument_mcp)()
                result = await sessions[variant].call_tool(tool, arguments)
                assert not result.isError, result

            return work

        samples = await interleaved(
            {
                "plain add": call("plain", "add", {"a": 2, "b": 3}),
                "plain ask": call("plain", "ask", {"text": "hi"}),
                "traced add": call("traced", "add", {"a": 2, "b": 3}),
                "traced ask": call("traced", "ask", {"text": "hi"}),
            },
            runs,
            warmup=5,
        )
        instrument_mcp()
    scenario = "the other direction"
    for name in ("plain add", "traced add", "plain ask", "traced ask"):
        results.add(scenario, f"{name}{' (+1 sampling request)' if 'ask' in name else ''}", samples[name])
    med = {name: statistics.median(values) for name, values in samples.items()}
    client_request = med["traced add"] - med["plain add"]
    other_direction = (med["traced ask"] - med["plain ask"]) - client_request
    results.add(scenario, "tracing adds to a call (no other direction)", [client_request])
    results.add(scenario, "tracing adds to a sampling request", [other_direction])
    results.add(
        scenario, "sampling request / client request (added)", [other_direction / client_request], unit="x",
        note="target <= 1",
    )
