"""A blocked event loop, caught from outside it.

A heartbeat thread schedules a callback on the loop and waits for it: past
the threshold (default 100 ms) the loop is blocked, and the loop thread's
stack at that moment names the blocking line.

A block inside C code that holds the GIL (a catastrophic regex) stops the
heartbeat thread too. For those, the loop re-arms a real-time interval timer
(``setitimer``) at each heartbeat, set to the same threshold; if the loop stays
stuck past it, SIGALRM reaches the loop thread and ``faulthandler``'s C-level
handler writes that thread's own stack. The alarm also fires during an ordinary
block (a ``time.sleep``); the heartbeat thread, which saw that one on time,
throws that dump away. A block is as long as it was measured (last heartbeat to
the loop's return), never the timer's value.
Why not ``faulthandler.dump_traceback_later``: its watchdog thread reads the
frames of a thread that is still running Python code, and crashed the agent
(SIGSEGV, seen here with tracemalloc snapshots on the loop).

Three kinds of late loops are not reported as blocks: a loop thread that was
waiting for a CPU (the machine is busy; Linux schedstat tells), a loop busy
with agentloupe's own checks (tracemalloc snapshots, which ``--memory`` is
documented to cost), and a garbage-collector pause (reported on its own, as
``gc_pause``: it is the runtime, not a line of the program).
"""

from __future__ import annotations

import asyncio
import faulthandler
import gc
import os
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import IO

from agentloupe.instrumentation.diagnostics.loopblock import IMPORTING, LoopBlock
from agentloupe.instrumentation.diagnostics.parked import Job, run_parked
from agentloupe.instrumentation.diagnostics.stacks import importing, thread_stack
from agentloupe.instrumentation.telemetry import metrics

_own_work = threading.Event()  # own work happened since the last heartbeat
_own_depth = 0  # own work running now (the loop thread only changes it)
_alarm_owner: LoopMonitor | None = None


def _own_work_seen() -> bool:
    return _own_depth > 0 or _own_work.is_set()


@contextmanager
def own_work() -> Iterator[None]:
    """Mark agentloupe's own expensive checks: a loop late because of them is not a finding.

    The C-level alarm is paused meanwhile, so it does not fire on our own snapshot.
    """
    global _own_depth
    _own_depth += 1
    _own_work.set()  # the monitor clears it at each heartbeat
    owner = _alarm_owner
    paused = owner is not None and threading.current_thread() is threading.main_thread()
    if paused:
        signal.setitimer(signal.ITIMER_REAL, 0)
    try:
        yield
    finally:
        _own_depth -= 1
        _own_work.set()
        if paused and owner is not None:
            owner._arm(force=True)


#: The loop threads' schedstat files, open (a read every heartbeat: one system call, not three).
_schedstat_fds: dict[int, int] = {}


def _schedstat_s(native_id: int, field: int) -> float | None:
    """A thread's Linux schedstat, in seconds: field 0 its time on a CPU, field 1 its time runnable
    but waiting for one (the machine busy); None where unknown."""
    try:
        fd = _schedstat_fds.get(native_id)
        if fd is None:
            fd = _schedstat_fds[native_id] = os.open(f"/proc/self/task/{native_id}/schedstat", os.O_RDONLY)
        return int(os.pread(fd, 128, 0).split()[field]) / 1e9
    except (OSError, ValueError, IndexError):
        return None


def _forget_schedstat(native_id: int) -> None:
    fd = _schedstat_fds.pop(native_id, None)
    if fd is not None:
        with suppress(OSError):
            os.close(fd)


def _run_queue_wait_s(native_id: int) -> float | None:
    return _schedstat_s(native_id, 1)


_dump: IO[str] | None = None


def _dump_file() -> IO[str]:
    """Where faulthandler writes the loop thread's stack when the alarm fires: one file for the
    process, open for its life (a program running many short loops makes it once)."""
    global _dump
    if _dump is None:
        _dump = tempfile.TemporaryFile(mode="w+", prefix="agentloupe-block-")  # noqa: SIM115
    return _dump


def _forget_dump_file() -> None:
    global _dump
    _dump = None  # a forked child makes its own: the parent reads this one


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_dump_file)


class LoopMonitor:
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        *,
        threshold_s: float = 0.1,
        interval_s: float = 0.02,
        c_level_s: float | None = None,
        on_block: Callable[[LoopBlock], None],
        on_block_start: Callable[[list[str]], None] | None = None,
        on_block_seen: Callable[[], None] | None = None,
    ) -> None:
        self.loop = loop
        self.threshold_s = threshold_s
        self.interval_s = interval_s
        self.c_level_s = threshold_s if c_level_s is None else c_level_s  # 0: no C-level timer
        self.on_block = on_block
        self.on_block_start = on_block_start
        # called as a block is seen, before its stack is read: what the loop was running then
        # is read first (the loop may finish the block while the stack is read)
        self.on_block_seen = on_block_seen
        self._dump_lock = threading.Lock()
        self.starved = 0
        self.own = 0
        self._stop = threading.Event()
        self._job: Job | None = None
        self._waiting_beat = threading.Event()  # the heartbeat the monitor waits for now
        self._loop_thread_id = threading.get_ident()
        self._loop_native_id = threading.get_native_id()
        self._dump_file: IO[str] | None = None
        self._dump_read = 0
        self.on_gc_pause: Callable[[float, int, int], None] | None = None
        self.gc_pauses = 0
        self._gc_total = 0.0
        self._gc_started = 0.0
        # the loop was last seen alive (a heartbeat ran on it), and the GC total then
        self.last_beat = time.monotonic()
        self._gc_at_beat = 0.0
        self._gap: tuple[float, float, float] = (0.0, 0.0, 0.0)  # (seconds, of which in GC, loop CPU)
        self._cpu_at_beat = time.thread_time()  # the loop thread's CPU seconds at its last beat (built on it)
        self._seen_on_time = False  # the heartbeat thread saw the current block while it lasted
        self._c_level_found = 0  # C-level blocks found (by either thread): one block, one report
        self._arm_skipped = False  # a beat left the alarm as it was (own work) since the dump was read

    # -- the C-level timer --------------------------------------------------

    def _start_c_level_timer(self) -> None:
        global _alarm_owner
        # SIGALRM goes to the main thread; elsewhere there is no safe C-level timer.
        if not self.c_level_s or threading.current_thread() is not threading.main_thread():
            return
        if _alarm_owner is not None:
            return  # another monitor owns the process's one alarm: leave it to it
        if signal.getsignal(signal.SIGALRM) not in (signal.SIG_DFL, signal.SIG_IGN, None):
            return  # the program uses SIGALRM itself: leave it alone
        dump = _dump_file()
        self._dump_file = dump
        self._dump_read = os.fstat(dump.fileno()).st_size  # what monitors before this one left
        faulthandler.register(signal.SIGALRM, file=dump, all_threads=False, chain=False)
        _alarm_owner = self
        self._arm()

    def _arm(self, force: bool = False) -> None:
        """On the loop: push the alarm further out while the loop is alive (not during our own work)."""
        armed = self._dump_file is not None and self.c_level_s is not None and not self._stop.is_set()
        if armed and (force or _own_depth == 0):
            signal.setitimer(signal.ITIMER_REAL, self.c_level_s or 0)
        elif armed:
            self._arm_skipped = True  # the alarm may fire with the loop alive: read the dump anyway

    def _stop_c_level_timer(self) -> None:
        global _alarm_owner
        if _alarm_owner is self:
            _alarm_owner = None
        if self._dump_file is None:
            return
        signal.setitimer(signal.ITIMER_REAL, 0)
        faulthandler.unregister(signal.SIGALRM)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        self._dump_file = None  # (the file stays open for the next loop's monitor)

    def read_dump(self) -> str | None:
        """New C-level block dumps since the last read (thread-safe; either side may read first)."""
        with self._dump_lock:
            self._arm_skipped = False
            return self._read_dump_locked()

    def _read_dump_locked(self) -> str | None:
        if self._dump_file is None:
            return None
        try:
            size = os.fstat(self._dump_file.fileno()).st_size
            if size <= self._dump_read:
                return None
            with open(f"/proc/self/fd/{self._dump_file.fileno()}", encoding="utf-8", errors="replace") as reader:
                reader.seek(self._dump_read)
                dump = reader.read()
            self._dump_read = size
            return dump
        except (OSError, ValueError):
            return None

    # -- lifecycle ------------------------------------------------------------

    # -- garbage collection ---------------------------------------------------

    def _gc_callback(self, phase: str, info: dict) -> None:
        """A gen-2 collection of a big heap stops every thread for 100+ ms (measured): a runtime
        pause, not a line of the program, so it is told apart from a blocked loop."""
        now = time.perf_counter()
        if phase == "start":
            self._gc_started = now
            return
        took = now - self._gc_started
        self._gc_total += took
        if took >= self.threshold_s and self.on_gc_pause is not None:
            with suppress(Exception):
                self.on_gc_pause(took, info.get("generation", -1), info.get("collected", 0))

    def start(self) -> None:
        gc.callbacks.append(self._gc_callback)
        self._start_c_level_timer()
        self._job = run_parked(self._run, "agentloupe-loop-monitor")

    def stop(self) -> None:
        self._stop.set()
        if self._gc_callback in gc.callbacks:
            gc.callbacks.remove(self._gc_callback)
        if threading.current_thread() is threading.main_thread():
            self._stop_c_level_timer()
        self._waiting_beat.set()  # wake the monitor now, not when the beat it waits for is due
        if self._job is not None and not self._job.on_this_thread() and self._job.wait(timeout=1.0):
            _forget_schedstat(self._loop_native_id)  # (not while the monitor may still read it)

    def _beat(self, done: threading.Event) -> None:
        now, cpu = time.monotonic(), time.thread_time()
        # the longest silence between beats since a dump was last read: the block a dump belongs
        # to may be over, and a beat run, before either thread reads it
        if now - self.last_beat > self._gap[0]:
            self._gap = (now - self.last_beat, self._gc_total - self._gc_at_beat, cpu - self._cpu_at_beat)
        self.last_beat, self._cpu_at_beat = now, cpu
        self._gc_at_beat = self._gc_total
        done.set()
        self._arm()

    def _loop_cpu_s(self) -> float | None:
        """The loop thread's CPU seconds so far, from either thread."""
        if threading.get_ident() == self._loop_thread_id:
            return time.thread_time()
        return _schedstat_s(self._loop_native_id, 0)

    def c_level_block_over(self) -> LoopBlock | None:
        """On the loop thread, once it runs again: the C-level block that just ended, if any.

        None when the alarm fired during a block the heartbeat thread saw on time (that one is
        reported with its own stack), a garbage-collector pause, or agentloupe's own work.
        """
        if self._seen_on_time:
            return None
        if not self._dump_may_wait():
            return None
        dump = self.read_dump()
        if not dump:
            return None
        (gap, gap_gc, gap_cpu), self._gap = self._gap, (0.0, 0.0, 0.0)
        blocked, in_gc = time.monotonic() - self.last_beat, self._gc_total - self._gc_at_beat
        now_cpu = self._loop_cpu_s()
        cpu = None if now_cpu is None else now_cpu - self._cpu_at_beat
        if gap > blocked:
            blocked, in_gc, cpu = gap, gap_gc, gap_cpu
        if cpu is not None and cpu < blocked / 2:
            # The loop was not running all along: a silence that long is partly the monitor's own
            # (descheduled on a busy machine, or late to take the GIL back). The loop's CPU time is
            # the block; an idle loop (no CPU) was not blocked at all.
            blocked = cpu
        if _own_work_seen() or in_gc >= blocked / 2 or blocked < self.threshold_s:
            return None
        self._c_level_found += 1
        return LoopBlock.from_dump(blocked, dump)

    def _dump_may_wait(self) -> bool:
        """Could the alarm have fired since the dump was last read? Only after a silence of the loop
        as long as its timer (or a beat that left the timer as it was). Checked before the dump's
        size is (a system call, made at every span's end and every beat otherwise)."""
        if self._dump_file is None:
            return False
        silence = max(time.monotonic() - self.last_beat, self._gap[0])
        return self._arm_skipped or silence >= (self.c_level_s or 0)

    def _report_c_level_block(self) -> None:
        """Monitor thread: a dump is waiting. It is read on the loop thread, where no span can end
        between the read and the report (from here, the loop could end the blocked span meanwhile)."""
        dump = self._dump_file
        if dump is None or not self._dump_may_wait():
            return
        try:
            waiting = os.fstat(dump.fileno()).st_size > self._dump_read
        except (OSError, ValueError):
            return
        if waiting:
            with suppress(RuntimeError):  # loop closed
                self.loop.call_soon_threadsafe(self._c_level_on_loop)

    def _c_level_on_loop(self) -> None:
        with suppress(Exception):
            if (block := self.c_level_block_over()) is not None:
                self.on_block(block)

    def _classify(
        self, blocked: float, stack: list[str], waited: float | None, own: bool, in_gc: float, late: bool
    ) -> LoopBlock | None:
        # A dump is a C-level finding only when the heartbeat thread could not run during the
        # block (it woke late: the GIL was held): the loop thread reports that one (_c_level_on_loop).
        # Otherwise the alarm caught an ordinary block: its dump is dropped here.
        if late:
            self._report_c_level_block()
            return None
        self.read_dump()
        self._gap = (0.0, 0.0, 0.0)  # this block's silence is accounted for here
        if own:
            self.own += 1
            return None
        if in_gc >= blocked / 2:
            self.gc_pauses += 1
            return None
        if waited is not None and waited > blocked / 2:
            self.starved += 1
            return None
        return LoopBlock.from_stack(blocked, stack)

    def _run(self) -> None:
        lag_metric = metrics.event_loop_lag()
        while not self._stop.is_set():
            try:
                done = self._waiting_beat = threading.Event()
                if self._stop.is_set():
                    return
                waited_before = _run_queue_wait_s(self._loop_native_id)
                _own_work.clear()
                gc_before = self._gc_total
                sent = time.monotonic()
                found_before = self._c_level_found
                try:
                    self.loop.call_soon_threadsafe(self._beat, done)
                except RuntimeError:  # loop closed
                    return
                if done.wait(self.threshold_s):
                    # The beat ran, but this thread may have got the GIL back only now: C code that
                    # started right after the beat kept it (the alarm's dump tells).
                    self._report_c_level_block()
                else:
                    # Woke well past the threshold: this thread could not run (the GIL was held
                    # in C code, or the machine was busy): the loop's stack now is not the block's.
                    late = time.monotonic() - sent > self.threshold_s * 1.5
                    if not late:
                        self._seen_on_time = True
                    if not late and self.on_block_seen is not None:
                        self.on_block_seen()
                    module = None if late else importing(self._loop_thread_id)
                    # an import is deep: the whole stack, so the program's line that led to it is in it
                    stack = [] if late else thread_stack(self._loop_thread_id, limit=200 if module else 30)
                    if module:
                        stack.append(IMPORTING + module)
                    in_gc = self._gc_total - gc_before
                    if (
                        not late
                        and self.on_block_start is not None
                        and not _own_work_seen()
                        and in_gc < (time.monotonic() - sent) / 2
                    ):
                        self.on_block_start(stack)
                    while not done.wait(0.05):
                        if self._stop.is_set():
                            return
                    blocked = time.monotonic() - sent
                    waited_after = _run_queue_wait_s(self._loop_native_id)
                    waited = (
                        waited_after - waited_before if waited_before is not None and waited_after is not None else None
                    )
                    block = self._classify(blocked, stack, waited, _own_work_seen(), self._gc_total - gc_before, late)
                    self._seen_on_time = False  # this block is accounted for
                    if block is not None and self._c_level_found == found_before:
                        self.on_block(block)
                if self._stop.is_set():
                    return  # (woken by stop(): no lag to record)
                lag_metric.record(time.monotonic() - sent)
                # Between heartbeats too: a block in C code holding the GIL keeps this thread from
                # waking; the alarm's dump (the loop stuck past the threshold since its last beat)
                # is that block, unless the loop thread already reported it.
                self._stop.wait(self.interval_s)
                self._report_c_level_block()
            except Exception:
                pass
