"""The watchdog in-process: cancel policy, report policy, and it stops cleanly."""

import asyncio
import threading

import pytest
from opentelemetry.sdk.trace import TracerProvider

from agentloupe.instrumentation.diagnostics import blocks
from agentloupe.instrumentation.diagnostics.loopblock import LoopBlock
from agentloupe.instrumentation.diagnostics.watchdog import (
    HangWatchdog,
    WatchdogConfig,
    active,
    deadline,
)


async def stuck_here():
    await asyncio.Event().wait()


async def test_cancel_policy_turns_a_hang_into_timeout():
    span = TracerProvider().get_tracer("t").start_span("tool")
    async with HangWatchdog(WatchdogConfig(policy="cancel", loop_threshold_s=0)) as watchdog:
        with pytest.raises(TimeoutError, match="tool passed its 0.2 s deadline"):
            with deadline("tool", span=span, seconds=0.2):
                await stuck_here()
    span.end()
    [hang] = [e for e in span.events if e.name == "hang"]
    # the innermost line of the program first, then its caller
    assert hang.attributes["agentloupe.hang.stuck_at"].split(" <- ")[0].endswith("in stuck_here")
    assert len(watchdog.hangs) == 1
    assert active() is None


async def test_report_policy_keeps_waiting():
    async with HangWatchdog(WatchdogConfig(policy="report", loop_threshold_s=0)) as watchdog:
        with deadline("tool", seconds=0.1):
            await asyncio.sleep(0.4)  # slow, not cancelled
    assert len(watchdog.hangs) == 1 and watchdog.hangs[0]["agentloupe.hang.action"] == "report"


async def test_a_grace_reports_at_the_deadline_and_cancels_only_if_still_open_after_it():
    # a server's deadline: the hang is reported when due; the cancel waits out the grace, and a body
    # its caller ended meanwhile (here: it finishes) is not cancelled at all
    async with HangWatchdog(WatchdogConfig(policy="cancel", loop_threshold_s=0, poll_s=0.01)) as watchdog:
        with deadline("tool", seconds=0.1, grace=0.6) as watched:
            await asyncio.sleep(0.3)  # past its deadline, within the grace
        assert len(watchdog.hangs) == 1 and watchdog.hangs[0]["agentloupe.hang.action"] == "cancel"
        assert watched is not None and not watched.cancelled
        with pytest.raises(TimeoutError, match="tool passed its 0.1 s deadline"):
            with deadline("tool", seconds=0.1, grace=0.2) as stuck:
                await stuck_here()
        assert stuck is not None and stuck.cancelled and len(watchdog.hangs) == 2


async def test_without_a_watchdog_a_deadline_changes_nothing():
    assert active() is None
    finished = False
    with deadline("tool", seconds=0.01):  # passed five times over: no hang recorded, nothing cancelled
        await asyncio.sleep(0.05)
        finished = True
    assert finished and active() is None


async def test_monitor_threads_stop():
    before = {t.name for t in threading.enumerate()}
    async with HangWatchdog(WatchdogConfig()):
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.1)
    leftover = {t.name for t in threading.enumerate()} - before
    assert not {n for n in leftover if n.startswith("agentloupe")}


@pytest.fixture
def logged_trace_ids(monkeypatch) -> list[int]:
    """The trace id each block's log line is written in (the block reporter's log, replaced)."""
    from opentelemetry import trace

    logged: list[int] = []

    class Log:
        def warning(self, *args, **kwargs):
            logged.append(trace.get_current_span().get_span_context().trace_id)

    monkeypatch.setattr(blocks, "log", Log())
    return logged


def test_a_block_goes_on_the_span_it_began_in_even_if_that_span_ends_while_its_stack_is_read(logged_trace_ids):
    # On a busy machine the loop can end the block (and its span) between the monitor seeing the
    # block and the monitor reading its stack: the block's log line still carries that span's trace.
    reporter, logged = blocks.BlockReporter(threshold_s=0.1), logged_trace_ids
    span = TracerProvider().get_tracer("t").start_span("tool")
    reporter.open_spans.on_start(span)
    reporter.block_seen()  # the monitor sees the loop late, in the tool
    reporter.open_spans.before_end(span)  # the loop finishes the block and the tool's span
    span.end()
    stack = ['  File "faults.py", line 32, in block_loop']
    reporter.block_started(stack)  # the stack, read only now
    reporter.block_over(LoopBlock.from_stack(0.3, stack))
    assert logged == [span.get_span_context().trace_id]


def test_a_block_seen_but_never_started_as_pending_still_goes_on_its_span(logged_trace_ids):
    # the monitor skips block_started when its own work was seen beside the block (or a GC ran in it);
    # the block it then reports still carries the span that was running when it was seen
    reporter, logged = blocks.BlockReporter(threshold_s=0.1), logged_trace_ids
    span = TracerProvider().get_tracer("t").start_span("tool")
    reporter.open_spans.on_start(span)
    reporter.block_seen()
    reporter.block_over(LoopBlock.from_stack(0.3, ['  File "faults.py", line 32, in block_loop']))
    reporter.block_over(LoopBlock.from_stack(0.3, ['  File "faults.py", line 32, in block_loop']))  # not seen
    assert logged == [span.get_span_context().trace_id, 0]
