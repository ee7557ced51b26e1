"""MCP sessions that live as long as the run: the launcher, the stdio transport, the HTTP watch, the pool.

``SessionPool`` (and with it ``mcp``) is imported on first use: a command launches its servers
through ``launcher`` before it pays for that import (``headstart``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentloupe.platform.sessions.pool import SessionHandle, SessionPool

__all__ = ["SessionHandle", "SessionPool"]


def require_bundled_stack() -> None:
    """The pool and the bundled servers run on mcp 1.x: say so in one line on any other stack."""
    from agentloupe.instrumentation.mcp import generation
    from agentloupe.platform.errors import StackError

    found = generation()
    if found == 1:
        return
    fix = "install the mcp 1.x stack: pip install 'agentloupe[mcp1]' (in a venv of its own if your agent is on mcp 2)"
    if found is None:
        raise StackError(f"no MCP SDK is installed; {fix}")
    raise StackError(
        f"the bundled agent, its servers and mcp.json sessions run on mcp 1.x, and this environment has mcp {found}.x;"
        f" trace your own mcp {found} program with `loupe exec -- python app.py`, or {fix}"
    )


def __getattr__(name: str) -> Any:
    if name in __all__:
        require_bundled_stack()
        from agentloupe.platform.sessions import pool

        return getattr(pool, name)
    raise AttributeError(f"module 'agentloupe.platform.sessions' has no attribute {name!r}")
