"""What a process hands down to the processes it starts: one ``to_env()`` / ``from_env()`` pair.

A launched MCP server or a program under ``loupe exec`` runs the same watchdog
and memory checks as the agent that started it. The parent writes
``ChildSettings(...).to_env()`` into the child's environment; the child reads
``ChildSettings.from_env()``. Durations are seconds everywhere.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Policy = Literal["report", "cancel"]
POLICIES: tuple[Policy, ...] = ("report", "cancel")
TRUTHY = ("1", "true", "yes", "on")

MEMORY_ENV = "AGENTLOUPE_MEMORY"
LEAK_SAMPLES_ENV = "AGENTLOUPE_LEAK_SAMPLES"
LOOP_THRESHOLD_ENV = "AGENTLOUPE_LOOP_THRESHOLD_S"
ON_HANG_ENV = "AGENTLOUPE_ON_HANG"
TIMEOUTS_ENV = "AGENTLOUPE_TIMEOUTS"
#: The watchdog's deadlines, in seconds, per kind of operation (settings override them).
DEFAULT_TIMEOUTS: dict[str, float] = {
    "run": 300.0,
    "model": 120.0,
    "tool": 60.0,
    "mcp": 60.0,
    "server_start": 20.0,
    "shutdown": 10.0,
}


def agentloupe_home() -> Path:
    """Where trace files, logs and thread state live: ``$AGENTLOUPE_HOME``, else ``./.agentloupe``."""
    return Path(os.environ.get("AGENTLOUPE_HOME") or ".agentloupe").absolute()


#: Environment prefixes handed to child processes explicitly: MCP's stdio
#: transport passes only a handful of variables (HOME, PATH, ...) by default.
CHILD_ENV_PREFIXES = ("OTEL_", "AGENTLOUPE_")


Protocol = Literal["grpc", "http/protobuf"]


def resolve_endpoint(endpoint: str | None = None) -> str | None:
    """The OTLP endpoint spans go to: the one given, else ``OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT``."""
    return (
        endpoint
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or None
    )


def resolve_protocol(endpoint: str, protocol: str | None) -> Protocol:
    protocol = (
        protocol
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
    )
    if protocol in ("http/protobuf", "http"):
        return "http/protobuf"
    if protocol == "grpc":
        return "grpc"
    if protocol:
        raise ValueError(f"unsupported OTLP protocol {protocol!r}: use 'grpc' or 'http/protobuf'")
    # No protocol given: the port tells the usual intent (4318 is OTLP/HTTP).
    return "http/protobuf" if endpoint.rstrip("/").endswith(":4318") else "grpc"


def telemetry_environment(
    *, endpoint: str | None, protocol: str | None, capture_content: bool, enabled: bool, prometheus: bool
) -> dict[str, str]:
    """``OTEL_*``/``AGENTLOUPE_*`` variables a child process needs to join this one's telemetry.

    ``OTEL_SERVICE_NAME`` is left out: each child traces as its own service. Pure: a parent
    can hand it down before it has set up its own telemetry (``loupe exec`` launches first).
    """
    env = {k: v for k, v in os.environ.items() if k.startswith(CHILD_ENV_PREFIXES)}
    env.pop("OTEL_SERVICE_NAME", None)
    env["AGENTLOUPE_HOME"] = str(agentloupe_home())
    if endpoint:
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint
        env["OTEL_EXPORTER_OTLP_PROTOCOL"] = protocol or "grpc"
    if capture_content:
        env["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "true"
    if not enabled:
        env["OTEL_SDK_DISABLED"] = "true"
    env.pop("AGENTLOUPE_PROMETHEUS_PORT", None)
    if prometheus:
        env["AGENTLOUPE_PROMETHEUS_PORT"] = "0"  # each child on a free port, found by file_sd
        env["AGENTLOUPE_PROMETHEUS_LINGER"] = "0"
    return env


def env_flag(name: str, environ: Mapping[str, str] | None = None) -> bool | None:
    """``True``/``False`` for a set variable (1, true, yes, on are true), ``None`` when unset or empty."""
    value = (os.environ if environ is None else environ).get(name, "").strip().lower()
    return None if not value else value in TRUTHY


def check_policy(value: str) -> Policy:
    """The hang policy, or a ValueError that names the choices."""
    if value not in POLICIES:
        raise ValueError(f"on_hang={value!r}: use 'report' or 'cancel'")
    return value


@dataclass(frozen=True)
class ChildSettings:
    memory: bool = False
    leak_samples: bool = False  # a memory sample after each tool call, for the parent's leak report
    loop_threshold_s: float = 0.1
    on_hang: Policy = "report"
    timeouts: Mapping[str, float] = field(default_factory=dict)  # over the watchdog's defaults

    def to_env(self) -> dict[str, str]:
        env = {
            MEMORY_ENV: "1" if self.memory else "0",
            LEAK_SAMPLES_ENV: "1" if self.leak_samples else "0",
            LOOP_THRESHOLD_ENV: f"{self.loop_threshold_s:g}",
            ON_HANG_ENV: self.on_hang,
        }
        if self.timeouts:
            env[TIMEOUTS_ENV] = ",".join(f"{kind}={seconds:g}" for kind, seconds in self.timeouts.items())
        return env

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ChildSettings:
        """What the parent handed down; a malformed value falls back to its default (never fails the child)."""
        env = os.environ if environ is None else environ
        timeouts: dict[str, float] = {}
        for item in filter(None, env.get(TIMEOUTS_ENV, "").split(",")):
            kind, _, value = item.partition("=")
            try:
                timeouts[kind.strip()] = float(value)
            except ValueError:
                continue
        try:
            threshold = float(env.get(LOOP_THRESHOLD_ENV, "0.1"))
        except ValueError:
            threshold = 0.1
        on_hang = env.get(ON_HANG_ENV, "report")
        return cls(
            memory=env_flag(MEMORY_ENV, env) or False,
            leak_samples=env_flag(LEAK_SAMPLES_ENV, env) or False,
            loop_threshold_s=threshold if threshold > 0 else 0.1,
            on_hang=check_policy(on_hang) if on_hang in POLICIES else "report",
            timeouts=timeouts,
        )
