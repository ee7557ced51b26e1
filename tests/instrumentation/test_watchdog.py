"""The watchdog in-process: cancel policy, report policy, and it stops cleanly."""

import asyncio
import threading

import pytest
from opentelemetry.sdk.trace import TracerProvider

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
