"""``SERVER.TOOL``, the target of ``loupe call``: checked against the configured servers and the
bundled agent's local tools before anything starts (cheap to import: the CLI reads it before the
server it names is launched)."""

from __future__ import annotations

from agentloupe.platform.config import LOCAL_SERVER, Settings
from agentloupe.platform.errors import ConfigError, ToolNotFoundError


def parse_target(settings: Settings, target: str) -> tuple[str, str]:
    """``SERVER.TOOL`` as (server, tool), checked against the configured servers and the local tools."""
    server, sep, tool = target.partition(".")
    if not sep or not server or not tool:
        raise ConfigError(f"{target!r}: name the tool as SERVER.TOOL, e.g. math.add")
    if server == LOCAL_SERVER:
        from agentloupe.platform.agent.tools import local_tools

        names = sorted(t.name for t in local_tools())
        if tool not in names:
            raise ToolNotFoundError(f"there is no local tool {tool!r}: the local tools are {', '.join(names)}")
        return server, tool
    if server not in settings.servers:
        known = ", ".join(sorted(settings.servers)) or "none"
        raise ToolNotFoundError(f"unknown server {server!r}: configured servers are {known}")
    return server, tool
