"""``loupe serve``: the agent as an HTTP service, sharing one MCP session per server.

    POST /v1/runs {"input": "..."}  -> {"answer", "trace_id", "run_id"}
    GET  /healthz                    -> 200 while the process is alive
    GET  /readyz                     -> 200 once the MCP sessions are up and telemetry is configured

An incoming ``traceparent`` makes the run a child of the caller's trace.
Concurrent runs share the sessions (MCP multiplexes requests on one session)
under a limit that answers 429 when full. SIGTERM stops accepting, lets the
runs in flight finish, then closes sessions and stops servers in order.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import uuid
from contextlib import asynccontextmanager
from typing import Any

import anyio
from opentelemetry import propagate
from opentelemetry.context import Context
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from agentloupe._httpauth import require_bearer
from agentloupe._uvicorn import server_without_signal_handling
from agentloupe.instrumentation import semconv
from agentloupe.instrumentation.spans import traced
from agentloupe.instrumentation.telemetry import lazylog
from agentloupe.instrumentation.telemetry import setup as telemetry
from agentloupe.platform.agent.graph import build_graph
from agentloupe.platform.agent.models import load_model
from agentloupe.platform.agent.tools import local_tools
from agentloupe.platform.commands.runner import invoke_once
from agentloupe.platform.config import Settings
from agentloupe.platform.errors import AgentloupeError
from agentloupe.platform.lifecycle import first_leaf
from agentloupe.platform.runs import observed, shutdown_pool
from agentloupe.platform.sessions import SessionPool
from agentloupe.platform.sessions.launcher import child_environment

log = lazylog.get_logger("agentloupe.serve")
MAX_INPUT_CHARS = 100_000


class AgentService:
    """Owns the session pool (in one task, for its whole life) and runs requests on it."""

    def __init__(self, settings: Settings, max_concurrent: int) -> None:
        self.settings = settings
        self.limit = anyio.Semaphore(max_concurrent)
        self.max_concurrent = max_concurrent
        self.ready = anyio.Event()
        self.failed: BaseException | None = None
        self._stop = anyio.Event()
        self._stopped = anyio.Event()
        self.graph: Any = None
        self.model_name = ""
        self.servers: dict[str, str] = {}  # server -> "ready", or why it is missing

    async def own_pool(self) -> None:
        """The pool's owner task: open, serve until asked to stop, close in order."""
        try:
            async with observed(self.settings):
                model, info = load_model(self.settings.model)
                with traced(semconv.SPAN_SERVE_START):
                    pool = SessionPool(self.settings, child_environment(self.settings))
                    await pool.open()
                self.servers = {name: pool.missing.get(name, "ready") for name in pool.slots}
                try:
                    self.graph = build_graph(model, info, local_tools() + pool.tools(), pool.tool_servers())
                    self.model_name = info.name
                    self.ready.set()
                    log.info("serve_ready", servers=list(pool.slots))
                    await self._stop.wait()
                finally:
                    await shutdown_pool(pool)
        except Exception as exc:
            self.failed = exc
            log.error("serve_start_failed", error=str(exc))
        finally:
            self._stopped.set()

    async def stop(self) -> None:
        self._stop.set()
        await self._stopped.wait()

    async def run(self, request: Request) -> JSONResponse:
        if not self.ready.is_set():
            return JSONResponse({"error": "not ready: MCP sessions are starting"}, status_code=503)
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": 'body must be JSON like {"input": "What is 2 + 3?"}'}, status_code=400)
        question = body.get("input") if isinstance(body, dict) else None
        if not isinstance(question, str) or not question.strip():
            return JSONResponse({"error": 'missing "input": send {"input": "What is 2 + 3?"}'}, status_code=400)
        if len(question) > MAX_INPUT_CHARS:
            return JSONResponse({"error": f'"input" is longer than {MAX_INPUT_CHARS} characters'}, status_code=413)
        longest = self.settings.watchdog_config().timeouts["run"]
        requested = body.get("timeout_s", longest)
        if isinstance(requested, bool) or not isinstance(requested, int | float) or not 0 < requested < float("inf"):
            return JSONResponse({"error": '"timeout_s" must be a number of seconds greater than 0'}, status_code=400)
        run_timeout_s = min(float(requested), longest)  # the caller may ask for less, never for more
        try:
            self.limit.acquire_nowait()
        except anyio.WouldBlock:
            return JSONResponse(
                {"error": f"busy: {self.max_concurrent} runs in flight; retry shortly"},
                status_code=429,
                headers={"Retry-After": "1"},
            )
        try:
            # The caller's trace, extracted into an empty context (never an inherited one).
            parent = propagate.extract(dict(request.headers), context=Context())
            run_id = str(uuid.uuid4())
            attrs = {semconv.RUN_ID: run_id, semconv.RUN_TIMEOUT_S: run_timeout_s}
            answer: str | None = None
            with traced(semconv.SPAN_SERVE_RUN, attributes=attrs, context=parent) as span:
                try:
                    async with anyio.create_task_group() as tg:

                        async def cancel_if_the_client_leaves() -> None:
                            while (await request.receive())["type"] != "http.disconnect":
                                pass
                            span.set_attribute(semconv.CANCELLED, True)
                            span.add_event("client_disconnected", {"reason": "the client closed the connection"})
                            log.warning("serve_run_cancelled", run_id=run_id, reason="client disconnected")
                            tg.cancel_scope.cancel()

                        tg.start_soon(cancel_if_the_client_leaves)
                        answer = await invoke_once(
                            self.graph,
                            self.model_name,
                            run_id,
                            0,
                            question,
                            self.settings,
                            None,
                            run_timeout_s=run_timeout_s,
                        )
                        tg.cancel_scope.cancel()
                except BaseExceptionGroup as group:  # the run's own error, out of the task group
                    raise first_leaf(group) from None
                trace_id = format(span.get_span_context().trace_id, "032x")
            if answer is None:  # nobody is left to read it
                return JSONResponse({"error": "the client disconnected; the run was cancelled"}, status_code=499)
            return JSONResponse({"answer": answer, "trace_id": trace_id, "run_id": run_id})
        except AgentloupeError as exc:
            return JSONResponse({"error": str(exc)}, status_code=500)
        except TimeoutError as exc:
            return JSONResponse({"error": str(exc)}, status_code=504)
        finally:
            self.limit.release()


def build_app(service: AgentService) -> Starlette:
    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "alive"})

    async def readyz(request: Request) -> JSONResponse:
        if service.failed is not None:
            return JSONResponse({"status": "failed", "error": str(service.failed)}, status_code=503)
        configured = telemetry.current() is not None
        if service.ready.is_set() and configured:
            # a missing server that is not "required": still ready, and said so (degraded)
            degraded = any(state != "ready" for state in service.servers.values())
            return JSONResponse({"status": "degraded" if degraded else "ready", "servers": service.servers})
        return JSONResponse({"status": "starting"}, status_code=503)

    @asynccontextmanager
    async def lifespan(app: Starlette):
        async with anyio.create_task_group() as tg:
            tg.start_soon(service.own_pool)
            yield
            await service.stop()

    return Starlette(
        routes=[
            Route("/v1/runs", service.run, methods=["POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
        ],
        lifespan=lifespan,
    )


class ServeError(AgentloupeError):
    """The service cannot start (its port is taken)."""


async def serve(
    settings: Settings, *, host: str, port: int, max_concurrent: int, drain_s: float, token: str | None = None
) -> None:
    """Serve until SIGTERM/SIGINT, then drain the runs in flight and stop in order.

    The port is bound first: a busy one is one clear error before anything starts.
    """
    import uvicorn

    try:
        listen = socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
    except OSError as exc:
        why = os.strerror(exc.errno).lower() if exc.errno else str(exc)
        raise ServeError(f"cannot listen on {host}:{port}: {why} (another process has it? choose --port)") from None
    bound = listen.getsockname()[1]
    print(
        f"loupe: serving on http://{host}:{bound} (POST /v1/runs, GET /healthz, GET /readyz)",
        file=sys.stderr,
        flush=True,
    )
    service = AgentService(settings, max_concurrent)
    app: Any = build_app(service)
    if token is not None:  # the probes stay open: a kubelet has no token
        app = require_bearer(app, token, open_paths=("/healthz", "/readyz"))
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=int(drain_s),
        access_log=False,
    )
    server = server_without_signal_handling(config)
    async with anyio.create_task_group() as tg:

        async def on_signal() -> None:
            with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                async for signum in signals:
                    log.warning("serve_draining", signal=signal.Signals(signum).name)
                    server.should_exit = True
                    return

        tg.start_soon(on_signal)
        await server.serve(sockets=[listen])
        tg.cancel_scope.cancel()
