"""A program that sets its own TracerProvider (in-memory exporter) and then calls a tool of an MCP
server over stdio with the SDK's plain ``ClientSession``, on whichever generation is installed.
Knows nothing of agentloupe. Prints a JSON line: span id -> name, as its own exporter got them.

    python mcp_client.py SERVER.py
"""

import asyncio
import json
import os
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)


async def main() -> None:
    params = StdioServerParameters(command=sys.executable, args=[sys.argv[1]], env=dict(os.environ))
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            result = await session.call_tool("shout", {"text": "hello"})
            assert result.content[0].text == "HELLO!", result


asyncio.run(main())
print(json.dumps({format(s.context.span_id, "016x"): s.name for s in exporter.get_finished_spans()}))
