"""``loupe tools``: every server of the config and the local tools, each tool with its parameters.

Servers are started for the listing (all of them, those ``loupe run`` leaves to
``loupe call`` too), concurrently, each in its own pool: one that fails to start
is listed with its error, the others still are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import anyio
from langchain_core.utils.function_calling import convert_to_openai_tool

from agentloupe.instrumentation.spans import traced
from agentloupe.platform.agent.tools import local_tools
from agentloupe.platform.config import LOCAL_SERVER, Settings
from agentloupe.platform.errors import AgentloupeError
from agentloupe.platform.sessions import SessionPool
from agentloupe.platform.sessions.launcher import child_environment
from agentloupe.view.tree import cut_at_word


@dataclass
class ToolLine:
    name: str
    parameters: str  # "a: number, b: number, days: integer = 3"
    description: str


@dataclass
class ServerTools:
    name: str
    how: str  # "stdio", "http", "agentloupe's own tools"
    tools: list[ToolLine] = field(default_factory=list)
    error: str | None = None
    autostart: bool = True


def describe_parameters(schema: dict[str, Any]) -> str:
    """The parameters of a JSON schema as a signature: ``city: string, days: integer = 3``."""
    properties = schema.get("properties", {}) or {}
    required = set(schema.get("required", []) or [])
    parts = []
    for name, prop in properties.items():
        kind = prop.get("type") or "/".join(p.get("type", "?") for p in prop.get("anyOf", [])) or "any"
        part = f"{name}: {kind}"
        if name not in required:
            part += f" = {prop['default']!r}" if "default" in prop else " (optional)"
        parts.append(part)
    return ", ".join(parts)


def _first_sentence(text: str | None) -> str:
    text = " ".join((text or "").split())
    return text.split(". ")[0].rstrip(".") + "." if text else ""


async def _server_tools(settings: Settings, env: dict[str, str], name: str) -> ServerTools:
    config = settings.servers[name]
    entry = ServerTools(name, config.kind, autostart=config.autostart)
    pool = SessionPool(settings, env, only=[name])
    try:
        await pool.open()
        for tool in pool.slots[name].tools:
            schema = tool.args_schema if isinstance(tool.args_schema, dict) else {}
            entry.tools.append(ToolLine(tool.name, describe_parameters(schema), _first_sentence(tool.description)))
    except AgentloupeError as exc:
        entry.error = str(exc)
    finally:
        pool.begin_close()
        await pool.close()
    return entry


async def list_tools(settings: Settings) -> list[ServerTools]:
    """The local tools, then every configured server's tools, in the config's order."""
    env = child_environment(settings)
    local = ServerTools(LOCAL_SERVER, "agentloupe's own tools")
    for tool in local_tools():
        spec = convert_to_openai_tool(tool)["function"]
        local.tools.append(
            ToolLine(tool.name, describe_parameters(spec.get("parameters", {})), _first_sentence(tool.description))
        )
    found: dict[str, ServerTools] = {}
    with traced("loupe tools"):
        async with anyio.create_task_group() as tg:
            for name in settings.servers:

                async def one(name: str = name) -> None:
                    found[name] = await _server_tools(settings, env, name)

                tg.start_soon(one)
    return [local, *(found[name] for name in settings.servers)]


def render(servers: list[ServerTools], width: int = 100) -> str:
    """One line per server, one line per tool (``loupe call SERVER.TOOL``), cut at a word to ``width``."""
    lines = []
    for server in servers:
        note = "" if server.autostart else ", not started by loupe run (loupe call starts it)"
        lines.append(f"{server.name}  {server.how}{note}")
        if server.error:
            lines.append(f"  (not available: {server.error})")
        for tool in server.tools:
            head = f"  {server.name}.{tool.name}({tool.parameters})"
            room = width - len(head) - 2
            lines.append(f"{head}  {cut_at_word(tool.description, room)}" if tool.description and room > 10 else head)
    return "\n".join(lines)
