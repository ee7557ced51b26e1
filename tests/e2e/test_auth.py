"""An HTTP MCP server behind a bearer token, and mcp.json headers from the environment."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from agentloupe.platform.sessions.launcher import free_port
from tests.conftest import loupe_env, run_loupe, wait_for, write_mcp_json

TOKEN = "weather-token-9f8e7d6c5b4a39281706"


@contextmanager
def weather_server(home, *args: str, **env: str) -> Iterator[str]:
    """The bundled HTTP weather server, started with ``args`` and ``env``; yields its URL once it listens."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "agentloupe.servers.weather", "--port", str(port), *args],
        env=loupe_env(home, **env), stdin=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}/mcp"

    def answers() -> bool:
        assert process.poll() is None, process.stderr.read().decode()  # it started, and still runs
        try:
            httpx.get(url, timeout=1)
            return True
        except httpx.TransportError:
            return False

    try:
        wait_for(answers, "the weather server to listen")
        yield url
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
def weather_with_token(home):
    with weather_server(home, AGENTLOUPE_MCP_TOKEN=TOKEN) as url:
        yield url


def test_the_token_from_the_environment_through_mcp_json_headers_gets_in(home, weather_with_token):
    config = write_mcp_json(home / "mcp.json", {
        "weather": {"url": weather_with_token, "headers": {"Authorization": "Bearer ${env:WEATHER_TOKEN}"}},
    })
    result = run_loupe(home, "call", "--config", str(config), "weather.get_weather", '{"city": "Oslo"}',
                       WEATHER_TOKEN=TOKEN)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Oslo: ")
    exported = b"".join(p.read_bytes() for p in home.rglob("*") if p.is_file() and p.name != "mcp.json")
    assert TOKEN.encode() not in exported + result.stderr.encode()  # not in spans, trace files or logs


def test_without_the_token_the_error_names_the_server_and_401(home, weather_with_token):
    config = write_mcp_json(home / "mcp.json", {"weather": {"url": weather_with_token}})
    result = run_loupe(home, "call", "--no-tree", "--config", str(config), "weather.get_weather", '{"city": "Oslo"}')
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("loupe: error: MCP server 'weather' failed to start") and "HTTP 401" in line
    wrong = httpx.post(weather_with_token, json={}, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_header_naming_a_missing_variable_is_a_one_line_config_error(home):
    config = write_mcp_json(home / "mcp.json", {
        "weather": {"url": "http://127.0.0.1:1/mcp", "headers": {"Authorization": "Bearer ${env:NOT_SET_ANYWHERE}"}},
    })
    result = run_loupe(home, "call", "--config", str(config), "weather.get_weather", "{}")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"loupe: error: {config}: mcpServers.weather: headers use ${{env:NOT_SET_ANYWHERE}}, and NOT_SET_ANYWHERE is not set"
    ]


def test_a_non_loopback_http_server_needs_a_token_or_no_auth():
    refused = subprocess.run(
        [sys.executable, "-m", "agentloupe.servers.weather", "--host", "0.0.0.0", "--port", "0", "--allowed-host", "x:*"],
        capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"},
    )
    assert refused.returncode == 2
    assert "refusing to bind 0.0.0.0 without a token" in refused.stderr and "Traceback" not in refused.stderr


def test_a_non_loopback_http_server_with_a_token_starts_and_takes_calls_that_carry_it(home):
    with weather_server(home, "--host", "0.0.0.0", "--allowed-host", "weather-mcp:*", AGENTLOUPE_MCP_TOKEN=TOKEN) as url:
        config = write_mcp_json(home / "mcp.json", {
            "weather": {"url": url, "headers": {"Authorization": "Bearer ${env:WEATHER_TOKEN}"}},
        })
        result = run_loupe(home, "call", "--no-tree", "--config", str(config), "weather.get_weather", '{"city": "Oslo"}',
                           WEATHER_TOKEN=TOKEN)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("Oslo: ")
        # the token is what let it in: a call without it is refused
        assert httpx.post(url, json={}, headers={"Authorization": "Bearer nope"}).status_code == 401
