"""One persistent MCP session per server, each owned by one task for its whole life.

Closing a session from another task breaks anyio cancel scopes, so every
server gets an owner task that launches it, opens the session, loads its tools
once, waits for the pool to close, and then closes what it opened, in order.
"""

from __future__ import annotations

import math
import time
from contextlib import AsyncExitStack
from typing import Any
from urllib.parse import urlparse

import anyio
from opentelemetry import context as otel_context

from agentloupe.instrumentation import semconv
from agentloupe.instrumentation.diagnostics.watchdog import active as watchdog_active
from agentloupe.instrumentation.diagnostics.watchdog import deadline as watchdog_deadline
from agentloupe.instrumentation.spans import mark_error, traced
from agentloupe.instrumentation.telemetry import lazylog, metrics
from agentloupe.platform.config import Settings
from agentloupe.platform.errors import AgentloupeError, ServerStartError
from agentloupe.platform.sessions import headstart, launcher
from agentloupe.platform.sessions.answers import Answers
from agentloupe.platform.sessions.client import (
    MAX_RESTARTS,
    PooledClientSession,
    ServerSlot,
    about_server,
    langchain_tools,
)
from agentloupe.platform.sessions.http import http_streams
from agentloupe.platform.sessions.mcpsdk import (
    GENERATION,
    OFFERED_PROTOCOL_VERSION,
    ClientSession,
    McpError,
    httpx,
)
from agentloupe.platform.sessions.stdio import stdio_streams

log = lazylog.get_logger("agentloupe.sessions")
START_RETRY_FIRST_DELAY_S = 0.25  # then 0.5: three attempts in all, inside the start deadline
START_ATTEMPTS = 3


def _ours(exc: BaseException) -> AgentloupeError | None:
    """Our own error inside (nested) exception groups, if there is one: it already says what happened."""
    if isinstance(exc, AgentloupeError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            if (found := _ours(inner)) is not None:
                return found
    return None


def _start_failure(exc: BaseException, slot: ServerSlot) -> str | None:
    """What went wrong starting ``slot``'s session, for the user; None for what is not a start failure."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, McpError):
        # mcp 2 answers an HTTP error status with a JSON-RPC error that no longer names it
        return _http_status(slot.http_error_status, slot) if slot.http_error_status else exc.error.message
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout) and slot.url and slot.process is None:
        return f"cannot connect to {slot.url} ({exc}): is the server running there? check 'url' in your mcp.json"
    if isinstance(exc, httpx.HTTPStatusError):
        return _http_status(exc.response.status_code, slot)
    if isinstance(exc, httpx.HTTPError | OSError | anyio.BrokenResourceError | anyio.ClosedResourceError):
        return str(exc) or type(exc).__name__
    return None


def _http_status(status: int, slot: ServerSlot) -> str:
    if status in (401, 403):
        return (
            f"{slot.url} answered HTTP {status} (it wants credentials): give them in mcp.json,"
            ' e.g. "headers": {"Authorization": "Bearer ${env:MY_TOKEN}"}'
        )
    if status == 421:
        return (
            f"{slot.url} answered HTTP 421: the server does not accept this Host header (DNS-rebinding protection);"
            " a proxy in between must pass the Host the server allows"
        )
    return f"{slot.url} answered HTTP {status}: is it an MCP streamable-HTTP endpoint?"


async def _wait_for_port(url: str, process: launcher.ServerProcess | None, name: str) -> None:
    """Wait until the HTTP server accepts connections: the real signal, retried under the caller's deadline."""
    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or (443 if parsed.scheme == "https" else 80)
    delay = 0.005
    while True:
        if process is not None and process.returncode is not None:
            raise ServerStartError(
                name, f"exited with code {process.returncode} before listening", list(process.stderr_tail)
            )
        try:
            stream = await anyio.connect_tcp(host, port)
        except OSError:
            await anyio.sleep(delay)
            delay = min(delay * 2, 0.1)
            continue
        await stream.aclose()
        return


class SessionPool:
    """Start servers concurrently, hold their sessions, stop them in order.

    >>> async with SessionPool(settings, telemetry_env) as pool:  # doctest: +SKIP
    ...     tools = pool.tools()
    """

    def __init__(
        self,
        settings: Settings,
        telemetry_env: dict[str, str],
        *,
        only: list[str] | None = None,
        all_required: bool = False,
        langchain_tools: bool = True,
    ) -> None:
        self.settings = settings
        self.telemetry_env = telemetry_env
        self.answers = Answers.for_run(settings.answers)  # what a server asking the person is told
        # `loupe call` needs its one server; a run goes on without a server that is not "required"
        self.all_required = all_required or only is not None
        # `loupe call` talks to one session and needs no LangChain tools (nor their import time)
        self.langchain_tools = langchain_tools
        self.missing: dict[str, str] = {}  # server -> why it is not there (a degraded run)
        names = only if only is not None else settings.autostarted()
        self.slots = {name: ServerSlot(settings.servers[name]) for name in names}
        self._closing = anyio.Event()
        self._stop_context: Any = None
        self._exit_stack = AsyncExitStack()
        self._shield: anyio.CancelScope | None = None

    # -- lifecycle ---------------------------------------------------------

    async def __aenter__(self) -> SessionPool:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()

    async def open(self) -> None:
        """Start every server concurrently; return when all are ready, raise if one is not."""
        # Entered before the task group so close() can shield the whole wind-down.
        self._shield = self._exit_stack.enter_context(anyio.CancelScope())
        tg = await self._exit_stack.enter_async_context(anyio.create_task_group())
        self._exit_stack.push_async_callback(self._signal_close)
        try:
            for slot in self.slots.values():
                tg.start_soon(self._own, slot, name=f"mcp-session-{slot.config.name}")
            for slot in self.slots.values():
                await slot.ready.wait()
            failed = [slot for slot in self.slots.values() if slot.error is not None]
            fatal = [slot for slot in failed if self.all_required or slot.config.required]
            if fatal:
                raise fatal[0].error  # type: ignore[misc]
            for slot in failed:
                self.missing[slot.config.name] = str(slot.error)
                log.warning(
                    "server_missing", server=slot.config.name, error=str(slot.error), action="going on without it"
                )
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        """Close every session and stop every server, each by its owner task. Idempotent."""
        if self._shield is not None:
            self._shield.shield = True
        await self._exit_stack.aclose()

    async def _signal_close(self) -> None:
        if self._stop_context is None:
            self._stop_context = otel_context.get_current()
        self._closing.set()

    def begin_close(self) -> None:
        """Record the caller's span as the parent of the coming stop_server spans."""
        self._stop_context = otel_context.get_current()

    # -- the owner task ----------------------------------------------------

    async def _own(self, slot: ServerSlot) -> None:
        """The owner task: start the server, hold its session, restart it if it dies, stop it."""
        config = slot.config
        generation = 0
        # A first start that fails is tried again, with backoff, inside the server's start deadline.
        start_by = anyio.current_time() + self.settings.start_timeout(config)
        delay = START_RETRY_FIRST_DELAY_S
        attempts = 1
        try:
            while True:
                try:
                    budget = start_by - anyio.current_time() if not slot.ready.is_set() else None
                    closing = await self._generation(slot, generation, budget)
                except ServerStartError as exc:
                    left = start_by - anyio.current_time()
                    tried_enough = attempts >= START_ATTEMPTS or left <= delay + 0.5
                    if slot.ready.is_set() or not exc.retryable or tried_enough or self._closing.is_set():
                        raise
                    attempts += 1
                    log.info("server_start_retry", server=config.name, error=str(exc), in_s=delay)
                    await anyio.sleep(delay)
                    delay *= 2
                    continue
                if closing or self._closing.is_set():
                    return
                generation += 1
                if generation > MAX_RESTARTS:
                    log.error("server_gave_up", server=config.name, restarts=MAX_RESTARTS)
                    return
        except Exception as exc:
            slot.error = exc
        finally:
            if not slot.ready.is_set() and slot.error is None:
                slot.error = ServerStartError(config.name, "start was cancelled")
            slot.ready.set()
            slot.available.set()  # waiters fail fast on a missing session instead of hanging

    async def _generation(self, slot: ServerSlot, generation: int, budget_s: float | None = None) -> bool:
        """One life of the server's session; a failure to start becomes a ServerStartError naming it."""
        try:
            return await self._session_life(slot, generation, budget_s)
        except Exception as exc:  # a transport fails in its own task group: the error comes out here
            if slot.ready.is_set():
                raise
            said = _ours(exc)
            if said is not None:
                raise said from None
            reason = _start_failure(exc, slot)
            if reason is None:
                raise
            raise await self._start_error(slot, reason) from None

    async def _session_life(self, slot: ServerSlot, generation: int, budget_s: float | None = None) -> bool:
        """One life of the server process. True: the pool is closing; False: the server died."""
        config = slot.config
        attrs = {semconv.SERVER_NAME: config.name, semconv.SERVER_TRANSPORT: config.kind}
        timeout = budget_s if budget_s is not None else self.settings.start_timeout(config)
        name = f"start_server {config.name}" if generation == 0 else f"restart_server {config.name}"
        # The deadline scope encloses everything the stack opens (task
        # groups must nest inside it); it is lifted once the server is ready.
        # With a watchdog, its hang event (with the stuck await chain) lands first.
        grace = 0.25 if watchdog_active() is not None else 0.0
        with anyio.CancelScope(deadline=anyio.current_time() + timeout + grace) as deadline:
            async with AsyncExitStack() as stack:
                early = headstart.pending(config) if generation == 0 else None
                with traced(
                    name,
                    attributes={**attrs, "agentloupe.server.restarts": generation},
                    start_time=early.at_ns if early else None,  # launched before the pool (a head start)
                ) as span:
                    claimed = time.perf_counter()
                    started = early.at_s if early else claimed
                    if early is not None:
                        span.set_attribute(semconv.SERVER_CLAIMED_MS, round((claimed - started) * 1000, 2))
                    try:
                        with watchdog_deadline("server_start", span=span, seconds=timeout, cancellable=False):
                            await self._connect(slot, stack, span)
                    except anyio.get_cancelled_exc_class():
                        if deadline.cancel_called:
                            mark_error(span, "timeout", f"not ready within {timeout:g}s")
                        raise
                    except Exception as exc:  # the transports raise inside task groups: look at the leaf
                        reason = _start_failure(exc, slot)
                        if reason is None:
                            raise
                        raise await self._start_error(slot, reason) from None
                    deadline.deadline = math.inf
                    slot.ready_s = time.perf_counter() - started
                    span.set_attribute(semconv.SERVER_READY_MS, round(slot.ready_s * 1000, 2))
                    # Launched ahead, the server waited for the command's imports: the histogram
                    # keeps what the pool waited for, not the imports (the span shows both).
                    waited = slot.ready_s - (claimed - started)
                    metrics.server_start_duration().record(waited, {semconv.SERVER_NAME: config.name})
                slot.ready.set()
                slot.available.set()
                opened = time.perf_counter()
                with anyio.CancelScope(shield=True):
                    # Only close() ends a session (a cancelled run still stops in order),
                    # unless the server process dies first.
                    closing = await self._closing_or_exit(slot)
                slot.available = anyio.Event()
                session_attrs = {semconv.SERVER_NAME: config.name}
                metrics.mcp_client_session_duration().record(time.perf_counter() - opened, session_attrs)
                if closing:
                    with traced(f"stop_server {config.name}", attributes=attrs, context=self._stop_context):
                        await stack.aclose()
                    return True
                if slot.process is not None:
                    # A dying server's pipe can close before its exit is reaped: give the
                    # exit (and its last stderr lines) a moment, so it is named for what it is.
                    with anyio.CancelScope(shield=True):
                        await slot.process.settle()
                code = slot.process.returncode if slot.process else None
                what = "server_exited" if code is not None else "session_lost"
                log.warning(
                    what,
                    server=config.name,
                    exit_code=code,
                    stderr=list(slot.process.stderr_tail)[-3:] if slot.process else [],
                    action="restarting",
                )
                metrics.server_restarts().add(1, session_attrs)
                with traced(
                    f"{what} {config.name}",
                    attributes={**attrs, semconv.PROCESS_EXIT_CODE: code if code is not None else -1},
                ) as span:
                    mark_error(
                        span,
                        what,
                        f"exited with code {code}"
                        if code is not None
                        else "the session's transport failed (HTTP error, cut stream or closed pipe)",
                    )
                    slot.session = None
                    try:
                        await stack.aclose()
                    except Exception as exc:
                        log.debug("transport_closed_with_error", server=config.name, error=repr(exc))
        if deadline.cancelled_caught and not slot.ready.is_set():
            raise ServerStartError(
                config.name,
                f"not ready within {timeout:g}s (raise start_timeout in mcp.json if it is just slow)",
                list(slot.process.stderr_tail) if slot.process else None,
            )
        return False

    async def _closing_or_exit(self, slot: ServerSlot) -> bool:
        """Wait for the pool to close (True), the server process to exit or its session to be lost (False)."""
        process = slot.process.process if slot.process is not None else None
        session = slot.session
        outcome: list[bool] = []
        async with anyio.create_task_group() as tg:

            async def first(waiter: Any) -> None:
                await waiter()
                outcome.append(self._closing.is_set())
                tg.cancel_scope.cancel()

            tg.start_soon(first, self._closing.wait)
            if process is not None:
                tg.start_soon(first, process.wait)
            if isinstance(session, PooledClientSession):
                tg.start_soon(first, session.lost.wait)
        return outcome[0] if outcome else True

    async def _start_error(self, slot: ServerSlot, reason: str) -> ServerStartError:
        process = slot.process
        if process is not None:
            # The session can notice the closed pipe before the pump has read the
            # server's last words on stderr: they are what the user needs to read.
            with anyio.CancelScope(shield=True):
                await process.settle()
        if process is not None and process.returncode is not None:
            reason = f"exited with code {process.returncode} ({reason})"
        return ServerStartError(slot.config.name, reason, list(process.stderr_tail) if process else None)

    async def _connect(self, slot: ServerSlot, stack: AsyncExitStack, span: Any) -> None:
        config = slot.config
        if config.launched:
            process = await headstart.claim(config) or await launcher.launch(config, self.telemetry_env)
            slot.process = process
            span.set_attribute(semconv.PROCESS_PID, process.pid)
            tg = await stack.enter_async_context(anyio.create_task_group())
            tg.start_soon(process.pump_stderr)
            # Pushed after the pump's task group so it runs first on close:
            # the pump ends only when the stopped process closes its stderr.
            stack.push_async_callback(launcher.stop, process, self.settings.server_stop_grace_s)
        info: dict[str, Any] = {"server_name": config.name}
        attach: Any = None
        get_session_id: Any = None
        if config.kind == "stdio":
            assert slot.process is not None
            read, write = await stack.enter_async_context(stdio_streams(slot.process.process, name=config.name))
            info["network_transport"] = "pipe"
        else:
            port = slot.process.port if slot.process else None
            url = (config.url or "").replace("{port}", str(port))
            slot.url = url
            if slot.process is not None:
                await _wait_for_port(url, slot.process, config.name)
            parsed = urlparse(url)
            read, write, get_session_id, attach = await stack.enter_async_context(
                http_streams(url, config.name, dict(config.headers), on_error_status=slot.saw_http_error)
            )
            info.update(
                network_transport="tcp",
                server_address=parsed.hostname,
                server_port=parsed.port,
                session_id=get_session_id,
            )
            span.set_attribute("url.full", url)
        session = await stack.enter_async_context(
            PooledClientSession(
                read,
                write,
                elicitation_callback=self.answers.callback(config.name),
                sampling_callback=self.answers.sampler(),
                list_roots_callback=self.answers.roots,
            )
        )
        if attach is not None:
            attach(session)
        if GENERATION == 1:
            from agentloupe.instrumentation.mcp.client_v1 import annotate_session

            annotate_session(session, **info)
        # mcp 2: the SDK's own request spans get these from the enricher (instrumentation/mcp/v2.py)
        slot.about = {
            semconv.SERVER_NAME: config.name,
            semconv.NETWORK_TRANSPORT: info["network_transport"],
            **({semconv.SERVER_ADDRESS: info["server_address"]} if info.get("server_address") else {}),
            **({semconv.SERVER_PORT: info["server_port"]} if info.get("server_port") else {}),
            **({semconv.MCP_PROTOCOL_VERSION: OFFERED_PROTOCOL_VERSION} if OFFERED_PROTOCOL_VERSION else {}),
        }
        with about_server(slot):
            await session.initialize()
        if version := getattr(session, "protocol_version", None):
            slot.about[semconv.MCP_PROTOCOL_VERSION] = version
        if GENERATION >= 2 and get_session_id is not None and (session_id := get_session_id()):
            slot.about[semconv.MCP_SESSION_ID] = session_id  # a stateful HTTP server's, once it gave one
        slot.session = session
        if self.langchain_tools and not slot.tools:  # loaded once; after a restart they follow the new session
            slot.tools = await langchain_tools(slot)

    # -- what callers use --------------------------------------------------

    def tools(self) -> list[Any]:
        """The LangChain tools of every started server (``langchain_core.tools.BaseTool``)."""
        return [tool for slot in self.slots.values() for tool in slot.tools]

    def tool_servers(self) -> dict[str, str]:
        return {tool.name: name for name, slot in self.slots.items() for tool in slot.tools}

    def session(self, server: str) -> ClientSession:
        slot = self.slots[server]
        assert slot.session is not None
        return slot.session
