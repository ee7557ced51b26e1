"""Memory checks: RSS always, tracemalloc when asked, per span and across runs.

Spans run concurrently in one process, so every per-span figure here is
process-wide during the span, not exclusive to it: the attribute names say
``process_`` for that reason.

tracemalloc is off unless asked: it costs 7.5x (1 frame) to 78x (25 frames) on allocation-heavy code
(measured). With it on, each span gets the traced delta and peak; a span that
allocates past a threshold gets an event with its top allocation sites (a
snapshot diff); ``LeakTracker`` samples between runs (``agentloupe.view.leaks``
fits the growth per run from the samples in the trace files).
"""

from __future__ import annotations

import gc
import linecache
import os
import threading
import tracemalloc
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from opentelemetry.trace import Span, SpanKind

from agentloupe.instrumentation import semconv
from agentloupe.instrumentation.diagnostics.loopmonitor import own_work
from agentloupe.instrumentation.spans import add_span_hook, remove_span_hook

DEFAULT_THRESHOLD_BYTES = 1 << 20
#: Spans big enough to be worth a snapshot at their start (snapshots cost ms).
SNAPSHOT_SPANS = (semconv.CLI_SPAN_PREFIX, semconv.OP_INVOKE_AGENT, semconv.OP_EXECUTE_TOOL, semconv.SPAN_TOOLS_CALL)
_IGNORED_FILES = (tracemalloc.__file__, linecache.__file__, "<unknown>")
#: agentloupe's own machinery (its bundled servers are application code: they are kept)
_OWN_DIRS = tuple(
    str(Path(__file__).resolve().parents[2] / part) + os.sep for part in ("instrumentation", "platform", "view")
)
ALL_SITES_ENV = "AGENTLOUPE_MEMORY_ALL_SITES"


def _ignored(filename: str) -> bool:
    """The import machinery, tracemalloc and linecache, and agentloupe's own code: not where a user's memory went."""
    if os.environ.get(ALL_SITES_ENV) == "1":
        return filename == tracemalloc.__file__
    return (
        filename in _IGNORED_FILES
        or filename.startswith(("<frozen ", "<string>"))
        or "/importlib/" in filename
        or filename.startswith(_OWN_DIRS)
    )


def top_sites(new: tracemalloc.Snapshot, old: tracemalloc.Snapshot, limit: int = 5) -> list[dict[str, Any]]:
    """The allocation sites that grew most between two snapshots: the user's code, not the import
    machinery or agentloupe's own (``AGENTLOUPE_MEMORY_ALL_SITES=1`` keeps every site)."""
    sites = []
    # Skipping while walking the sorted stats is far cheaper than filter_traces() on both snapshots.
    for stat in new.compare_to(old, "lineno"):
        if stat.size_diff <= 0:
            break
        frame = stat.traceback[0]
        if _ignored(frame.filename):
            continue
        sites.append(
            {"site": f"{frame.filename}:{frame.lineno}", "size_bytes": stat.size_diff, "count": stat.count_diff}
        )
        if len(sites) == limit:
            break
    return sites


def _sites_text(sites: list[dict[str, Any]]) -> list[str]:
    return [f"{s['site']} +{s['size_bytes']} B ({s['count']:+d} blocks)" for s in sites]


class _Rss:
    """Resident set size, cheaply: one pread of /proc/self/statm (psutil where there is none).

    Read twice per span, so its cost is part of the tracing overhead (psutil: tens of us here).
    """

    def __init__(self) -> None:
        self._page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
        try:
            self._fd: int | None = os.open("/proc/self/statm", os.O_RDONLY)
        except OSError:
            self._fd = None
            self._process = psutil.Process(os.getpid())

    def __call__(self) -> int:
        if self._fd is not None:
            try:
                return int(os.pread(self._fd, 64, 0).split()[1]) * self._page
            except (OSError, ValueError, IndexError):
                pass
        return psutil.Process(os.getpid()).memory_info().rss

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


@dataclass
class _Open:
    rss: int
    traced: int
    peak: int
    baseline: int  # generation of the baseline snapshot when the span started


class MemoryProbe:
    """Adds memory figures to every span opened through ``traced()``.

    >>> probe = MemoryProbe(use_tracemalloc=True); probe.start()  # doctest: +SKIP
    """

    def __init__(
        self, *, use_tracemalloc: bool = False, threshold_bytes: int = DEFAULT_THRESHOLD_BYTES, frames: int = 1
    ) -> None:
        self.use_tracemalloc = use_tracemalloc
        self.threshold_bytes = threshold_bytes
        self.frames = frames
        self._rss = _Rss()
        self._open: dict[int, _Open] = {}
        self._lock = threading.Lock()
        self._started_tracemalloc = False
        # One rolling baseline snapshot instead of one per span (each costs 100s of ms
        # on a big heap): a span past the threshold is diffed against the newest baseline
        # taken before it started, which then moves forward.
        self._baseline: tracemalloc.Snapshot | None = None
        self._generation = 0

    def start(self) -> None:
        if self.use_tracemalloc and not tracemalloc.is_tracing():
            tracemalloc.start(self.frames)
            self._started_tracemalloc = True
        if self.use_tracemalloc:
            with own_work():
                self._baseline = tracemalloc.take_snapshot()
        add_span_hook(self)

    def stop(self) -> None:
        remove_span_hook(self)
        self._rss.close()
        if self._started_tracemalloc:
            tracemalloc.stop()
            self._started_tracemalloc = False

    def _roll_peak(self) -> int:
        """Fold tracemalloc's peak since the last boundary into every open span, then reset it."""
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        for entry in self._open.values():
            entry.peak = max(entry.peak, peak)
        return current

    def on_start(self, span: Span) -> None:
        rss = self._rss()
        if not (self.use_tracemalloc and tracemalloc.is_tracing()):  # one dict item set: atomic, no lock
            self._open[span.get_span_context().span_id] = _Open(rss, 0, 0, 0)
            return
        with self._lock:
            traced = self._roll_peak()
            self._open[span.get_span_context().span_id] = _Open(rss, traced, traced, self._generation)

    def before_end(self, span: Span) -> None:
        rss = self._rss()
        tracing = self.use_tracemalloc and tracemalloc.is_tracing()
        if tracing:
            with self._lock:
                current = self._roll_peak()
                entry = self._open.pop(span.get_span_context().span_id, None)
        else:
            current, entry = 0, self._open.pop(span.get_span_context().span_id, None)
        if entry is None:
            span.set_attribute(semconv.MEMORY_RSS, rss)
            return
        span.set_attributes({semconv.MEMORY_RSS: rss, semconv.MEMORY_RSS_DELTA: rss - entry.rss})
        if not tracing:
            return
        delta = current - entry.traced
        span.set_attribute(semconv.MEMORY_TRACED_DELTA, delta)
        span.set_attribute(semconv.MEMORY_TRACED_PEAK, max(entry.peak, current))
        name = getattr(span, "name", "")
        if (
            delta >= self.threshold_bytes
            and name.startswith(SNAPSHOT_SPANS)
            and getattr(span, "kind", None) is not SpanKind.CLIENT
        ):
            self._record_top_sites(span, entry)

    def _record_top_sites(self, span: Span, entry: _Open) -> None:
        with self._lock:
            baseline, generation = self._baseline, self._generation
        if baseline is None or generation != entry.baseline:
            return  # the baseline moved while this span ran: its diff would not cover the span
        with own_work():
            snapshot = tracemalloc.take_snapshot()
            sites = top_sites(snapshot, baseline)
        with self._lock:
            self._baseline, self._generation = snapshot, self._generation + 1
        if sites:
            span.add_event(
                semconv.EVENT_TOP_ALLOCATIONS,
                {"sites": _sites_text(sites), "note": "process-wide, since the previous snapshot"},
            )


# -- across runs --------------------------------------------------------------


@dataclass
class Sample:
    index: int
    traced_bytes: int
    rss_bytes: int
    sites: list[dict[str, Any]]


class LeakTracker:
    """Samples memory between runs (after a full GC) to find what keeps growing."""

    def __init__(self, *, sites_per_sample: int = 10) -> None:
        self.sites_per_sample = sites_per_sample
        self.samples: list[Sample] = []
        self._previous: tracemalloc.Snapshot | None = None
        self._process = psutil.Process(os.getpid())

    def sample(self, span: Span | None = None) -> Sample:
        with own_work():
            return self._sample(span)

    def _sample(self, span: Span | None) -> Sample:
        gc.collect()
        tracing = tracemalloc.is_tracing()
        traced = tracemalloc.get_traced_memory()[0] if tracing else 0
        sites: list[dict[str, Any]] = []
        if tracing:
            snapshot = tracemalloc.take_snapshot()
            if self._previous is not None:
                sites = top_sites(snapshot, self._previous, self.sites_per_sample)
            self._previous = snapshot
        sample = Sample(len(self.samples), traced, self._process.memory_info().rss, sites)
        self.samples.append(sample)
        if span is not None:
            span.add_event(
                semconv.EVENT_MEMORY_SAMPLE,
                {
                    semconv.MEMORY_TRACED_CURRENT: traced,
                    semconv.MEMORY_RSS: sample.rss_bytes,
                    "sites": _sites_text(sites),
                },
            )
        return sample
