"""``loupe``: a thin face over the platform. ``commands`` has the commands, ``common`` what they share."""

from __future__ import annotations

import contextlib
import os
import sys

import typer

from agentloupe.cli.commands import app
from agentloupe.cli.common import one_line
from agentloupe.platform.errors import ConfigError

__all__ = ["app", "entrypoint", "exit_code", "main"]


def exit_code() -> int:
    """Run ``loupe`` on ``sys.argv``; the exit code. Every error a user can make is one
    ``loupe: error:`` line, typer's own included."""
    # typer ships its own copy of click; its usage errors live there (no public name for them).
    from typer._click import exceptions as click

    try:
        code = app(standalone_mode=False, prog_name="loupe")
    except click.NoArgsIsHelpError as exc:
        exc.show()
        return exc.exit_code
    except click.UsageError as exc:
        command = exc.ctx.command_path if exc.ctx is not None else "loupe"
        message = " ".join(exc.format_message().split())
        print(f"loupe: error: {one_line(message)} (see: {command} --help)", file=sys.stderr)
        return exc.exit_code
    except typer.Abort:
        print("loupe: stopped", file=sys.stderr)
        return 130
    except ConfigError as exc:  # pragma: no cover - commands map their own errors
        print(f"loupe: error: {one_line(str(exc))}", file=sys.stderr)
        return exc.exit_code
    return code if isinstance(code, int) else 0


def main() -> None:
    """``loupe`` in a process of its own: exits with the command's code."""
    sys.exit(exit_code())


def entrypoint() -> None:
    """The ``loupe`` console script: like ``main``, and then straight out.

    By the time a command returns, its servers are stopped and its telemetry flushed (within
    budget); the interpreter's teardown of every module it imported (LangGraph, MCP,
    OpenTelemetry) would add a tenth of a second to every command for nothing, measured.
    """
    code = exit_code()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(ValueError, OSError):
            stream.flush()
    os._exit(code)
