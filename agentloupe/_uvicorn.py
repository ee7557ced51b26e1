"""uvicorn without its own signal handling, for the HTTP processes agentloupe runs.

``loupe serve`` and the bundled HTTP MCP server own SIGTERM/SIGINT themselves:
uvicorn re-raises SIGTERM after its graceful stop, which would end a cleanly
drained process with 143 instead of 0, before its spans are flushed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def server_without_signal_handling(config: Any) -> Any:
    """A ``uvicorn.Server`` for ``config`` that leaves the process's signal handlers alone."""
    import uvicorn  # only the HTTP processes pay for it

    class Server(uvicorn.Server):
        @contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return Server(config)
