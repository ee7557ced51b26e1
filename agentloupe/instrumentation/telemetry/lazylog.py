"""structlog on first use: a process that logs nothing never imports it.

Importing structlog imports rich when it is installed (typer brings it): about 90 ms of
every ``loupe exec`` child's start, measured, for a program that may never log. The
telemetry modules a child imports at start log through ``get_logger`` here, and
structlog is configured the moment anything imports it.
"""

from __future__ import annotations

from typing import Any

from agentloupe.instrumentation.importhooks import when_imported


class LazyLogger:
    """Stands in for ``structlog.get_logger(name)`` until the first event."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._logger: Any = None

    def __getattr__(self, method: str) -> Any:
        if self._logger is None:
            import structlog

            self._logger = structlog.get_logger(self._name)
        return getattr(self._logger, method)


def get_logger(name: str) -> Any:
    return LazyLogger(name)


def configure_when_imported(level: str | None = None, *, json: bool | None = None) -> None:
    """Logging to stderr: the stdlib's now, structlog's the moment anything imports it (this
    process's code or ours). structlog's own default prints to stdout, where a stdio MCP server
    speaks.

    ``level``: set up at this level (a command's ``--log-level``) even if it already was; without
    one, a structlog the program set up itself is left as it is. ``json``: JSON lines (True), readable
    lines (False), or by the stream (None: JSON off a terminal); ``AGENTLOUPE_LOG_FORMAT`` (``json``,
    ``console``) overrides it.
    """
    import sys

    from agentloupe.instrumentation.telemetry import logs

    if level is not None or not ("structlog" in sys.modules and sys.modules["structlog"].is_configured()):
        logs.configure_stdlib_logging(level=level or "WARNING")

    def ensure() -> None:
        import structlog

        if level is not None or not structlog.is_configured():
            logs.configure_structlog(level=level or "WARNING", json=logs.json_format(json))

    when_imported("structlog", ensure)
