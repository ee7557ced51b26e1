"""An httpx transport that notices an SSE response ending before it carried its answer.

mcp 1.30's streamable HTTP client waits forever when the server's SSE stream for a
request ends without the response (and without an event id to resume from). This
transport sees each POSTed JSON-RPC request's response stream close; if the request
is still pending a moment later, it is failed with a clear error instead of waiting
for its deadline.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from agentloupe.platform.sessions.mcpsdk import MCP_DEFAULT_SSE_READ_TIMEOUT, MCP_DEFAULT_TIMEOUT, types

GRACE_S = 0.2  # the answer, when there was one, reaches the session well within this


class _WatchedStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, on_close: Any) -> None:
        self._inner, self._on_close = inner, on_close

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            self._on_close()


class SseEndWatcher(httpx.AsyncBaseTransport):
    def __init__(self, server: str) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.server = server
        self.session: Any = None  # set once the ClientSession exists

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        request_id = _request_id(request)
        event_stream = response.headers.get("content-type", "").startswith("text/event-stream")
        if request_id is not None and event_stream and isinstance(response.stream, httpx.AsyncByteStream):
            response.stream = _WatchedStream(response.stream, lambda: self._schedule_check(request_id))
        return response

    def _schedule_check(self, request_id: int | str) -> None:
        import asyncio

        with contextlib.suppress(RuntimeError):
            asyncio.get_running_loop().call_later(GRACE_S, self._fail_if_pending, request_id)

    def _fail_if_pending(self, request_id: int | str) -> None:
        message = f"the response stream of MCP server '{self.server}' ended before the answer"
        fail_pending(self.session, message, only=request_id)

    async def aclose(self) -> None:
        await self._inner.aclose()


def fail_pending(session: Any, message: str, *, only: int | str | None = None) -> None:
    """Answer a session's pending request(s) with a connection-closed error, without awaiting.

    Non-blocking on purpose: callers run where an await could be cancelled (a cancelled
    receive loop) or outside any task (a loop callback).
    """
    streams = getattr(session, "_response_streams", None) or {}
    targets = [only] if only is not None else list(streams)
    for request_id in targets:
        stream = streams.get(request_id)
        if stream is None:
            continue
        error = types.ErrorData(code=types.CONNECTION_CLOSED, message=message)
        with contextlib.suppress(Exception):
            stream.send_nowait(types.JSONRPCError(jsonrpc="2.0", id=request_id, error=error))


def _request_id(request: httpx.Request) -> int | str | None:
    if request.method != "POST":
        return None
    try:
        body = json.loads(request.content or b"null")
    except (ValueError, httpx.RequestNotRead):
        return None
    if isinstance(body, dict) and "method" in body and "id" in body:
        return body["id"]
    return None


def watched_client(server: str, headers: dict[str, str] | None = None) -> tuple[httpx.AsyncClient, SseEndWatcher]:
    """An httpx client with mcp's default timeouts and the server's headers, watching SSE responses end."""
    transport = SseEndWatcher(server)
    timeout = httpx.Timeout(MCP_DEFAULT_TIMEOUT, read=MCP_DEFAULT_SSE_READ_TIMEOUT)
    return httpx.AsyncClient(timeout=timeout, transport=transport, headers=headers or {}), transport
