"""What every scenario needs: telemetry configured once, servers by name, the agent graph."""

from __future__ import annotations

import os
import sys
import tempfile
from contextlib import asynccontextmanager
from typing import Any

from agentloupe.instrumentation import configure, instrument_mcp
from agentloupe.instrumentation.telemetry.setup import current
from agentloupe.platform.config import ServerConfig, Settings, bundled_servers
from agentloupe.platform.sessions import SessionPool

PYTHON = sys.executable


def setup_telemetry() -> str:
    """Embedded default (trace files) in a scratch directory, as `loupe run` does it."""
    home = tempfile.mkdtemp(prefix="agentloupe-bench-")
    os.environ["AGENTLOUPE_HOME"] = home
    configure(service_name="agentloupe-bench")
    instrument_mcp()
    return home


def servers(*names: str, **extra: ServerConfig) -> dict[str, ServerConfig]:
    known = bundled_servers()
    chosen = {name: known[name].model_copy(update={"autostart": True}) for name in names}
    chosen.update(extra)
    return chosen


@asynccontextmanager
async def pool(configs: dict[str, ServerConfig]):
    settings = Settings(servers=configs)
    telemetry = current()
    async with SessionPool(settings, telemetry.child_environment() if telemetry else {}) as opened:
        yield opened


def tool(opened: SessionPool, name: str) -> Any:
    return next(t for t in opened.tools() if t.name == name)
