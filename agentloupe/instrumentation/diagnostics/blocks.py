"""Which span a blocked event loop was running, and which line blocked it; GC pauses likewise.

The loop monitor (a thread) notices a block; this module puts it on the span
that was running: the newest open span. The loop resumes (and may end that
span) before the monitor thread can report, so a span's end first settles any
block pending on it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span

from agentloupe.instrumentation import semconv
from agentloupe.instrumentation.diagnostics.loopblock import LoopBlock
from agentloupe.instrumentation.diagnostics.loopmonitor import LoopMonitor
from agentloupe.instrumentation.telemetry import lazylog, metrics

log = lazylog.get_logger("agentloupe.watchdog")


def in_span(span: Span | None) -> AbstractContextManager[Any]:
    """Log from a monitor thread in the context of the span concerned (trace_id on the log)."""
    return trace.use_span(span, end_on_exit=False) if span is not None else nullcontext()


class OpenSpans:
    """Which spans are open now (a span hook); a span's end settles a block pending on it."""

    # No lock: the loop thread must never wait on a monitor thread (a monitor thread
    # descheduled while holding a lock blocked the loop for 170 ms, measured). Single
    # dict operations are atomic under the GIL; the reader retries a torn iteration.

    def __init__(self, reporter: BlockReporter) -> None:
        self._spans: dict[int, Span] = {}
        self._reporter = reporter

    def on_start(self, span: Span) -> None:
        self._spans[span.get_span_context().span_id] = span

    def before_end(self, span: Span) -> None:
        self._reporter.settle(span)
        self._spans.pop(span.get_span_context().span_id, None)

    def newest(self) -> Span | None:
        return self.newest_where(lambda span: True)

    def newest_where(self, wanted: Callable[[Span], bool]) -> Span | None:
        """The newest open span that ``wanted`` accepts."""
        for _ in range(5):
            try:
                return next((span for span in reversed(list(self._spans.values())) if wanted(span)), None)
            except RuntimeError:  # torn by the loop thread: read again
                continue
        return None


class BlockReporter:
    """Loop blocks and GC pauses, recorded as span events, a metric and a log line."""

    def __init__(self, threshold_s: float) -> None:
        self.threshold_s = threshold_s
        self.open_spans = OpenSpans(self)
        self.monitor: LoopMonitor | None = None
        self._pending: dict[str, Any] | None = None
        self._pending_lock = threading.Lock()
        self._span_seen: tuple[Span | None, float] | None = None  # and when (monotonic)
        # Recent findings, bounded: the watchdog must not become a leak of its own.
        self.blocks: deque[LoopBlock] = deque(maxlen=100)

    def block_seen(self) -> None:
        """Monitor thread, a block just seen: the span it blocks, read before the stack is (the
        loop may end the block and the span while the stack is read, on a busy machine)."""
        self._span_seen = (self.open_spans.newest(), time.monotonic())

    def block_started(self, stack: list[str]) -> None:
        """Monitor thread, loop still blocked (as far as it knows): remember which span it blocks."""
        seen, self._span_seen = self._span_seen, None
        span = seen[0] if seen is not None else None
        with self._pending_lock:
            self._pending = {"span": span, "stack": stack, "since": time.monotonic(), "done": False}

    def settle(self, span: Span) -> None:
        """Loop thread, a span ending: record a block that is over but not yet reported on it."""
        monitor = self.monitor
        if monitor is not None and monitor.c_level_s and (block := monitor.c_level_block_over()):
            self._add_event(span, block)
            self._log(block, span)
            return
        with self._pending_lock:
            pending = self._pending
            if pending is None or pending["done"] or pending["span"] is not span:
                return
            pending["done"] = True
        blocked_s = time.monotonic() - pending["since"] + self.threshold_s
        self._add_event(span, LoopBlock.from_stack(blocked_s, pending["stack"]))

    def block_over(self, block: LoopBlock) -> None:
        """The block is over: a heartbeat one (monitor thread), or a C-level one (loop thread, at a
        beat: the span it blocked, if still open, is the newest)."""
        span = None
        if block.source == "c-level":
            span = self.open_spans.newest()
            self._add_event(span, block)
        else:
            with self._pending_lock:
                pending, self._pending = self._pending, None
            seen, self._span_seen = self._span_seen, None
            if pending is not None:
                span = pending["span"]
                if not pending["done"]:
                    self._add_event(span, block)
            elif seen is not None and time.monotonic() - seen[1] <= block.blocked_s + self.threshold_s:
                # seen during this block, never started as pending (own work was seen beside it)
                span = seen[0]
                self._add_event(span, block)
        self._log(block, span)

    def gc_pause(self, seconds: float, generation: int, collected: int) -> None:
        """In the loop thread (a GC callback): the span that paid for it is current."""
        metrics.gc_pauses().record(seconds, {semconv.GC_GENERATION: generation})
        span = trace.get_current_span()
        if span.is_recording():
            span.add_event(
                "gc_pause",
                {
                    semconv.GC_PAUSE_MS: round(seconds * 1000, 1),
                    semconv.GC_GENERATION: generation,
                    semconv.GC_COLLECTED: collected,
                },
            )

    @staticmethod
    def _add_event(span: Span | None, block: LoopBlock) -> None:
        if span is not None and span.is_recording():
            span.add_event(
                "loop_blocked",
                {
                    semconv.LOOP_BLOCKED_MS: round(block.blocked_s * 1000, 1),
                    semconv.LOOP_BLOCKING_LINE: block.line,
                    semconv.LOOP_STACK: block.stack[-12:] or ["?"],
                    semconv.LOOP_SOURCE: block.source,
                },
            )

    def _log(self, block: LoopBlock, span: Span | None = None) -> None:
        self.blocks.append(block)
        metrics.event_loop_blocks().add(1, {semconv.BLOCK_SOURCE: block.source})
        with in_span(span):
            log.warning(
                "event_loop_blocked", blocked_ms=round(block.blocked_s * 1000, 1), line=block.line, source=block.source
            )
