"""Run an MCP SDK server as an instrumented process: telemetry in, clean exit out.

Why a runtime of our own instead of ``FastMCP.run()``: a FastMCP stdio server
dies on SIGTERM without running cleanup (0 spans written), and uvicorn
re-raises SIGTERM after its graceful stop. Here SIGTERM/SIGINT stop the server
gracefully and the spans are flushed within a budget that fits inside the 2 s
the MCP stdio client waits after closing stdin.

One code path for mcp 1.x (``FastMCP``) and 2.x (``MCPServer``): what differs
between them is in ``sdk.py``.
"""

from __future__ import annotations

import signal

# Until the watchdog installs its SIGUSR1 stack dump, a SIGUSR1 must not kill
# the server (its default action): ignore it from the first line on.
signal.signal(signal.SIGUSR1, signal.SIG_IGN)

import argparse
import logging
import os
import socket
import sys
import threading
from contextlib import suppress
from pathlib import Path
from typing import Any, NoReturn

import anyio

from agentloupe._httpauth import TokenError, is_loopback, read_token, require_bearer
from agentloupe._uvicorn import server_without_signal_handling
from agentloupe.instrumentation import configure, instrument_mcp, semconv, shutdown
from agentloupe.instrumentation.diagnostics.memory import LeakTracker
from agentloupe.instrumentation.diagnostics.watchdog import WatchdogConfig, watching
from agentloupe.instrumentation.spans import add_span_hook, remove_span_hook
from agentloupe.instrumentation.telemetry import lazylog
from agentloupe.instrumentation.telemetry.processenv import ChildSettings
from agentloupe.servers.sdk import HttpSettings, Server, ToolError, http_app, transport_security

log = lazylog.get_logger("agentloupe.server")

WATCH_STDIN_ENV = "AGENTLOUPE_WATCH_STDIN"
MCP_TOKEN_ENV = "AGENTLOUPE_MCP_TOKEN"
STATELESS_ENV = "AGENTLOUPE_STATELESS_HTTP"
SERVER_FLUSH_BUDGET_S = 1.0


def _watch_stdin_eof(on_eof) -> None:
    """Exit when the parent goes away: a launched HTTP server gets a stdin pipe it never reads."""

    def reader() -> None:
        try:
            while sys.stdin.buffer.read(65536):
                pass
        except (OSError, ValueError):
            pass
        on_eof()

    threading.Thread(target=reader, name="agentloupe-stdin-watch", daemon=True).start()


async def _serve_http(mcp: Server, http: HttpSettings, listen: socket.socket, bearer: str | None = None) -> None:
    import uvicorn  # only HTTP servers pay for it

    app: Any = http_app(mcp, http)
    if bearer is not None:
        app = require_bearer(app, bearer)
    config = uvicorn.Config(
        app,
        host=http.host,
        port=http.port,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=1,
    )
    server = server_without_signal_handling(config)
    token = anyio.lowlevel.current_token()

    def stop() -> None:
        server.should_exit = True

    def stop_threadsafe() -> None:
        anyio.from_thread.run_sync(stop, token=token)

    if os.environ.get(WATCH_STDIN_ENV) == "1":
        _watch_stdin_eof(stop_threadsafe)

    async with anyio.create_task_group() as tg:

        async def on_signal() -> None:
            with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                async for _ in signals:
                    stop()
                    return

        tg.start_soon(on_signal)
        await server.serve(sockets=[listen])
        tg.cancel_scope.cancel()


async def _serve_stdio(mcp: Server) -> None:
    async with anyio.create_task_group() as tg:

        async def on_signal() -> None:
            with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                async for _ in signals:
                    tg.cancel_scope.cancel()
                    return

        tg.start_soon(on_signal)
        await mcp.run_stdio_async()  # returns on stdin EOF
        tg.cancel_scope.cancel()


class _SampleAfterToolCalls:
    """With memory checks on, a server samples memory after each tool call (for the leak report)."""

    def __init__(self) -> None:
        self.tracker = LeakTracker()

    def on_start(self, span) -> None:
        pass

    def before_end(self, span) -> None:
        if getattr(span, "name", "").startswith(semconv.SPAN_TOOLS_CALL + " "):
            self.tracker.sample(span)


async def _observed(serve_coro, *args) -> None:
    """The same watchdog and memory probe as the agent, inside the server's loop."""
    settings = ChildSettings.from_env()
    # Samples (a GC and a snapshot per tool call) only when the agent asked for a leak report.
    sampler = _SampleAfterToolCalls() if settings.memory and settings.leak_samples else None
    if sampler is not None:
        add_span_hook(sampler)
    try:
        # A server only reports; cancelling is the caller's decision (it sends notifications/cancelled).
        async with watching(WatchdogConfig.from_settings(settings, policy="report"), memory=settings.memory):
            await serve_coro(*args)
    finally:
        if sampler is not None:
            remove_span_hook(sampler)


def parse_args(argv: list[str] | None, *, transport: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=f"agentloupe bundled MCP server ({transport})")
    if transport == "http":
        parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=0, help="port to bind (default: a free one)")
        parser.add_argument(
            "--allowed-host",
            action="append",
            default=[h for h in os.environ.get("AGENTLOUPE_ALLOWED_HOSTS", "").split(",") if h],
            metavar="HOST:PORT",
            help="Host header to accept (DNS-rebinding protection; '*' as port matches any); "
            "required to bind a non-loopback address; also AGENTLOUPE_ALLOWED_HOSTS",
        )
        parser.add_argument(
            "--token-file",
            type=Path,
            help=f"file with the bearer token every request must carry (else {MCP_TOKEN_ENV}); "
            "required to bind a non-loopback address, unless --no-auth",
        )
        parser.add_argument("--no-auth", action="store_true", help="bind a non-loopback address without a token")
        parser.add_argument(
            "--stateless",
            action="store_true",
            default=os.environ.get(STATELESS_ENV) == "1",
            help="stateless streamable HTTP with JSON responses: any replica answers any request, so replicas "
            f"can sit behind any load balancer (also {STATELESS_ENV}=1)",
        )
    return parser.parse_args(argv)


def _exit_with(message: str) -> NoReturn:
    """A refusal is one line on stderr and exit status 2, like argparse's: no traceback."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def _read_token(args: argparse.Namespace) -> str | None:
    try:
        return read_token(token_file=args.token_file, env_var=MCP_TOKEN_ENV)
    except TokenError as exc:
        _exit_with(str(exc))


def _refuse_unsafe_bind(args: argparse.Namespace, token: str | None) -> None:
    """A non-loopback address is reachable by others: it needs a token (or --no-auth) and allowed hosts."""
    if is_loopback(args.host):
        return
    if token is None and not args.no_auth:
        _exit_with(
            f"refusing to bind {args.host} without a token: set {MCP_TOKEN_ENV} or --token-file "
            "(clients send it as Authorization: Bearer ...), or pass --no-auth to mean it"
        )
    if not args.allowed_host:
        _exit_with(
            f"refusing to bind {args.host} without DNS-rebinding protection settings: "
            "name the Host headers to accept with --allowed-host (e.g. weather-mcp:*), "
            "and put auth and TLS in front of it"
        )


def _listen_socket(args: argparse.Namespace) -> socket.socket:
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    try:
        return socket.create_server((args.host, args.port), family=family)
    except OSError as exc:
        _exit_with(f"cannot listen on {args.host}:{args.port}: {exc.strerror}")


def _bind_http(args: argparse.Namespace) -> tuple[HttpSettings, socket.socket]:
    """The socket bound before the server starts, so the URL can be printed before the slow part."""
    listen = _listen_socket(args)
    host, port = listen.getsockname()[:2]
    # --stateless: no session lives in one replica's memory: initialize, tools/list and every call
    # may each reach a different replica. (Server-to-client requests and notifications need a
    # session: the bundled tools send none.)
    http = HttpSettings(
        host=args.host, port=port, stateless=args.stateless, transport_security=transport_security(args.allowed_host)
    )
    # One line on stderr so a launcher (or a human) knows where to connect.
    print(f"agentloupe-server listening url=http://{host}:{port}/mcp", file=sys.stderr, flush=True)
    return http, listen


def serve(mcp: Server, *, transport: str, service_name: str, argv: list[str] | None = None) -> None:
    """Run ``mcp`` over ``transport`` ("stdio" or "http") until stdin EOF or SIGTERM."""
    args = parse_args(argv, transport=transport)
    lazylog.configure_when_imported(level=os.environ.get("AGENTLOUPE_LOG_LEVEL", "WARNING"))
    if transport == "http":
        token = _read_token(args)
        _refuse_unsafe_bind(args, token)
        http, listen = _bind_http(args)
    configure(default_service_name=service_name, shutdown_budget_s=SERVER_FLUSH_BUDGET_S)
    instrument_mcp()
    try:
        if transport == "http":
            anyio.run(_observed, _serve_http, mcp, http, listen, token)
        else:
            anyio.run(_observed, _serve_stdio, mcp)
    except KeyboardInterrupt:
        pass
    finally:
        shutdown()
    # Everything is flushed: leave at once. The interpreter's teardown (collecting every module of
    # mcp, pydantic, OpenTelemetry) took a third of `stop_server`, measured, and the caller waits for it.
    for stream in (sys.stdout, sys.stderr):
        with suppress(ValueError, OSError):  # a stdio server's stdout is closed by now
            stream.flush()
    os._exit(0)


class _SessionEndIsNotAnError(logging.Filter):
    """mcp 1.30 logs "Error in standalone SSE writer" with a ClosedResourceError traceback every
    time a client ends its session cleanly (the session's streams are closed under the writer).
    That is the normal end of a session, not an error: it is not logged. Other errors still are."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not (
            record.getMessage().startswith("Error in standalone SSE writer")
            and isinstance(error, anyio.ClosedResourceError | anyio.BrokenResourceError)
        )


def new_server(name: str, instructions: str) -> Server:
    """The SDK's server (FastMCP on mcp 1.x, MCPServer on 2.x), logging at AGENTLOUPE_LOG_LEVEL.

    Both pass log_level="INFO" themselves unless told, so FASTMCP_LOG_LEVEL does nothing."""
    level = os.environ.get("AGENTLOUPE_LOG_LEVEL", "WARNING").upper()
    server = Server(name, instructions=instructions, log_level=level)  # type: ignore[arg-type]
    # The server configured its handlers just now: filter there, so the record never reaches a handler
    logging.getLogger("mcp.server.streamable_http").addFilter(_SessionEndIsNotAnError())
    return server


__all__ = ["Server", "ToolError", "new_server", "serve"]
