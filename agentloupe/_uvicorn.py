"""uvicorn without its own signal handling, for the HTTP processes agentloupe runs.

``loupe serve`` and the bundled HTTP MCP server own SIGTERM/SIGINT themselves:
uvicorn re-raises SIGTERM after its graceful stop, which would end a cleanly
drained process with 143 instead of 0, before its spans are flushed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any


def server_without_signal_handling(config: Any) -> Any:
    """A ``uvicorn.Server`` for ``config`` that leaves the process's signal handlers alone."""
    import uvicorn  # only the HTTP processes pay for it

    class Server(uvicorn.Server):
        _wake: asyncio.Event | None = None

        @contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

        # uvicorn looks at ``should_exit`` every 100 ms; a stop wakes its loop at once instead
        @property
        def should_exit(self) -> bool:
            return self._should_exit

        @should_exit.setter
        def should_exit(self, value: bool) -> None:
            self._should_exit = value
            if value and self._wake is not None:
                self._wake.set()

        async def shutdown(self, sockets: list[Any] | None = None) -> None:
            """uvicorn's, less its fixed 100 ms pause: connections told to close are waited for
            (as long at most), so an idle server stops at once."""
            wait_tasks = getattr(self, "_wait_tasks_to_complete", None)
            if wait_tasks is None:  # another uvicorn: its own shutdown
                return await super().shutdown(sockets)
            for server in self.servers:
                server.close()
            for sock in sockets or []:
                sock.close()
            for connection in list(self.server_state.connections):
                connection.shutdown()
            # uvicorn has no event for a connection closed: polled, at most as long as its pause
            loop = asyncio.get_running_loop()
            pause_ends = loop.time() + 0.1
            while self.server_state.connections and loop.time() < pause_ends:
                await asyncio.sleep(0.005)
            try:
                await asyncio.wait_for(wait_tasks(), timeout=self.config.timeout_graceful_shutdown)
            except TimeoutError:
                for task in self.server_state.tasks:
                    task.cancel(msg="Task cancelled, timeout graceful shutdown exceeded")
            if not self.force_exit:
                await self.lifespan.shutdown()

        async def main_loop(self) -> None:
            self._wake = asyncio.Event()
            counter = 0
            while not await self.on_tick(counter):
                counter = (counter + 1) % 864000
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), 0.1)

    return Server(config)
