"""One command's life: telemetry from settings, signals, a bounded shutdown, an exit code.

The CLI hands ``execute()`` the work of a command; what comes back says what
happened, as a user would be told it: a value, or an exit code with a one-line
message. Nothing here prints (``say`` does, for the caller) or knows about typer.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import anyio

from agentloupe.instrumentation import instrument_mcp
from agentloupe.instrumentation.diagnostics.exceeded import EXIT_DEADLINE, DeadlineExceeded
from agentloupe.instrumentation.telemetry import setup as telemetry
from agentloupe.instrumentation.telemetry.lazylog import configure_when_imported
from agentloupe.instrumentation.telemetry.tracefiles import prune_trace_files
from agentloupe.platform.config import Settings
from agentloupe.platform.errors import AgentloupeError

T = TypeVar("T")
EXIT_SIGNALLED = {signal.SIGINT: 130, signal.SIGTERM: 143}
EXIT_BAD_INPUT = 2


@dataclass
class Outcome(Generic[T]):
    """What a command came to: ``value`` when it finished, else ``exit_code`` and ``message``."""

    value: T | None
    exit_code: int
    message: str | None
    trace_file: bool  # spans went to the embedded trace files (a tree can be shown)
    endpoint: str | None
    protocol: str | None
    error: BaseException | None = None
    spans_ended: int = 0  # with an endpoint: what this process sent, and what never arrived
    spans_undelivered: int = 0

    @property
    def bad_input(self) -> bool:
        return self.exit_code == EXIT_BAD_INPUT


def first_leaf(exc: BaseException) -> BaseException:
    """The error a user should hear about inside an exception group (ours first)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        preferred: list[BaseException] = [e for e in exc.exceptions if isinstance(e, AgentloupeError)]
        exc = (preferred or list(exc.exceptions))[0]
    return exc


async def _with_signals(work: Callable[[], Awaitable[T]], caught: list[int]) -> T | None:
    """Run ``work``; SIGINT/SIGTERM cancel it, and its own finally blocks shut down in order."""
    result: list[T] = []
    async with anyio.create_task_group() as tg:

        async def watch() -> None:
            with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                async for signum in signals:
                    caught.append(signum)
                    tg.cancel_scope.cancel()
                    return

        async def body() -> None:
            result.append(await work())
            tg.cancel_scope.cancel()

        tg.start_soon(watch)
        tg.start_soon(body)
    return result[0] if result else None


def start_telemetry(settings: Settings, *, instrument: bool = True) -> telemetry.Telemetry:
    configure_when_imported(level=settings.log_level)  # a command that logs nothing does not import structlog
    prune_trace_files()  # storage stays bounded: the newest AGENTLOUPE_TRACES_KEEP traces
    setup = telemetry.configure(
        service_name=settings.service_name,
        otlp_endpoint=settings.otlp_endpoint,
        protocol=settings.otlp_protocol,
        capture_content=settings.capture_content,
        shutdown_budget_s=settings.telemetry_budget_s,
        prometheus_port=settings.prometheus_port,
    )
    if instrument:
        instrument_mcp()
    return setup


def _launching_first(
    settings: Settings,
    servers: list[str],
    prepare: Callable[[], object],
    work: Callable[[], Awaitable[T]],
    say: Callable[[str], None],
) -> Callable[[], Awaitable[T]]:
    """``work`` with a head start: ``servers`` launched first, then this process's telemetry set
    up; the MCP instrumentation and ``prepare`` (the imports ``work`` needs) run on a thread while
    they boot, then ``work``."""

    async def launched_first() -> T:
        from agentloupe.platform.sessions import require_stack

        require_stack()  # no MCP SDK (a LangGraph project without MCP): one line, before any launch
        from agentloupe.platform.sessions.headstart import head_start
        from agentloupe.platform.sessions.launcher import child_environment

        async with head_start(settings, servers, child_environment(settings)):
            _say_where_metrics_are(start_telemetry(settings, instrument=False), say)
            # abandon_on_cancel: Ctrl-C stops the servers now, not once the imports are done
            await anyio.to_thread.run_sync(_instrumented_then, prepare, abandon_on_cancel=True)
            return await work()

    return launched_first


def _say_where_metrics_are(setup: telemetry.Telemetry, say: Callable[[str], None]) -> None:
    if setup.prometheus is not None:
        say(f"metrics for Prometheus at http://127.0.0.1:{setup.prometheus.port}/metrics")


def _instrumented_then(prepare: Callable[[], object]) -> None:
    instrument_mcp()
    import structlog  # noqa: F401 - the pool logs: its first event must not import structlog on the loop

    import agentloupe.platform.sessions.pool  # noqa: F401 - imports mcp: the largest share of the wait

    prepare()


def _linger_s() -> float:
    try:
        return float(os.environ.get("AGENTLOUPE_PROMETHEUS_LINGER", "15"))
    except ValueError:
        return 15.0


def execute(
    settings: Settings,
    work: Callable[[], Awaitable[T]],
    *,
    own_signals: bool = False,
    say: Callable[[str], None] = lambda line: None,
    launch_first: list[str] | None = None,
    prepare: Callable[[], object] = lambda: None,
    uses_mcp: bool = True,
) -> Outcome[T]:
    """Run ``work`` with telemetry on, under signal handling; flush within budget; map errors to exits.

    ``own_signals``: ``work`` handles SIGTERM/SIGINT itself (``loupe serve`` drains first,
    ``loupe exec`` passes them on). ``launch_first``: servers to launch before ``work``'s imports
    (``headstart``), and ``prepare`` (``work``'s imports) run on a thread while they boot.
    ``uses_mcp=False``: this process makes no MCP call (``loupe exec``: the program does), so
    it does not pay for importing the SDK.
    """
    if launch_first is None:
        _say_where_metrics_are(start_telemetry(settings, instrument=uses_mcp), say)
    else:  # the servers are launched before this process sets up its telemetry
        work = _launching_first(settings, launch_first, prepare, work, say)
    caught: list[int] = []
    value: T | None = None
    error: BaseException | None = None
    try:
        value = anyio.run(work) if own_signals else anyio.run(_with_signals, work, caught)
    except BaseException as exc:
        error = first_leaf(exc)
    setup = telemetry.current()
    if setup is None or setup.shut_down:  # stopped before its telemetry was set up: set up for the error
        setup = start_telemetry(settings, instrument=False)
    if setup.prometheus is not None and _linger_s() > 0:
        say(
            f"waiting up to {_linger_s():g} s for Prometheus to scrape the last figures"
            " (AGENTLOUPE_PROMETHEUS_LINGER=0 skips the wait)"
        )
    telemetry.shutdown()
    outcome = Outcome(value, 0, None, setup.trace_file is not None, setup.endpoint, setup.protocol, error)
    outcome.spans_ended, outcome.spans_undelivered = setup.ended, setup.undelivered
    if caught:
        outcome.exit_code = EXIT_SIGNALLED.get(signal.Signals(caught[0]), 1)
        outcome.message = f"stopped by {signal.Signals(caught[0]).name}"
    elif isinstance(error, AgentloupeError):
        outcome.exit_code, outcome.message = error.exit_code, str(error)
    elif isinstance(error, DeadlineExceeded):
        outcome.exit_code, outcome.message = EXIT_DEADLINE, str(error)
    elif isinstance(error, KeyboardInterrupt):
        outcome.exit_code = 130
    elif error is not None:
        if os.environ.get("AGENTLOUPE_DEBUG"):
            raise error
        outcome.exit_code = 1
        outcome.message = f"unexpected {_described(error)} (set AGENTLOUPE_DEBUG=1 for the traceback)"
    return outcome


def _described(error: BaseException) -> str:
    """``Type: message``, then what it was raised from: a library's wrapper hides the real cause
    ("requires the langchain-openai package" when the package is there and one of its modules failed)."""
    text = f"{type(error).__name__}: {error}"
    cause = error.__cause__
    if cause is not None and str(cause) not in text:
        text += f" (from {type(cause).__name__}: {cause})"
    return text
