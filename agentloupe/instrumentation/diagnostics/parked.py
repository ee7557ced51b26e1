"""Daemon threads parked between jobs: the watchdog's and the loop monitor's work runs on one.

A program (or a test suite) that calls ``asyncio.run`` thousands of times would otherwise make
and join two threads per loop. A job begins on a parked thread (one is made only when none is
free), and its end is waited for on an event, not by joining the thread.
"""

from __future__ import annotations

import os
import queue
import threading
import weakref
from collections.abc import Callable

IDLE_NAME = "agentloupe-parked"


class Job:
    """One piece of work handed to a parked thread; ``wait`` for its end."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.ident: int | None = None  # the thread running it, once it runs

    def wait(self, timeout: float) -> bool:
        return self.done.wait(timeout)

    def on_this_thread(self) -> bool:
        return self.ident == threading.get_ident()


class _Parked(threading.Thread):
    def __init__(self) -> None:
        super().__init__(name=IDLE_NAME, daemon=True)
        self.jobs: queue.SimpleQueue[tuple[Callable[[], None], str, Job]] = queue.SimpleQueue()

    def run(self) -> None:
        while True:
            target, name, job = self.jobs.get()
            self.name, job.ident = name, threading.get_ident()
            try:
                target()
            except BaseException:  # a job's failure is its own; the thread parks again
                pass
            finally:
                self.name = IDLE_NAME
                with _lock:
                    _idle.append(self)
                job.done.set()


_idle: list[_Parked] = []
_lock = threading.Lock()
_running: weakref.WeakSet[Job] = weakref.WeakSet()


def run_parked(target: Callable[[], None], name: str) -> Job:
    """Run ``target`` on a parked daemon thread named ``name`` while it runs."""
    job = Job()
    _running.add(job)
    with _lock:
        worker = _idle.pop() if _idle else None
    if worker is None:
        worker = _Parked()
        worker.start()
    worker.jobs.put((target, name, job))
    return job


def parked_threads() -> int:
    """Threads parked now (for tests)."""
    return len(_idle)


def _after_fork_in_child() -> None:
    """The parent's threads are not in the child: none is parked, no job of theirs runs here (and
    the lock may have been held by one of them at the fork)."""
    global _lock
    _lock = threading.Lock()
    _idle.clear()
    for job in list(_running):
        job.done.set()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
