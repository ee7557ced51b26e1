"""Python MCP servers that a program launches over stdio join its trace, with no code change.

mcp's ``stdio_client`` gives a child only HOME, LOGNAME, PATH, SHELL, TERM and
USER when the caller passes no ``env`` (and that base under an ``env`` the caller
does pass). ``instrument_stdio_children()`` adds what the child needs to trace
itself: the ``OTEL_*``/``AGENTLOUPE_*`` settings, ``AGENTLOUPE_AUTO=1`` and the
bootstrap folder first on ``PYTHONPATH`` (its ``sitecustomize`` instruments the
child). A child that is not Python, or has no agentloupe, is not affected.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable

from agentloupe.instrumentation.auto.bootstrap import BOOTSTRAP_DIR
from agentloupe.instrumentation.mcp import generation

AUTO_ENV = "AGENTLOUPE_AUTO"
_original: Callable[[], dict[str, str]] | None = None


def auto_environment(base: dict[str, str] | None = None, telemetry_env: dict[str, str] | None = None) -> dict[str, str]:
    """The variables that make a Python child process instrument itself.

    ``telemetry_env``: the telemetry settings to hand down; by default, this process's own.
    """
    if telemetry_env is None:
        from agentloupe.instrumentation.telemetry import setup as telemetry

        setup = telemetry.current()
        telemetry_env = setup.child_environment() if setup is not None else {}
    env = dict(telemetry_env)
    path = (base or os.environ).get("PYTHONPATH", "")
    parts = [p for p in path.split(os.pathsep) if p and p != BOOTSTRAP_DIR]
    env["PYTHONPATH"] = os.pathsep.join([BOOTSTRAP_DIR, *parts])
    env[AUTO_ENV] = "1"
    return env


def instrument_stdio_children() -> None:
    """Hand the instrumentation to every stdio MCP server this process launches. Idempotent; a
    no-op without an MCP SDK (a program with no MCP launches no MCP server)."""
    global _original
    if _original is not None or generation() is None:
        return
    from mcp.client import stdio

    original = stdio.get_default_environment

    def get_default_environment() -> dict[str, str]:
        env = original()
        with contextlib.suppress(Exception):
            env.update(auto_environment())
        return env

    _original = original
    stdio.get_default_environment = get_default_environment


def uninstrument_stdio_children() -> None:
    global _original
    if _original is None:
        return
    from mcp.client import stdio

    stdio.get_default_environment = _original
    _original = None
