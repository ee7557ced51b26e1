"""What a passed deadline is to a caller: ``DeadlineExceeded``, and exit code 124.

Apart from the watchdog, so a command can tell the error (and exit with its code)
without importing the watchdog and its loop monitor.
"""

from __future__ import annotations

EXIT_DEADLINE = 124  # as GNU timeout: the exit code of a program whose deadline passed


class DeadlineExceeded(TimeoutError):
    """A deadline the user set (or the default one) passed, and the operation was cancelled."""

    def __init__(self, kind: str, seconds: float, stuck_at: str, *, why: str = "") -> None:
        self.kind, self.seconds, self.stuck_at = kind, seconds, stuck_at
        where = f" waiting at {stuck_at}" if stuck_at and stuck_at != "?" else ""
        super().__init__(f"{kind} passed its {seconds:g} s deadline{where} and was cancelled{why}")
