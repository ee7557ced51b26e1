"""Patches that can be undone exactly, and telemetry failures that are logged, never raised."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agentloupe.instrumentation.telemetry import lazylog

log = lazylog.get_logger("agentloupe.instrumentation")
_reported: set[str] = set()


def log_telemetry_failure(where: str) -> None:
    """Call from an ``except``: one warning per place, with the exception; the app goes on."""
    if where in _reported:
        return
    _reported.add(where)
    log.warning("telemetry_failed", where=where, exc_info=True, hint="the call went on without this telemetry")


class MethodPatch:
    """One method of one class replaced, and put back as it was.

    A method the class only inherited is deleted again at undo, not pinned on the
    class: a later patch of the base class (by another library) stays visible.
    """

    def __init__(self, owner: type, name: str) -> None:
        self.owner, self.name = owner, name
        self.original: Callable[..., Any] | None = None
        self._had_own = False
        self.tracer_provider: Any = None
        self.meter_provider: Any = None

    @property
    def installed(self) -> bool:
        return self.original is not None

    def install(
        self, replacement: Callable[..., Any], *, tracer_provider: Any = None, meter_provider: Any = None
    ) -> None:
        if self.installed:
            return
        self.tracer_provider, self.meter_provider = tracer_provider, meter_provider
        self._had_own = self.name in vars(self.owner)
        self.original = getattr(self.owner, self.name)
        setattr(self.owner, self.name, replacement)

    def uninstall(self) -> None:
        if not self.installed:
            return
        if self._had_own:
            setattr(self.owner, self.name, self.original)
        else:
            delattr(self.owner, self.name)
        self.original = None
