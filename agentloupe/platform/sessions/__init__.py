"""MCP sessions that live as long as the run: the launcher, the stdio transport, the HTTP watch, the pool.

``SessionPool`` (and with it ``mcp``) is imported on first use: a command launches its servers
through ``launcher`` before it pays for that import (``headstart``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentloupe.platform.sessions.pool import SessionHandle, SessionPool

__all__ = ["SessionHandle", "SessionPool"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from agentloupe.platform.sessions import pool

        return getattr(pool, name)
    raise AttributeError(f"module 'agentloupe.platform.sessions' has no attribute {name!r}")
