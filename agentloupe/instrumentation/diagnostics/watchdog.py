"""The hang watchdog: deadlines on every kind of operation, checked from a monitor thread.

(Loop blocks and GC pauses are attributed to spans in ``blocks.py``; the stack
walking is ``stacks.py``; the heartbeat is ``loopmonitor.py``.)

Past its deadline an operation's span gets a ``hang`` event with the stuck
task's await chain and what the loop thread is doing; a warning is logged,
the hang counter rises, and with the ``cancel`` policy the operation is
cancelled and fails with ``TimeoutError`` (``error.type=timeout``). The
``run`` deadline always cancels. SIGUSR1 dumps every task and thread.
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractContextManager, asynccontextmanager, contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from typing import Any

import anyio
from opentelemetry import trace
from opentelemetry.trace import Span

from agentloupe.instrumentation import semconv
from agentloupe.instrumentation.diagnostics.blocks import BlockReporter, in_span
from agentloupe.instrumentation.diagnostics.exceeded import EXIT_DEADLINE, DeadlineExceeded
from agentloupe.instrumentation.diagnostics.loopblock import LoopBlock
from agentloupe.instrumentation.diagnostics.loopmonitor import LoopMonitor
from agentloupe.instrumentation.diagnostics.parked import Job, run_parked
from agentloupe.instrumentation.diagnostics.stacks import thread_stack
from agentloupe.instrumentation.diagnostics.waits import all_stacks, deadlocked, span_of_node, waits_of
from agentloupe.instrumentation.diagnostics.waits import headline as waits_headline
from agentloupe.instrumentation.spans import add_span_hook, remove_span_hook
from agentloupe.instrumentation.telemetry import lazylog, metrics
from agentloupe.instrumentation.telemetry.processenv import DEFAULT_TIMEOUTS, ChildSettings, Policy

log = lazylog.get_logger("agentloupe.watchdog")
__all__ = ["DEFAULT_TIMEOUTS", "EXIT_DEADLINE", "DeadlineExceeded", "WatchdogConfig", "watching"]

ALWAYS_CANCEL = frozenset({"run"})
#: How long a server, past a request's deadline, leaves its caller to cancel the request itself
#: (the caller's deadline is the same one, begun a moment before: its cancel is the one that counts;
#: the server's is for a caller that has none). The hang is reported at the deadline all the same.
CALLER_GRACE_S = 1.0


@dataclass(eq=False)
class Deadline:
    """One watched operation. ``span`` is where its hang is reported: code that learns of the
    operation's own span only inside the deadline (an SDK's request span) moves it there."""

    kind: str
    seconds: float
    due: float
    task: asyncio.Task[Any] | None
    span: Span | None
    scope: anyio.CancelScope | None
    reported: bool = False
    cancelled: bool = False
    stuck_at: str = ""
    cancels_task: bool = False  # no scope around it: cancelling means cancelling the task
    grace: float = 0.0  # reported when due, cancelled this much later (if its body is still open)
    cancel_pending: bool = False
    #: What the operation waits for on the other side (its client's model, a person): while it
    #: waits, its time does not run; ``describe`` is what a hang of it is said to wait for
    waiting: list[str] = field(default_factory=list)
    paused_remaining: float = 0.0
    describe: str = ""


@dataclass
class WatchdogConfig:
    timeouts: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_TIMEOUTS))
    policy: Policy = "report"
    loop_threshold_s: float = 0.1
    c_level_s: float | None = None  # None: the loop threshold; 0: no C-level timer
    poll_s: float = 0.05
    # Kinds the user set: only those bound a program's own graph runs and nodes (a default
    # 300 s run deadline must not cancel a program that never asked for one)
    explicit: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, settings: ChildSettings, *, policy: Policy | None = None) -> WatchdogConfig:
        """The watchdog a process runs with these settings (``ChildSettings.from_env()`` in a child)."""
        return cls(
            timeouts={**DEFAULT_TIMEOUTS, **settings.timeouts},
            policy=policy or settings.on_hang,
            loop_threshold_s=settings.loop_threshold_s,
            explicit=frozenset(settings.timeouts),
        )


_active: HangWatchdog | None = None


class HangWatchdog:
    """Deadlines + loop monitor + SIGUSR1 dump for the running event loop.

    >>> async with HangWatchdog(WatchdogConfig(policy="cancel")):  # doctest: +SKIP
    ...     await agent()
    """

    def __init__(self, config: WatchdogConfig | None = None) -> None:
        self.config = config or WatchdogConfig()
        self._deadlines: dict[int, Deadline] = {}  # lock-free, see _OpenSpans
        self._stop = threading.Event()
        self._job: Job | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread_id = 0
        self._monitor: LoopMonitor | None = None
        self._reporter = BlockReporter(self.config.loop_threshold_s)
        self._outer: HangWatchdog | None = None
        self._cancelled: dict[int, DeadlineExceeded] = {}  # id(task) -> the deadline that cancelled it
        # Recent findings, bounded: the watchdog must not become a leak of its own.
        self.hangs: deque[dict[str, Any]] = deque(maxlen=100)

    @property
    def blocks(self) -> deque[LoopBlock]:
        return self._reporter.blocks

    # -- lifecycle ----------------------------------------------------------

    async def __aenter__(self) -> HangWatchdog:
        self.start()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        self.stop()

    def start(self) -> None:
        global _active
        self._loop = asyncio.get_running_loop()
        self._loop_thread_id = threading.get_ident()
        add_span_hook(self._reporter.open_spans)
        # A watchdog inside another on the same loop (the program's watch() under loupe exec) keeps its
        # own deadlines; the loop monitor, its alarm and the SIGUSR1 dump stay the outer one's.
        self._outer = _active
        nested = self._outer is not None and self._outer._loop is self._loop
        if self.config.loop_threshold_s > 0 and not nested:
            self._monitor = LoopMonitor(
                self._loop,
                threshold_s=self.config.loop_threshold_s,
                c_level_s=self.config.c_level_s,
                on_block=self._reporter.block_over,
                on_block_start=self._reporter.block_started,
                on_block_seen=self._reporter.block_seen,
            )
            self._monitor.on_gc_pause = self._reporter.gc_pause
            self._reporter.monitor = self._monitor
            self._monitor.start()
        if not nested:
            with suppress(ValueError):  # not the main thread: no signal handler, the rest still works
                _dump_on_sigusr1()
        _active = self

    def stop(self) -> None:
        global _active
        if _active is self:
            _active = self._outer  # the watchdog this one was inside, if any, is the active one again
        self._stop.set()
        if self._monitor is not None:
            self._monitor.stop()
        remove_span_hook(self._reporter.open_spans)
        if self._job is not None and not self._job.on_this_thread():
            self._job.wait(timeout=1.0)

    # -- deadlines ------------------------------------------------------------

    @contextmanager
    def deadline(
        self,
        kind: str,
        *,
        span: Span | None = None,
        seconds: float | None = None,
        cancellable: bool = True,
        grace: float = 0.0,
        describe: str = "",
    ) -> Iterator[Deadline]:
        """Watch the body against the deadline of ``kind``; the body gets the deadline.

        ``cancellable=False`` for a body that opens async contexts which outlive
        it (a cancel scope must enclose them): it is only ever reported.
        ``grace``: reported when due, cancelled that many seconds later if still open (a server
        leaves its caller, whose deadline is the same, the time to cancel the request itself).
        """
        limit = seconds if seconds is not None else self.config.timeouts.get(kind, DEFAULT_TIMEOUTS.get(kind, 60.0))
        try:
            task = asyncio.current_task()
        except RuntimeError:
            task = None
        entry = Deadline(
            kind=kind,
            seconds=limit,
            due=time.monotonic() + limit,
            task=task,
            span=span if span is not None else trace.get_current_span(),
            # a scope only where the deadline may cancel (--on-hang cancel, or a kind always
            # cancelled): entering one costs more than the rest of a deadline (measured)
            scope=anyio.CancelScope() if cancellable and self._may_cancel(kind) else None,
            grace=grace,
            describe=describe,
        )
        self._watch(entry)
        if entry.scope is None:  # (most deadlines: only reported, nothing to enter)
            try:
                yield entry
            finally:
                self._deadlines.pop(id(entry), None)
            return
        try:
            with entry.scope:
                yield entry
        finally:
            self._deadlines.pop(id(entry), None)
        if entry.cancelled and entry.scope is not None and entry.scope.cancelled_caught:
            why = "" if kind in ALWAYS_CANCEL else " (--on-hang cancel)"
            raise DeadlineExceeded(kind, limit, entry.stuck_at, why=why)

    def _watch(self, entry: Deadline) -> None:
        self._deadlines[id(entry)] = entry
        if self._job is None and not self._stop.is_set():  # the thread that watches: from the first deadline on
            self._job = run_parked(self._run, "agentloupe-watchdog")

    def _may_cancel(self, kind: str) -> bool:
        return self.config.policy == "cancel" or kind in ALWAYS_CANCEL

    @contextmanager
    def waiting_for(self, what: str, *, spans: list[Span] | None = None) -> Iterator[None]:
        """The body waits on the other side (``what``: its client's model, a person's answer): the
        deadlines it runs under (the current task's, or those of ``spans``) stop their clocks until
        it ends, and say what they wait for. Waiting for a person is not a hang; a deadline for the
        answer is its own kind (``person``), set only when asked for."""
        try:
            task = asyncio.current_task()
        except RuntimeError:
            task = None
        held = [
            entry
            for entry in list(self._deadlines.values())
            if not entry.reported and (entry.span in spans if spans is not None else entry.task is task)
        ]
        now = time.monotonic()
        for entry in held:
            if not entry.waiting:
                entry.paused_remaining = entry.due - now
            entry.waiting.append(what)
        try:
            yield
        finally:
            now = time.monotonic()
            for entry in held:
                if entry.waiting == [what]:  # the last wait: its clock runs again (set before the
                    entry.due = now + entry.paused_remaining  # wait goes, which the monitor reads)
                with suppress(ValueError):
                    entry.waiting.remove(what)

    def deadline_if_set(self, kind: str, *, span: Span | None, describe: str) -> AbstractContextManager[Any]:
        """A deadline of ``kind`` only when the user set one (``--timeout person=300``): none by default."""
        limit = self.config.timeouts.get(kind) if kind in self.config.explicit else None
        if not limit:
            return _NOT_WATCHED
        return self.deadline(kind, span=span, seconds=limit, describe=describe)

    def open_deadline(self, kind: str, *, span: Span | None) -> object | None:
        """A deadline for code that runs between two callbacks (a graph run, a node), on the current
        task: reported like any other, cancelled by cancelling that task. None when ``kind`` has no
        deadline (``node`` has none unless set) or there is no task."""
        limit = self.config.timeouts.get(kind) if kind in self.config.explicit else None
        try:
            task = asyncio.current_task()
        except RuntimeError:
            task = None
        if not limit or task is None:
            return None
        entry = Deadline(kind, limit, time.monotonic() + limit, task, span, None, cancels_task=True)
        self._watch(entry)
        return entry

    def close_deadline(self, handle: object | None) -> None:
        if handle is not None:
            self._deadlines.pop(id(handle), None)

    def watching_kind(self, kind: str) -> bool:
        """Is a deadline of ``kind`` open on the current task (the runner's own ``run`` deadline)?"""
        try:
            task = asyncio.current_task()
        except RuntimeError:
            return False
        return any(entry.kind == kind and entry.task is task for entry in list(self._deadlines.values()))

    def take_cancellation(self) -> DeadlineExceeded | None:
        """In a task a callback-driven deadline cancelled, as its ``CancelledError`` arrives: the
        error to raise instead, the cancellation withdrawn (it was ours, not the caller's). None for
        any other cancellation, which goes on as it is."""
        try:
            task = asyncio.current_task()
        except RuntimeError:
            return None
        exceeded = self._cancelled.pop(id(task), None) if task is not None else None
        if exceeded is not None and task is not None:
            task.uncancel()
        return exceeded

    def _cancel_if_open(self, entry: Deadline, exceeded: DeadlineExceeded) -> None:
        """On the loop: cancel the deadline's task, unless its body ended meanwhile (the task does
        other work now: it must not be cancelled for a deadline that is over)."""
        if id(entry) in self._deadlines and entry.task is not None and not entry.task.done():
            self._cancelled[id(entry.task)] = exceeded
            entry.task.cancel()

    def _run(self) -> None:
        # What it reports goes through structlog, imported on first use (lazylog): imported here,
        # off the loop, a report is never held up by (or lost in) that import.
        with suppress(ImportError):
            import structlog  # noqa: F401
        while not self._stop.wait(self.config.poll_s):
            try:
                now = time.monotonic()
                open_ = list(self._deadlines.values())
                for entry in [d for d in open_ if not d.reported and not d.waiting and now >= d.due]:
                    self._report_hang(entry)
                for entry in [d for d in open_ if d.cancel_pending and now >= d.due + d.grace]:
                    self._cancel(entry)
            except Exception:
                pass

    def _report_hang(self, entry: Deadline) -> None:
        entry.reported = True
        own = found = waits_of(entry.task) if entry.task is not None else []
        if entry.kind == "node" and found:
            # a node cannot see a lock cycle alone: its sibling nodes' waits join the picture
            seen = {w.headline() for w in found}
            for sibling in list(self._deadlines.values()):
                if sibling is not entry and sibling.kind == "node" and sibling.task is not None:
                    more = [w for w in waits_of(sibling.task) if w.headline() not in seen]
                    seen.update(w.headline() for w in more)
                    found = found + more
            found = found if deadlocked(found) else own
        chain = [line for wait in found for line in (*wait.chain(), "--")][:-1] if found else []
        loop_stack = thread_stack(self._loop_thread_id, limit=8)
        cancel = (entry.scope is not None or entry.cancels_task) and self._may_cancel(entry.kind)
        stuck_at = f"waiting for {entry.describe}" if entry.describe else waits_headline(found)
        # the error message names a line only when it is the program's own (not a library's wait)
        entry.stuck_at = stuck_at if entry.describe or any(wait.user_frames() for wait in found) else ""
        attributes: dict[str, Any] = {
            semconv.HANG_KIND: entry.kind,
            semconv.HANG_DEADLINE_S: entry.seconds,
            semconv.HANG_AWAIT_CHAIN: chain or ["(no task)"],
            semconv.HANG_STUCK_AT: stuck_at,
            semconv.HANG_LOOP_THREAD: loop_stack[-3:] or ["(idle)"],
            semconv.HANG_ACTION: "cancel" if cancel else "report",
        }
        self.hangs.append(attributes)
        span = entry.span  # read once: the loop may move it (to an SDK's request span) meanwhile
        if span is not None and span.is_recording():
            span.add_event("hang", attributes)
        # and on the span of each graph node that waits, so the tree shows the hang where it is
        marked = {id(span)}
        for wait in found if entry.kind != "node" else ():  # a node's siblings report themselves
            node = span_of_node(wait)
            if node is not None and id(node) not in marked and node.is_recording():
                marked.add(id(node))
                node.add_event("hang", {**attributes, semconv.HANG_STUCK_AT: wait.headline()})
        metrics.hangs_detected().add(1, {semconv.HANG_KIND: entry.kind})
        with in_span(span):
            log.warning(
                "hang_detected",
                kind=entry.kind,
                deadline_s=entry.seconds,
                stuck_at=stuck_at,
                await_chain=chain,
                action=attributes[semconv.HANG_ACTION],
            )
        if cancel:
            entry.cancel_pending = True
            if entry.grace <= 0:
                self._cancel(entry)

    def _cancel(self, entry: Deadline) -> None:
        entry.cancel_pending = False
        if self._loop is None or self._loop.is_closed():
            return
        if entry.scope is not None:
            entry.cancelled = True
            self._loop.call_soon_threadsafe(entry.scope.cancel)
        elif entry.task is not None:
            entry.cancelled = True
            exceeded = DeadlineExceeded(entry.kind, entry.seconds, entry.stuck_at)
            self._loop.call_soon_threadsafe(self._cancel_if_open, entry, exceeded)

    # -- dumps ----------------------------------------------------------------

    def dump_stacks(self) -> str:
        """Every task, as a tree of who awaits whom (grouped by graph node), and every thread's stack."""
        text = all_stacks(self._loop)
        log.warning("stack_dump", stacks=text)
        return text


def _on_sigusr1(signum: int, frame: Any) -> None:
    """Dump the active watchdog's tasks and threads, on its loop (nothing while no loop is watched)."""
    watchdog = _active
    loop = watchdog._loop if watchdog is not None else None
    if watchdog is not None and loop is not None and not loop.is_closed():
        with suppress(RuntimeError):
            loop.call_soon_threadsafe(watchdog.dump_stacks)


def _dump_on_sigusr1() -> None:
    """SIGUSR1 dumps the stacks: installed once for the process (main thread), not per loop (asyncio's
    add_signal_handler costs more than the rest of a watchdog's start), unless the program has its own."""
    current = signal.getsignal(signal.SIGUSR1)
    if current in (signal.SIG_DFL, signal.SIG_IGN, None):  # (the program's own handler is left alone)
        signal.signal(signal.SIGUSR1, _on_sigusr1)


def active() -> HangWatchdog | None:
    return _active


def waiting_for(what: str, *, spans: list[Span] | None = None) -> AbstractContextManager[None]:
    """The active watchdog's ``waiting_for`` (nothing when no watchdog runs)."""
    watchdog = _active
    return _NOT_WATCHED if watchdog is None else watchdog.waiting_for(what, spans=spans)


def deadline_if_set(kind: str, *, span: Span | None, describe: str) -> AbstractContextManager[Any]:
    """The active watchdog's deadline of ``kind`` if the user set one, else none."""
    watchdog = _active
    return _NOT_WATCHED if watchdog is None else watchdog.deadline_if_set(kind, span=span, describe=describe)


_NOT_WATCHED: AbstractContextManager[None] = nullcontext()


def deadline(
    kind: str,
    *,
    span: Span | None = None,
    seconds: float | None = None,
    cancellable: bool = True,
    grace: float = 0.0,
    describe: str = "",
) -> AbstractContextManager[Deadline | None]:
    """The active watchdog's deadline for ``kind`` (None in the body when no watchdog runs)."""
    watchdog = _active
    if watchdog is None:
        return _NOT_WATCHED
    return watchdog.deadline(kind, span=span, seconds=seconds, cancellable=cancellable, grace=grace, describe=describe)


@asynccontextmanager
async def watching(config: WatchdogConfig, *, memory: bool = False) -> AsyncIterator[HangWatchdog]:
    """The hang watchdog and the memory probe (tracemalloc with ``memory``) around a block of async code."""
    from agentloupe.instrumentation.diagnostics.memory import MemoryProbe

    probe = MemoryProbe(use_tracemalloc=memory)
    probe.start()
    try:
        async with HangWatchdog(config) as watchdog:
            yield watchdog
    finally:
        probe.stop()
