"""One run's life, shared by the bundled agent's runs and a developer's own graph's.

The watchdog and memory probe around it (``observed``), its duration metric (``timed_run``),
servers it went on without (``note_missing``, ``with_missing``), the bounded shutdown of its
sessions (``shutdown_pool``) and what it hands back (``RunResult``).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from opentelemetry import trace

from agentloupe.instrumentation import semconv
from agentloupe.instrumentation.diagnostics.watchdog import deadline, watching
from agentloupe.instrumentation.spans import error_type_of, traced
from agentloupe.instrumentation.telemetry import metrics
from agentloupe.platform.config import Settings

if TYPE_CHECKING:  # the pool (and the MCP SDK) is imported where a command uses it: --graph may not
    from agentloupe.platform.sessions import SessionPool

#: Modules LangChain imports lazily on first use, inside the event loop: an
#: import there blocks the loop for 100-200 ms (measured), which the loop
#: monitor rightly reports. Importing them before the loop starts keeps
#: the first run's trace about the agent, not about import time.
LAZY_IMPORTS = ("langchain_core.tracers.context", "langchain_core.tracers.langchain", "langchain_core.tracers.stdout")


def preload() -> None:
    import importlib

    for name in LAZY_IMPORTS:
        with suppress(ImportError):
            importlib.import_module(name)


@dataclass
class RunResult:
    answer: str
    trace_id: str
    run_id: str
    missing: dict[str, str] = field(default_factory=dict)  # servers the run went on without, and why
    declined: list[str] = field(default_factory=list)  # questions to the user no one answered, a line each
    thread_id: str | None = None  # a checkpointed graph's thread (--graph)
    interrupts: list[Any] = field(default_factory=list)  # what interrupt() asked, when the run stopped there
    streamed: bool = False  # the answer was printed as it came (--stream)


def current_trace_id() -> str:
    return format(trace.get_current_span().get_span_context().trace_id, "032x")


@asynccontextmanager
async def observed(settings: Settings) -> AsyncIterator[object]:
    """The watchdog and the memory probe around a run (what the library's ``watch()`` runs too)."""
    async with watching(settings.watchdog_config(), memory=settings.memory) as watchdog:
        yield watchdog


async def shutdown_pool(pool: SessionPool) -> None:
    with traced(semconv.SPAN_SHUTDOWN) as span:
        with deadline("shutdown", span=span, cancellable=False):  # closes scopes opened before it
            pool.begin_close()
            await pool.close()
        span.set_attribute(semconv.SERVERS_STOPPED, len(pool.slots))


class AbandonStuckThreads(ThreadPoolExecutor):
    """A default executor whose shutdown does not wait: the run is over, and a thread still
    running is stuck (a sync node past its deadline), to be left behind, not waited for."""

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        super().shutdown(wait=False, cancel_futures=True)


@contextmanager
def timed_run(agent_name: str) -> Iterator[None]:
    """Record one agent invocation in ``agentloupe.run.duration`` (with ``error.type`` when it raised)."""
    started = time.perf_counter()
    outcome: dict[str, str] = {}
    try:
        yield
    except BaseException as exc:
        outcome[semconv.ERROR_TYPE] = error_type_of(exc)
        raise
    finally:
        metrics.agent_run_duration().record(
            time.perf_counter() - started, {semconv.GEN_AI_AGENT_NAME: agent_name, **outcome}
        )


def note_missing(span: Any, missing: dict[str, str]) -> None:
    """A degraded run: the servers it goes on without are on its root span (and ERROR start spans)."""
    if missing:
        span.set_attribute(semconv.SERVERS_MISSING, sorted(missing))
        span.add_event("servers_missing", {name: why[:300] for name, why in missing.items()})


def with_missing(answer: str, missing: dict[str, str]) -> str:
    """The answer, saying which servers were missing (their tools were not there to use)."""
    if not missing:
        return answer
    notes = "\n".join(f"- {why}" for why in missing.values())
    return f"{answer}\n\nNot available in this run (their tools were not used):\n{notes}"
