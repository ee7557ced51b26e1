"""A circuit breaker per server: a server that fails call after call stops costing every call its deadline.

Closed (calls go through) until ``failures`` calls in a row fail (a transport
error, a lost session, a deadline): then open, and calls fail at once naming
the server, for ``cooldown_s``. Then half-open: one trial call goes through; it
closes the breaker if it succeeds, opens it again if not. A tool that answers
with an error result is not a failure of the server. Each change of state is a
span event (``circuit_breaker``), a metric (``agentloupe.breaker.transitions``)
and a log line.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

from opentelemetry import trace

from agentloupe.instrumentation import semconv
from agentloupe.instrumentation.telemetry import lazylog, metrics
from agentloupe.platform.errors import ToolCallError

State = Literal["closed", "open", "half_open"]
log = lazylog.get_logger("agentloupe.breaker")


class BreakerOpen(ToolCallError):
    """Refused at once: the server's breaker is open."""


class CircuitBreaker:
    def __init__(self, server: str, *, failures: int, cooldown_s: float, clock: Callable[[], float] = time.monotonic):
        self.server, self.failures, self.cooldown_s, self.clock = server, failures, cooldown_s, clock
        self.state: State = "closed"
        self.in_a_row = 0
        self._opened_at = 0.0
        self._trial_in_flight = False

    def before_call(self) -> None:
        """Raise ``BreakerOpen`` when the call must not go out; let one trial through after the cool-down."""
        if self.state == "closed":
            return
        if self.state == "open" and self.clock() - self._opened_at >= self.cooldown_s:
            self._change("half_open", "cool-down over: one trial call decides")
        if self.state == "half_open" and not self._trial_in_flight:
            self._trial_in_flight = True
            return
        wait = max(0.0, self.cooldown_s - (self.clock() - self._opened_at))
        raise BreakerOpen(
            f"MCP server '{self.server}' is failing ({self.in_a_row} calls in a row failed): calls are refused"
            f" for {wait:.1f} s more, then one trial call decides (circuit breaker)"
        )

    def succeeded(self) -> None:
        self._trial_in_flight = False
        self.in_a_row = 0
        if self.state != "closed":
            self._change("closed", "a call succeeded")

    def failed(self) -> None:
        self._trial_in_flight = False
        self.in_a_row += 1
        if self.state == "half_open" or (self.state == "closed" and self.in_a_row >= self.failures):
            self._opened_at = self.clock()
            self._change("open", f"{self.in_a_row} calls in a row failed")

    def _change(self, state: State, why: str) -> None:
        before, self.state = self.state, state
        attributes = {semconv.SERVER_NAME: self.server, semconv.BREAKER_STATE: state, semconv.BREAKER_FROM: before}
        span = trace.get_current_span()
        if span.is_recording():
            span.add_event("circuit_breaker", {**attributes, "reason": why})
        metrics.breaker_transitions().add(1, {semconv.SERVER_NAME: self.server, semconv.BREAKER_STATE: state})
        log.warning("circuit_breaker", server=self.server, state=state, previous=before, reason=why)
