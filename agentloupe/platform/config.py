"""Settings, flowing one way: flags > environment (AGENTLOUPE_*) > mcp.json, resolved once.

The ``OTEL_*`` variables are read in one place, ``instrumentation.telemetry``
(a flag given here wins over them there).

``mcp.json`` uses the common ``{"mcpServers": {...}}`` format:

- stdio: ``{"command": "uvx", "args": [...], "env": {...}, "cwd": "..."}``
- HTTP, already running: ``{"url": "http://127.0.0.1:8000/mcp"}``
- HTTP, launched by agentloupe: ``{"command": ..., "args": [..., "{port}"], "url":
  "http://127.0.0.1:{port}/mcp"}``; ``{port}`` is a free port chosen at launch.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlparse

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from agentloupe.instrumentation import content
from agentloupe.instrumentation.telemetry.processenv import (
    DEFAULT_TIMEOUTS,
    POLICIES,
    ChildSettings,
    env_flag,
    resolve_endpoint,
    resolve_protocol,
    telemetry_environment,
)
from agentloupe.platform.errors import ConfigError

if TYPE_CHECKING:
    from agentloupe.instrumentation.diagnostics.watchdog import WatchdogConfig

Transport = Literal["stdio", "http"]
#: ``loupe call local.TOOL``: the name under which the agent's own tools are called (no server has it).
LOCAL_SERVER = "local"


class ServerConfig(BaseModel):
    """One entry of ``mcpServers``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = ""
    command: str | None = None
    args: tuple[str, ...] = ()
    env: dict[str, str] = Field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    transport: Literal["stdio", "http", "streamable-http", "streamable_http"] | None = Field(default=None, alias="type")
    headers: dict[str, str] = Field(default_factory=dict)  # sent to an HTTP server; ${env:NAME} expanded
    autostart: bool = True
    required: bool = False  # a run fails when it cannot start; otherwise the run goes on without it
    breaker_failures: int = Field(default=5, ge=1)  # failed calls in a row that open the circuit breaker
    breaker_cooldown_s: float = Field(default=30.0, gt=0)  # how long calls are refused before a trial
    start_timeout: float | None = Field(default=None, gt=0)
    description: str | None = None

    @field_validator("url")
    @classmethod
    def _url_is_http(cls, value: str | None) -> str | None:
        if value is None:
            return value
        parsed = urlparse(value.replace("{port}", "1"))
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"'url' must be an http(s) URL, got {value!r}")
        return value

    @model_validator(mode="after")
    def _has_a_way_in(self) -> ServerConfig:
        if not self.command and not self.url:
            raise ValueError("needs 'command' (stdio or launched) or 'url' (HTTP)")
        if self.kind == "stdio" and not self.command:
            raise ValueError("a stdio server needs 'command'")
        if self.headers and self.kind != "http":
            raise ValueError("'headers' are for HTTP servers (a stdio server gets 'env')")
        return self

    @property
    def kind(self) -> Transport:
        if self.transport in ("http", "streamable-http", "streamable_http") or self.url:
            return "http"
        return "stdio"

    @property
    def launched(self) -> bool:
        return self.command is not None


class McpJson(BaseModel):
    model_config = ConfigDict(extra="allow")

    mcpServers: dict[str, ServerConfig]


def bundled_servers() -> dict[str, ServerConfig]:
    """The servers that ship with agentloupe, started by ``sys.executable``."""
    python = sys.executable
    return {
        "math": ServerConfig(
            name="math",
            command=python,
            args=("-m", "agentloupe.servers.math"),
            description="arithmetic over stdio",
        ),
        "weather": ServerConfig(
            name="weather",
            command=python,
            args=("-m", "agentloupe.servers.weather", "--port", "{port}"),
            url="http://127.0.0.1:{port}/mcp",
            description="weather over streamable HTTP",
        ),
        # Known by name (`loupe call faults.hang '{}'`), not started by a plain `loupe run`.
        "faults": ServerConfig(
            name="faults",
            command=python,
            args=("-m", "agentloupe.servers.faults"),
            autostart=False,
            description="deliberate faults for demos and tests",
        ),
    }


def _format_validation(error: ValidationError, source: str) -> str:
    """The first problem, on one line: a key with a newline in it must not break the message."""
    first = error.errors()[0]
    where = ".".join(
        part if isinstance(part, str) and part.isprintable() and part.strip() == part and part else json.dumps(part)
        for part in first["loc"]
    )
    message = " ".join(first["msg"].removeprefix("Value error, ").split())
    return f"{source}: {where}: {message}" if where else f"{source}: {message}"


def load_mcp_json(path: Path) -> dict[str, ServerConfig]:
    """Read and validate an ``mcp.json``; a clear ``ConfigError`` on any problem."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {path} not found: check the --config path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    if not isinstance(data, dict) or "mcpServers" not in data:
        raise ConfigError(f'{path}: expected an object with "mcpServers": {{"name": {{...}}}}')
    try:
        parsed = McpJson.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_validation(exc, str(path))) from None
    servers = {}
    for name, server in parsed.mcpServers.items():
        if server.headers:
            server = server.model_copy(update={"headers": _expand_env(server.headers, f"{path}: mcpServers.{name}")})
        if name == LOCAL_SERVER:
            raise ConfigError(f"{path}: the server name '{LOCAL_SERVER}' is taken by agentloupe's own tools: rename it")
        if not name or "." in name or not name.isprintable() or name.strip() != name:
            raise ConfigError(
                f"{path}: server name {name!r} must be non-empty, printable, without '.' or surrounding spaces"
            )
        servers[name] = server.model_copy(update={"name": name})
    return servers


_ENV_REFERENCE = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")


def _expand_env(values: dict[str, str], where: str) -> dict[str, str]:
    """``${env:NAME}`` in each value, from the environment (the form other MCP clients use)."""

    def expand(match: re.Match[str]) -> str:
        value = os.environ.get(match.group(1))
        if value is None:
            raise ConfigError(f"{where}: headers use ${{env:{match.group(1)}}}, and {match.group(1)} is not set")
        return value

    return {key: _ENV_REFERENCE.sub(expand, value) for key, value in values.items()}


TIMEOUT_KINDS = ("run", "node", "model", "tool", "mcp", "person", "server_start", "shutdown")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def parse_duration_overrides(items: list[str]) -> dict[str, float]:
    """``["tool=30", "run=600"]`` as a dict; a ConfigError naming the bad item otherwise."""
    result: dict[str, float] = {}
    for item in items:
        kind = item.partition("=")[0].strip()
        if kind and "=" in item and kind not in TIMEOUT_KINDS:
            raise ConfigError(f"--timeout {item!r}: unknown kind {kind!r}; kinds are {', '.join(TIMEOUT_KINDS)}")
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--timeout {item!r}: expected KIND=SECONDS, e.g. tool=30")
        try:
            seconds = float(value)
        except ValueError:
            raise ConfigError(f"--timeout {item!r}: {value!r} is not a number of seconds") from None
        if not math.isfinite(seconds):
            raise ConfigError(f"--timeout {item!r}: a deadline must be a finite number of seconds")
        if seconds <= 0:
            raise ConfigError(f"--timeout {item!r}: a deadline must be greater than 0 seconds")
        result[key.strip()] = seconds
    return result


@dataclass(frozen=True)
class Settings:
    """Everything one run needs, resolved once and passed down."""

    model: str = "offline"
    servers: dict[str, ServerConfig] = field(default_factory=bundled_servers)
    config_path: Path | None = None
    otlp_endpoint: str | None = None
    otlp_protocol: str | None = None  # None: OTEL_EXPORTER_OTLP_PROTOCOL, read by telemetry.configure()
    capture_content: bool | None = None  # None: OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT decides
    service_name: str | None = None
    print_tree: bool = True
    log_level: str = "WARNING"
    server_start_timeout_s: float | None = None  # flag or env; else each server's start_timeout, else 20 s
    server_stop_grace_s: float = 2.0
    telemetry_budget_s: float = 2.0
    recursion_limit: int = 25
    timeouts: dict[str, float] = field(default_factory=dict)  # per kind, over the watchdog defaults
    on_hang: str = "report"
    memory: bool = False
    repeat: int = 1
    loop_threshold_s: float = 0.1
    prometheus_port: int | None = None
    answers: tuple[str, ...] = ()  # --answer: what a server asking the person is told, in order

    def child_settings(self) -> ChildSettings:
        """What a launched server (or a program under ``loupe exec``) runs with: the same checks."""
        return ChildSettings(
            memory=self.memory,
            leak_samples=self.memory and self.repeat > 1,
            loop_threshold_s=self.loop_threshold_s,
            on_hang=self.on_hang,  # type: ignore[arg-type]  # checked in load_settings
            timeouts=self.timeouts,
        )

    def autostarted(self) -> list[str]:
        """The servers a run starts (``autostart``; ``loupe call`` starts any one it is asked for)."""
        return [name for name, config in self.servers.items() if config.autostart]

    def server_environment(self) -> dict[str, str]:
        """The child's side of the contract: ``ChildSettings.from_env()`` reads it back."""
        return self.child_settings().to_env()

    def telemetry_environment(self) -> dict[str, str]:
        """What a child is handed to join this command's telemetry (``Telemetry.child_environment()``
        once it is set up), said before it is: a command launches its children first."""
        endpoint = resolve_endpoint(self.otlp_endpoint)
        try:
            protocol = resolve_protocol(endpoint, self.otlp_protocol) if endpoint else None
        except ValueError:
            protocol = None  # telemetry.configure() says what is wrong with it
        capture = self.capture_content
        return telemetry_environment(
            endpoint=endpoint,
            protocol=protocol,
            capture_content=capture if capture is not None else content.capture_enabled(),
            enabled=not env_flag("OTEL_SDK_DISABLED"),
            prometheus=self.prometheus_port is not None or bool(os.environ.get("AGENTLOUPE_PROMETHEUS_PORT")),
        )

    def watchdog_config(self) -> WatchdogConfig:
        from agentloupe.instrumentation.diagnostics.watchdog import WatchdogConfig

        return WatchdogConfig.from_settings(self.child_settings())

    def start_timeout(self, server: ServerConfig) -> float:
        """Flags and env (``--timeout server_start=S``, ``AGENTLOUPE_SERVER_START_TIMEOUT``) > mcp.json > 20 s."""
        if self.server_start_timeout_s is not None:
            return self.server_start_timeout_s
        return server.start_timeout or DEFAULT_TIMEOUTS["server_start"]

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def _env(name: str) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else None


def _env_float(name: str) -> float | None:
    value = _env(name)
    if value is None:
        return None
    try:
        parsed = float(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r}: expected a number of seconds") from None
    if not math.isfinite(parsed) or parsed <= 0:
        raise ConfigError(f"{name}={value!r}: must be a finite number greater than 0")
    return parsed


def load_settings(
    *,
    config: Path | None = None,
    model: str | None = None,
    otlp: str | None = None,
    capture_content: bool | None = None,
    print_tree: bool | None = None,
    log_level: str | None = None,
    service_name: str | None = None,
    timeouts: list[str] | None = None,
    on_hang: str | None = None,
    memory: bool | None = None,
    repeat: int | None = None,
    loop_threshold_ms: float | None = None,
    prometheus_port: int | None = None,
    answers: list[str] | None = None,
) -> Settings:
    """Flags (the arguments) win over ``AGENTLOUPE_*``/``OTEL_*``, which win over the file."""
    config = config or (Path(p) if (p := _env("AGENTLOUPE_CONFIG")) else None)
    servers = load_mcp_json(config) if config else bundled_servers()
    if otlp is not None:
        parsed = urlparse(otlp)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ConfigError(f"--otlp {otlp!r}: expected a URL like http://localhost:4317")
    if on_hang is not None and on_hang not in POLICIES:
        raise ConfigError(f"--on-hang {on_hang!r}: use 'report' (default) or 'cancel'")
    if repeat is not None and repeat < 1:
        raise ConfigError(f"--repeat {repeat}: must be 1 or more")
    if prometheus_port is not None and not 0 <= prometheus_port <= 65535:
        raise ConfigError(f"--prometheus-port {prometheus_port}: must be 0-65535 (0: a free port)")
    if log_level is not None and log_level.upper() not in LOG_LEVELS:
        raise ConfigError(f"--log-level {log_level!r}: use one of {', '.join(LOG_LEVELS)}")
    if loop_threshold_ms is not None and not (math.isfinite(loop_threshold_ms) and loop_threshold_ms > 0):
        raise ConfigError(f"--loop-threshold-ms {loop_threshold_ms:g}: must be a finite number greater than 0")
    parsed_timeouts = parse_duration_overrides(timeouts or [])
    settings = Settings(servers=servers, config_path=config)
    return settings.with_overrides(
        model=model or _env("AGENTLOUPE_MODEL"),
        otlp_endpoint=otlp,
        capture_content=capture_content,
        print_tree=print_tree,
        log_level=(log_level or _env("AGENTLOUPE_LOG_LEVEL") or "").upper() or None,
        service_name=service_name,
        server_start_timeout_s=parsed_timeouts.get("server_start") or _env_float("AGENTLOUPE_SERVER_START_TIMEOUT"),
        telemetry_budget_s=_env_float("AGENTLOUPE_TELEMETRY_BUDGET"),
        timeouts=parsed_timeouts or None,
        on_hang=on_hang,
        memory=memory,
        repeat=repeat,
        loop_threshold_s=loop_threshold_ms / 1000 if loop_threshold_ms else None,
        prometheus_port=prometheus_port,
        answers=tuple(answers) if answers else None,
    )
