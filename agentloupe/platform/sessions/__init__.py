"""MCP sessions that live as long as the run, on mcp 1.x or 2.x.

``launcher`` starts and stops server processes (``headstart`` launches them before a command's
imports); ``stdio`` and ``http`` are the transports (``httpwatch``: mcp 1.x's SSE watch); ``client``
is the session a tool holds, behind a ``breaker``; ``pool`` owns one session per server;
``mcpsdk`` is the MCP SDK as the platform sees it, on either generation (it imports no sibling).

``SessionPool`` (and with it ``mcp``) is imported on first use: a command launches its servers
through ``launcher`` before it pays for that import (``headstart``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentloupe.platform.sessions.client import SessionHandle
    from agentloupe.platform.sessions.pool import SessionPool

__all__ = ["SessionHandle", "SessionPool"]


def require_stack() -> None:
    """The sessions and the bundled servers run on mcp 1.x or 2.x: say so in one line on any other."""
    from agentloupe.instrumentation.mcp import generation
    from agentloupe.platform.errors import StackError

    found = generation()
    if found in (1, 2):
        return
    stacks = (
        "install one: pip install 'agentloupe[mcp1]' (mcp 1.x, langchain-mcp-adapters)"
        " or 'agentloupe[mcp2]' (mcp 2.x, FastMCP 4, langchain.mcp)"
    )
    if found is None:
        raise StackError(f"no MCP SDK is installed; {stacks}")
    raise StackError(f"mcp {found}.x is installed, and agentloupe's sessions run on mcp 1.x or 2.x; {stacks}")


def __getattr__(name: str) -> Any:
    if name in __all__:
        require_stack()
        from agentloupe.platform.sessions import client, pool

        return getattr(pool if name == "SessionPool" else client, name)
    raise AttributeError(f"module 'agentloupe.platform.sessions' has no attribute {name!r}")
