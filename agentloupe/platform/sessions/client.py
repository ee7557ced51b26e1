"""The session a tool holds: a ClientSession that knows when it is lost (and on mcp 1.x validates
output schemas once), behind a handle that follows the server across restarts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio

from agentloupe.instrumentation.mcp import request_attributes
from agentloupe.platform.config import ServerConfig
from agentloupe.platform.errors import ToolCallError
from agentloupe.platform.sessions import launcher
from agentloupe.platform.sessions.breaker import CircuitBreaker
from agentloupe.platform.sessions.mcpsdk import (
    CONNECTION_CLOSED,
    GENERATION,
    ClientSession,
    HTTPError,
    McpError,
    is_error,
    types,
)


class _LostAtEnd:
    """A session's read stream that sets ``lost`` when the transport's stream ends or breaks."""

    def __init__(self, inner: Any, lost: anyio.Event) -> None:
        self._inner, self._lost = inner, lost

    async def receive(self) -> Any:
        try:
            return await self._inner.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._lost.set()
            raise

    def __aiter__(self) -> _LostAtEnd:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> _LostAtEnd:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()

    def __getattr__(self, name: str) -> Any:  # e.g. the sender's context the SDK may read
        return getattr(self._inner, name)


class PooledClientSessionV2(ClientSession):
    """mcp 2.x: the SDK's session (it keeps one validator per tool itself), which knows when it is
    lost. Its dispatcher fails pending requests with CONNECTION_CLOSED when the transport ends."""

    def __init__(self, read_stream: Any, write_stream: Any, **kwargs: Any) -> None:
        self.lost = anyio.Event()
        read_stream = _LostAtEnd(read_stream, self.lost)
        super().__init__(read_stream, write_stream, **kwargs)


class PooledClientSessionV1(ClientSession):
    """A ClientSession that checks each tool's output schema once, not on every call.

    mcp's ``_validate_tool_result`` calls ``jsonschema.validate``, which re-checks the
    schema against its metaschema on every call: 3-4 ms of a ~10 ms stdio call here
    (profiled). A persistent session keeps one validator per tool; the result is
    validated exactly as before.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._validators: dict[str, tuple[int, Any]] = {}
        # Set when the session stops receiving: the transport died (HTTP 500, a cut
        # stream, a closed pipe) or the session was closed. The owner task watches it.
        self.lost = anyio.Event()

    async def _receive_loop(self) -> None:
        try:
            await super()._receive_loop()
        finally:
            # When the transport's task group fails (an HTTP 500 raises inside it), this loop
            # is cancelled and mcp's own cleanup cannot await the error it owes each pending
            # request: they would wait forever. A non-blocking send cannot be cancelled.
            from agentloupe.platform.sessions.httpwatch import fail_pending

            fail_pending(self, "Connection closed")
            self.lost.set()

    async def _validate_tool_result(self, name: str, result: types.CallToolResult) -> None:
        if name not in self._tool_output_schemas:
            await self.list_tools()
        schema = self._tool_output_schemas.get(name)
        if schema is None:
            return await super()._validate_tool_result(name, result)
        from jsonschema import SchemaError, ValidationError, validators
        from referencing import Registry

        cached = self._validators.get(name)
        if cached is None or cached[0] != id(schema):
            cls = validators.validator_for(schema)
            try:
                cls.check_schema(schema)
            except SchemaError as exc:
                raise RuntimeError(f"Invalid schema for tool {name}: {exc}") from exc
            cached = (id(schema), cls(schema, registry=Registry()))
            self._validators[name] = cached
        if result.structuredContent is None:
            raise RuntimeError(f"Tool {name} has an output schema but did not return structured content")
        try:
            cached[1].validate(result.structuredContent)
        except ValidationError as exc:
            raise RuntimeError(f"Invalid structured content returned by tool {name}: {exc}") from exc
        except Exception as exc:  # unresolvable $ref, as mcp reports it
            raise RuntimeError(f"Invalid schema for tool {name}: {exc}") from exc


PooledClientSession: type[Any] = PooledClientSessionV2 if GENERATION >= 2 else PooledClientSessionV1

MAX_RESTARTS = 5
SESSION_TERMINATED = "Session terminated"  # what mcp's HTTP client answers a 404 with
HTTP_ERROR_RESPONSE = "Server returned an error response"  # what mcp 2's answers another HTTP error with
SESSION_WAIT_S = 30.0


class SessionHandle:
    """What the LangChain tools hold instead of a session: the slot's current session.

    A server that dies is restarted with a new session; tools bound to the old one
    would fail forever. Only ``call_tool``/``list_tools`` are used by the adapters.
    """

    def __init__(self, slot: ServerSlot) -> None:
        self._slot = slot

    async def _session(self) -> ClientSession:
        slot = self._slot
        if slot.session is None:
            with anyio.move_on_after(SESSION_WAIT_S):
                await slot.available.wait()
        if slot.session is None:
            raise ToolCallError(f"MCP server '{slot.config.name}' is not available (it exited and did not come back)")
        return slot.session

    async def call_tool(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """The call, through the server's circuit breaker: a failure counts, a tool's own error result does not."""
        breaker = self._slot.breaker
        breaker.before_call()
        try:
            result = await self._call(name, *args, **kwargs)
        except (ToolCallError, TimeoutError, McpError):
            breaker.failed()
            raise
        breaker.succeeded()
        return result

    async def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        session = await self._session()
        http_errors = self._slot.http_errors
        try:
            with about_server(self._slot):
                return await session.call_tool(name, *args, **kwargs)
        except McpError as exc:
            if exc.error.message == SESSION_TERMINATED and hasattr(session, "lost"):
                # HTTP 404: the server forgot the session (restarted, expired). The owner
                # task re-creates it; this call fails, the next one gets the new session.
                session.lost.set()
            elif exc.error.message == HTTP_ERROR_RESPONSE and self._slot.http_errors > http_errors:
                # mcp 2: an HTTP error status during this call, which its JSON-RPC error no longer
                # names (the session stays sound: the next call goes on it)
                raise ToolCallError(
                    f"MCP server '{self._slot.config.name}' failed during {name}:"
                    f" it answered HTTP {self._slot.http_error_status}"
                ) from None
            elif exc.error.code != CONNECTION_CLOSED:
                raise
            raise ToolCallError(
                f"MCP server '{self._slot.config.name}' failed during {name}: {exc.error.message}"
            ) from None
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, HTTPError) as exc:
            raise ToolCallError(
                f"MCP server '{self._slot.config.name}' failed during {name}: {exc or type(exc).__name__}"
            ) from None

    async def list_tools(self, *args: Any, **kwargs: Any) -> Any:
        session = await self._session()
        with about_server(self._slot):
            return await session.list_tools(*args, **kwargs)


@contextmanager
def about_server(slot: ServerSlot) -> Iterator[None]:
    """The requests made inside carry what the pool knows of the slot's server (see ``request_attributes``)."""
    token = request_attributes.set(slot.about)
    try:
        yield
    finally:
        request_attributes.reset(token)


class _AsFastMCPClient:
    """A handle in the shape ``langchain.mcp.as_langchain_tool`` calls through (a FastMCP ``Client``'s
    ``async with``, ``call_tool(..., raise_on_error=)`` and ``server_info``): the pooled session, not
    a second connection per call."""

    def __init__(self, slot: ServerSlot) -> None:
        self._slot, self._handle = slot, SessionHandle(slot)

    async def __aenter__(self) -> _AsFastMCPClient:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        return None

    @property
    def server_info(self) -> Any:
        return getattr(self._slot.session, "server_info", None)

    async def call_tool(self, name: str, arguments: dict[str, Any], *, raise_on_error: bool = True) -> Any:
        result = await self._handle.call_tool(name, arguments)
        if raise_on_error and is_error(result):
            raise ToolCallError(f"{self._slot.config.name}.{name} answered with an error")
        return result


def import_langchain_mcp() -> Any:
    """``langchain.mcp``, without the beta warning it prints on import: a user's stderr gets what
    went wrong, not that a library is in beta."""
    import importlib
    import warnings

    from langchain_core._api import LangChainBetaWarning  # first: it adds a filter of its own that would win

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=LangChainBetaWarning)
        return importlib.import_module("langchain.mcp")


async def langchain_tools(slot: ServerSlot) -> list[Any]:
    """The server's tools as LangChain tools, by the installed stack's own library: langchain-mcp-adapters
    on mcp 1.x, ``langchain.mcp`` on 2.x. They call through the slot, so they follow restarts."""
    if GENERATION >= 2:
        as_langchain_tool = import_langchain_mcp().as_langchain_tool
        client, handle = _AsFastMCPClient(slot), SessionHandle(slot)
        tools, cursor = [], None
        while True:
            params: Any = types.PaginatedRequestParams(cursor=cursor) if cursor else None
            listed = await handle.list_tools(params=params)
            tools += [await as_langchain_tool(tool, client) for tool in listed.tools]
            if not (cursor := listed.next_cursor):
                return tools
    from langchain_mcp_adapters.tools import load_mcp_tools

    return await load_mcp_tools(SessionHandle(slot), server_name=slot.config.name)  # type: ignore[arg-type]


@dataclass
class ServerSlot:
    config: ServerConfig
    ready: anyio.Event = field(default_factory=anyio.Event)
    available: anyio.Event = field(default_factory=anyio.Event)
    session: ClientSession | None = None
    tools: list[Any] = field(default_factory=list)  # LangChain tools, when the pool loads them
    process: launcher.ServerProcess | None = None
    error: BaseException | None = None
    ready_s: float | None = None
    url: str | None = None  # an HTTP server's endpoint, once known
    about: dict[str, Any] = field(default_factory=dict)  # its name, transport, address: for its request spans
    http_error_status: int | None = None  # the last HTTP error status its endpoint answered
    http_errors: int = 0  # how many it has answered
    breaker: CircuitBreaker = field(init=False)

    def saw_http_error(self, status: int) -> None:
        self.http_error_status = status
        self.http_errors += 1

    def __post_init__(self) -> None:
        self.breaker = CircuitBreaker(
            self.config.name, failures=self.config.breaker_failures, cooldown_s=self.config.breaker_cooldown_s
        )
