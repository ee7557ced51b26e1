"""An MCP server that takes a while to start (imports, a model load...): readiness must wait."""

import runpy
import sys
import time
from pathlib import Path

time.sleep(2.0)
sys.argv = [sys.argv[0]]
runpy.run_path(str(Path(__file__).with_name("clock_server.py")), run_name="__main__")
