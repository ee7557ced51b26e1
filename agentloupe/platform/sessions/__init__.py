"""MCP sessions that live as long as the run: the launcher, the stdio transport, the HTTP watch, the pool."""

from agentloupe.platform.sessions.pool import SessionHandle, SessionPool

__all__ = ["SessionHandle", "SessionPool"]
