"""The no-MCP graph (tests/assets/nomcp/graph.py) with the tracing itself and nothing else:
``configure()`` + ``instrument_langgraph()`` in the program, trace files written. What
``loupe run --graph`` is compared against, beside ``python graph.py``.

    python benchmarks/nomcp_traced.py QUESTION
"""

import asyncio
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "assets" / "nomcp"))

from graph import graph  # noqa: E402

import agentloupe  # noqa: E402

agentloupe.configure(service_name="no-mcp-graph")
agentloupe.instrument_langgraph()
print(json.dumps(asyncio.run(graph.ainvoke({"question": sys.argv[1]}))))
agentloupe.shutdown()
