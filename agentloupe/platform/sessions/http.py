"""A streamable HTTP server's streams, on either generation.

mcp 2.x: the SDK's own httpx2 client, its responses heard for the session id and an error
status. mcp 1.x: a client whose transport watches for an SSE response that ends without its
answer (``httpwatch.py``), which 1.x would wait for forever.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from agentloupe.platform.sessions.mcpsdk import GENERATION, mcp_http_client, streamable_http_client


@asynccontextmanager
async def http_streams(
    url: str, server: str, headers: dict[str, str], *, on_error_status: Callable[[int], None] = lambda status: None
) -> AsyncIterator[tuple[Any, Any, Callable[[], str | None] | None, Callable[[Any], None]]]:
    """The streamable HTTP transport to ``url``: read and write streams, the session id getter, and
    ``attach(session)``, to call once the session exists.

    ``on_error_status(status)`` hears each HTTP error status (mcp 2 turns them into JSON-RPC errors
    that no longer say which; mcp 1 raises them). The HTTP client is built on a thread: loading the
    CA bundle takes about 100 ms.
    """
    import anyio

    if GENERATION >= 2:
        session_id: list[str] = []  # the transport keeps it to itself: read off its responses

        async def heard(response: Any) -> None:
            if response.status_code >= 400:
                on_error_status(response.status_code)
            elif found := response.headers.get("mcp-session-id"):
                session_id[:] = [found]

        client = await anyio.to_thread.run_sync(lambda: mcp_http_client(headers))
        client.event_hooks["response"].append(heard)
        async with client, streamable_http_client(url, http_client=client) as (read, write):  # type: ignore[misc]
            yield read, write, lambda: session_id[0] if session_id else None, lambda session: None
        return
    # mcp 1.x waits forever when an SSE response ends without its answer: watch for that
    from agentloupe.platform.sessions.httpwatch import watched_client

    client, watcher = await anyio.to_thread.run_sync(watched_client, server, headers)
    async with client, streamable_http_client(url, http_client=client) as (read, write, get_session_id):

        def attach(session: Any) -> None:
            watcher.session = session

        yield read, write, get_session_id, attach
