"""Shared helpers: run `loupe` as a real subprocess and read back what every process traced."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest

from agentloupe.instrumentation.mcp import generation
from agentloupe.view.traces import SpanRecord, read_spans

ASSETS = Path(__file__).parent / "assets"
#: The MCP SDK generation of the venv running the tests: scripts/test.sh runs the suite once in each
#: (the main venv, mcp 1.x; .venv-mcp2, mcp 2.x). A file about one generation only skips itself on
#: the other, saying why.
MCP_GENERATION = generation()
QUESTION = "What is 25 + 37, the 12th Fibonacci number, and the weather in Tokyo?"


def loupe_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AGENTLOUPE_"))}
    env["AGENTLOUPE_HOME"] = str(home)
    env.update(extra)
    return env


def run_loupe(home: Path, *args: str, timeout: float = 90, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentloupe", *args],
        env=loupe_env(home, **env),
        cwd=home,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def spans_in(home: Path) -> list[SpanRecord]:
    return read_spans(home / "traces")


def assert_trace_complete(spans: list[SpanRecord], trace_id: str, *, servers_instrumented: bool = True) -> None:
    """No span of the trace is missing: each one ended (an unfinished one was open when its process
    died: trace files record starts), each parent is in the trace, and each MCP request that left an
    instrumented client has its server span."""
    mine = [s for s in spans if s.trace_id == trace_id]
    assert mine, f"no spans in trace {trace_id}"
    ids = {s.span_id for s in mine}
    unfinished = [s.name for s in mine if s.unfinished]
    assert not unfinished, f"spans never ended: {unfinished}"
    orphans = [s.name for s in mine if s.parent_span_id and s.parent_span_id not in ids]
    assert not orphans, f"spans whose parent is missing: {orphans}"
    if servers_instrumented:
        parents = {s.parent_span_id for s in mine if s.kind == "SERVER"}
        lonely = [s.name for s in mine if s.kind == "CLIENT" and s.attributes.get("mcp.method.name") and s.span_id not in parents]
        assert not lonely, f"MCP requests without their server span: {lonely}"


def wait_for(condition, what: str, timeout: float = 60.0) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after a generous deadline."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout:g} s waiting for {what}"
        time.sleep(0.05)


def open_server_spans(home: Path, name: str) -> list[SpanRecord]:
    """Server spans called ``name`` that have started and not ended yet (from their start records)."""
    return [s for s in spans_in(home) if s.name == name and s.kind == "SERVER" and s.unfinished]


def server_pids(spans: list[SpanRecord]) -> list[int]:
    return [s.attributes["process.pid"] for s in spans if s.name.startswith("start_server") and "process.pid" in s.attributes]


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def server_children(pid: int) -> list[psutil.Process]:
    """The bundled MCP servers ``pid`` has launched, as of now. A child may exit while it is looked
    at (or the parent itself may have gone): it is then simply not counted."""
    found = []
    try:
        children = psutil.Process(pid).children()
    except psutil.NoSuchProcess:
        return []
    for child in children:
        try:
            if "agentloupe.servers" in " ".join(child.cmdline()):
                found.append(child)
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    return found


def write_mcp_json(path: Path, servers: dict[str, dict]) -> Path:
    path.write_text(json.dumps({"mcpServers": servers}), encoding="utf-8")
    return path


def answers(url: str) -> bool:
    """Any HTTP answer counts: a stateless mcp 2 server answers a GET with an event stream it holds
    open, so only the status line is waited for, not a body."""
    import httpx

    try:
        with httpx.stream("GET", url, timeout=1):
            return True
    except httpx.TransportError:
        return False


def start_bundled_http_server(module: str, log: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """One of agentloupe's HTTP servers on a port it binds itself (``--port 0``: no other process
    can take the port between a probe and the bind); the process and its URL, read from the line it
    prints, once that URL answers. A server that exits first fails the test with what it printed.
    Its stdin is a pipe: closing it (or terminate()) stops it."""
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", module, "--port", "0"], env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=sink
        )
    url = ""

    def up() -> bool:
        nonlocal url
        assert process.poll() is None, f"{module} exited with {process.returncode}: {log.read_text(errors='replace')}"
        if not url:
            found = re.search(r"listening url=(\S+)", log.read_text(errors="replace"))
            url = found.group(1) if found else ""
        return bool(url) and answers(url)

    try:
        wait_for(up, f"{module} to listen")
    except BaseException:
        process.kill()
        process.wait(10)
        raise
    return process, url


@contextmanager
def http_server(*command: str, stdin: int = subprocess.DEVNULL) -> Iterator[str]:
    """Start an HTTP MCP server process on a free port; yield its URL once it answers."""
    import httpx

    from agentloupe.platform.sessions.launcher import free_port

    port = free_port()
    process = subprocess.Popen([*command, "--port", str(port)], stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stderr.read()
                assert time.monotonic() < deadline, f"{command} did not listen"
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path
