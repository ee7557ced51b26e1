"""The circuit breaker's states, on a clock the test moves."""

import pytest

from agentloupe.platform.sessions.breaker import BreakerOpen, CircuitBreaker


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


def test_open_after_n_failures_refuse_then_one_trial_decides():
    clock = Clock()
    breaker = CircuitBreaker("faults", failures=3, cooldown_s=10, clock=clock)
    for _ in range(2):
        breaker.before_call()
        breaker.failed()
    assert breaker.state == "closed"
    breaker.before_call()
    breaker.failed()
    assert breaker.state == "open"
    with pytest.raises(BreakerOpen, match="MCP server 'faults' is failing .*10.0 s more"):
        breaker.before_call()
    clock.now += 10
    breaker.before_call()  # the one trial
    assert breaker.state == "half_open"
    with pytest.raises(BreakerOpen):
        breaker.before_call()  # a second call while the trial is out
    breaker.failed()
    assert breaker.state == "open"  # the trial failed: open again, for a whole cool-down
    clock.now += 10
    breaker.before_call()
    breaker.succeeded()
    assert breaker.state == "closed" and breaker.in_a_row == 0


def test_a_success_resets_the_count():
    breaker = CircuitBreaker("math", failures=2, cooldown_s=1, clock=Clock())
    breaker.failed()
    breaker.succeeded()
    breaker.failed()
    assert breaker.state == "closed"
