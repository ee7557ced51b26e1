"""Server processes: launch in their own process group, stop without leaving orphans.

Stop order: stdin closed (an MCP stdio server exits on EOF), then SIGTERM to
the process group, then SIGKILL to the group, each step after a grace period.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import psutil
from anyio.abc import Process
from opentelemetry import trace

from agentloupe.instrumentation import semconv
from agentloupe.instrumentation.mcp.stdio_children import auto_environment
from agentloupe.instrumentation.telemetry import lazylog
from agentloupe.instrumentation.telemetry.tracefiles import agentloupe_home
from agentloupe.platform.config import ServerConfig, Settings
from agentloupe.platform.errors import ServerStartError

log = lazylog.get_logger("agentloupe.servers")

#: Variables every server gets from our environment (the MCP stdio client's
#: default list plus what Python and locales need).
INHERITED_ENV = (
    "HOME",
    "LOGNAME",
    "PATH",
    "SHELL",
    "TERM",
    "USER",
    "LANG",
    "LC_ALL",
    "TMPDIR",
    "PYTHONPATH",
    "VIRTUAL_ENV",
    "SSL_CERT_FILE",
    "NODE_PATH",
)
STDERR_TAIL_LINES = 20


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@dataclass
class ServerProcess:
    """A launched server process, its stderr tail and where its full stderr went."""

    name: str
    process: Process
    log_path: Path
    port: int | None = None
    stderr_tail: deque[str] = field(default_factory=lambda: deque(maxlen=STDERR_TAIL_LINES))
    stderr_done: anyio.Event = field(default_factory=anyio.Event)

    async def settle(self, timeout_s: float = 1.0) -> None:
        """If the process has exited, let the pump read the rest of its stderr (for the error message)."""
        if self.process.returncode is None:
            with anyio.move_on_after(timeout_s):
                await self.process.wait()
        if self.process.returncode is not None:
            with anyio.move_on_after(timeout_s):
                await self.stderr_done.wait()

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    async def pump_stderr(self) -> None:
        """Keep the stderr pipe drained (a full pipe would block the server)."""
        assert self.process.stderr is not None
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        buffer = b""
        with open(self.log_path, "ab") as sink:
            try:
                async for chunk in self.process.stderr:
                    sink.write(chunk)
                    sink.flush()
                    buffer += chunk
                    *lines, buffer = buffer.split(b"\n")
                    for line in lines:
                        self.stderr_tail.append(line.decode("utf-8", "replace")[:500])
                    buffer = buffer[-4096:]
            except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
                pass
        if buffer:
            self.stderr_tail.append(buffer.decode("utf-8", "replace")[:500])
        self.stderr_done.set()


def server_environment(config: ServerConfig, telemetry_env: dict[str, str], port: int | None) -> dict[str, str]:
    env = {k: v for k in INHERITED_ENV if (v := os.environ.get(k)) is not None}
    env.update(telemetry_env)
    env["AGENTLOUPE_SERVER_NAME"] = config.name
    if port is not None:
        env["PORT"] = str(port)
        env["AGENTLOUPE_WATCH_STDIN"] = "1"
    env.update(config.env)
    return env


def child_environment(settings: Settings) -> dict[str, str]:
    """What every launched server gets: telemetry settings, and the bootstrap that instruments
    a Python server with no code change (agentloupe's bundled servers instrument themselves).

    The telemetry is this process's when it is set up, else what ``settings`` will set up (a
    command launches its servers first)."""
    setup = sys.modules.get("agentloupe.instrumentation.telemetry.setup")
    configured = setup is not None and setup.current() is not None
    env = auto_environment(telemetry_env=None if configured else settings.telemetry_environment())
    env.update(settings.server_environment())
    return env


async def launch(config: ServerConfig, telemetry_env: dict[str, str]) -> ServerProcess:
    """Start the server's command in a new process group; raise ServerStartError if it cannot."""
    assert config.command is not None
    port = free_port() if config.kind == "http" and "{port}" in (config.url or "") + " ".join(config.args) else None
    args = [arg.replace("{port}", str(port)) for arg in config.args]
    try:
        process = await anyio.open_process(
            [config.command, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE if config.kind == "stdio" else subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=server_environment(config, telemetry_env, port),
            cwd=config.cwd,
            start_new_session=True,
        )
    except FileNotFoundError:
        raise ServerStartError(
            config.name, f"command {config.command!r} not found: check 'command' in your mcp.json", retryable=False
        ) from None
    except PermissionError:
        raise ServerStartError(config.name, f"command {config.command!r} is not executable", retryable=False) from None
    except OSError as exc:
        raise ServerStartError(config.name, f"cannot run {config.command!r}: {exc.strerror or exc}") from None
    log_path = agentloupe_home() / "logs" / f"{config.name}-{process.pid}.log"
    return ServerProcess(name=config.name, process=process, log_path=log_path, port=port)


async def idle(process: ServerProcess, *, limit_s: float, poll_s: float = 0.02) -> None:
    """Return once ``process`` has stopped using the CPU (booted, waiting for a client), has
    exited, or ``limit_s`` has passed."""
    try:
        watched = psutil.Process(process.pid)
        used = sum(watched.cpu_times()[:2])
    except psutil.Error:
        return
    quiet = 0
    with anyio.move_on_after(limit_s):
        while process.returncode is None:
            await anyio.sleep(poll_s)
            try:
                now = sum(watched.cpu_times()[:2])
                sleeping = watched.status() == psutil.STATUS_SLEEPING
            except psutil.Error:
                return
            quiet = quiet + 1 if sleeping and now - used < poll_s / 4 else 0
            if quiet >= 2:
                return
            used = now


def _signal_group(pid: int, sig: signal.Signals) -> bool:
    try:
        os.killpg(pid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def _kill_survivors(processes: list[psutil.Process]) -> int:
    killed = 0
    for child in processes:
        try:
            if child.is_running() and child.status() != psutil.STATUS_ZOMBIE:
                child.kill()
                killed += 1
        except psutil.Error:
            continue
    return killed


async def stop(server: ServerProcess, grace_s: float) -> None:
    """Stop ``server``: stdin EOF, then SIGTERM, then SIGKILL to its group. Records on the current span."""
    span = trace.get_current_span()
    started = time.monotonic()
    process = server.process
    used = "none"
    # A server's children may leave its process group (setsid); they are still its
    # descendants now, and are reparented (out of sight) once it exits: list them first.
    descendants = _descendants(process.pid)
    with anyio.CancelScope(shield=True):
        if process.returncode is None:
            used = "eof"
            if process.stdin is not None:
                with contextlib.suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
                    await process.stdin.aclose()
            with anyio.move_on_after(grace_s):
                await process.wait()
        if process.returncode is None:
            used = "SIGTERM"
            _signal_group(process.pid, signal.SIGTERM)
            with anyio.move_on_after(grace_s):
                await process.wait()
        if process.returncode is None:
            used = "SIGKILL"
            _signal_group(process.pid, signal.SIGKILL)
            await process.wait()
        # Grandchildren left in the group (a server's own subprocesses) go too, and
        # descendants that made their own session.
        _signal_group(process.pid, signal.SIGKILL)
        survivors = _kill_survivors(descendants)
        if survivors:
            span.set_attribute(semconv.STOP_ORPHANS_KILLED, survivors)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                with contextlib.suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
                    await stream.aclose()
    span.set_attribute(semconv.STOP_SIGNAL, used)
    span.set_attribute(semconv.STOP_GRACE_S, round(time.monotonic() - started, 3))
    span.set_attribute(semconv.PROCESS_EXIT_CODE, process.returncode if process.returncode is not None else -1)
    span.set_attribute(semconv.PROCESS_PID, process.pid)
    log.debug("server_stopped", server=server.name, signal=used, exit_code=process.returncode)
