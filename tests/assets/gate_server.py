"""A stdio MCP server whose one tool waits for the test: a call stays in flight until GATE_FILE exists.

For tests that need calls surely in flight at a moment they choose (a signal, a refusal), however
slow the machine: no call ends on a timer. Run by agentloupe's own server runtime, so it is traced.
"""

import asyncio
import os
import time
from pathlib import Path

from agentloupe.servers.runtime import new_server, serve

mcp = new_server("gate", "A call that waits until the test opens the gate.")


@mcp.tool()
async def wait_gate() -> str:
    """Wait until the gate file exists (two minutes at most: never for ever)."""
    gate = Path(os.environ["GATE_FILE"])
    deadline = time.monotonic() + 120
    while not gate.exists():
        if time.monotonic() > deadline:
            return "the gate never opened"
        await asyncio.sleep(0.05)
    return "gate opened"


if __name__ == "__main__":
    serve(mcp, transport="stdio", service_name="agentloupe-gate")
