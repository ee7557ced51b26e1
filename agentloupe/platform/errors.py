"""What can go wrong, as a user would name it. Each message says what to do.

AgentloupeError
 ├── ConfigError          bad flag value, bad mcp.json, unknown model spec
 │    └── StackError      no MCP stack the sessions run on is installed
 ├── ServerStartError     a server did not become ready (names it, shows its stderr)
 ├── ToolNotFoundError    `loupe call` named a server or tool that is not there
 ├── ToolCallError        a tool call failed at the transport or protocol level
 │    └── ToolCallTimeout a deadline passed and the call was cancelled (exit 124)
 └── ModelError           the model provider is missing or failed
"""

from __future__ import annotations

from agentloupe.instrumentation.diagnostics.exceeded import EXIT_DEADLINE


class AgentloupeError(Exception):
    """Base of every error agentloupe reports to the user as one line."""

    exit_code = 1


class ConfigError(AgentloupeError):
    exit_code = 2


class StackError(ConfigError):
    """No MCP stack the sessions and bundled servers run on (mcp 1.x or 2.x) is installed."""


class ServerStartError(AgentloupeError):
    def __init__(
        self, server: str, reason: str, stderr_tail: list[str] | None = None, *, retryable: bool = True
    ) -> None:
        self.server = server
        self.reason = reason
        self.retryable = retryable  # a missing command will not appear by trying again
        self.stderr_tail = stderr_tail or []
        tail = " | ".join(line.strip() for line in self.stderr_tail[-5:] if line.strip())
        message = f"MCP server '{server}' failed to start: {reason}"
        if tail:
            message += f" (its stderr: {tail})"
        super().__init__(message)


class ToolNotFoundError(AgentloupeError):
    exit_code = 2


class ToolCallError(AgentloupeError):
    pass


class ToolCallTimeout(ToolCallError):
    """A deadline (``tool``, ``run``) passed and the call was cancelled: exit 124, as for a run."""

    exit_code = EXIT_DEADLINE


class ModelError(AgentloupeError):
    exit_code = 2
