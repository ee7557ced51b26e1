"""Fuzzing: malformed JSON-RPC into a bundled server, malformed mcp.json and flags into loupe."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
import threading
import time
from unittest import mock

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from agentloupe.cli import main
from agentloupe.platform.config import load_mcp_json
from agentloupe.platform.errors import ConfigError

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
requests = st.one_of(
    st.binary(max_size=200).filter(lambda b: b"\n" not in b),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries(
        {"jsonrpc": st.sampled_from(["2.0", "1.0", 2]), "id": st.one_of(st.integers(), st.text(max_size=5), st.none()),
         "method": st.sampled_from(["tools/call", "tools/list", "ping", "initialize", "nope", ""]), "params": json_values}
    ).map(lambda v: json.dumps(v).encode()),
)


class ServerUnderFuzz:
    """One math server process, initialized; lines go in, and a ping must still be answered."""

    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "agentloupe.servers.math"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env={"PATH": "/usr/bin:/bin", "OTEL_SDK_DISABLED": "true"})
        self.lines: list[bytes] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.send(json.dumps({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "fuzz", "version": "1"}}}).encode())
        self.wait_for(b'"id":0')
        self.send(b'{"jsonrpc": "2.0", "method": "notifications/initialized"}')
        self.next_id = 10_000

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)

    def send(self, data: bytes) -> None:
        self.process.stdin.write(data + b"\n")
        self.process.stdin.flush()

    def wait_for(self, marker: bytes, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(marker in line for line in self.lines):
                return
            assert self.process.poll() is None, "the server died"
            time.sleep(0.01)
        raise AssertionError(f"no answer with {marker!r}")

    def still_answers(self) -> None:
        self.next_id += 1
        self.send(json.dumps({"jsonrpc": "2.0", "id": self.next_id, "method": "ping"}).encode())
        self.wait_for(f'"id":{self.next_id}'.encode())


SERVER: list[ServerUnderFuzz] = []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(requests, min_size=1, max_size=5))
def test_malformed_json_rpc_never_kills_the_server(batch):
    if not SERVER:
        SERVER.append(ServerUnderFuzz())
    server = SERVER[0]
    for line in batch:
        server.send(line)
    server.still_answers()


def teardown_module() -> None:
    for server in SERVER:
        server.process.stdin.close()
        server.process.wait(10)


@settings(max_examples=200, deadline=None)
@given(document=json_values | st.fixed_dictionaries({"mcpServers": st.dictionaries(st.text(max_size=6), json_values, max_size=3)}))
def test_malformed_mcp_json_is_a_config_error_or_valid(tmp_path_factory, document):
    path = tmp_path_factory.mktemp("fuzz") / "mcp.json"
    path.write_text(json.dumps(document))
    try:
        servers = load_mcp_json(path)
    except ConfigError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert all(config.command or config.url for config in servers.values())


def _could_be_valid(flag: str, value: str) -> bool:
    """Values that would start a real run in this process: not what this test is about."""
    try:
        float(value)
        numeric = True
    except ValueError:
        numeric = False
    if flag in ("--repeat", "--loop-threshold-ms", "--prometheus-port"):
        return numeric
    if flag == "--on-hang":
        return value in ("report", "cancel")
    if flag == "--timeout":
        kind, _, seconds = value.partition("=")
        return kind in ("run", "model", "tool", "mcp", "server_start", "shutdown") and seconds.replace(".", "", 1).isdigit()
    if flag == "--otlp":
        return value.startswith(("http://", "https://"))
    return False


@settings(max_examples=80, deadline=None)
@given(
    flag=st.sampled_from(["--timeout", "--on-hang", "--repeat", "--loop-threshold-ms", "--prometheus-port", "--config", "--otlp"]),
    value=st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=12),
)
def test_bad_flag_values_are_one_line_errors(flag, value):
    # every one of these is refused while the flags and settings are read, before a run starts
    if flag == "--config":
        value = "/nonexistent/" + value
    assume(not _could_be_valid(flag, value))
    code, stderr = _loupe("run", flag, value, "hi")
    assert code == 2, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("loupe: error: "), stderr


def _loupe(*args: str) -> tuple[int, str]:
    """``loupe ARGS`` through its real entry point (``main``), in this process: exit code and stderr."""
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out), mock.patch.object(sys, "argv", ["loupe", *args]):
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return code, err.getvalue()
