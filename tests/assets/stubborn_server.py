"""A stdio MCP server that ignores SIGTERM and stays up after stdin closes (only SIGKILL ends it).

With "--setsid-child" it also starts a child that leaves the process group (setsid) and sleeps.
"""

import os
import signal
import subprocess
import sys
import time

from plain_server import Server  # the SDK's own server, on either mcp generation

signal.signal(signal.SIGTERM, signal.SIG_IGN)
if "--setsid-child" in sys.argv:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"], start_new_session=True)
    with open(os.environ["CHILD_PID_FILE"], "w") as handle:
        handle.write(str(child.pid))

mcp = Server("stubborn", log_level="WARNING")


@mcp.tool()
async def ping() -> str:
    """Answer pong."""
    return "pong"


if __name__ == "__main__":
    mcp.run("stdio")
    while True:  # stdin closed: stay anyway, like a server stuck in cleanup
        time.sleep(1)
