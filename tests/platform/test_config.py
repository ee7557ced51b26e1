"""Settings flow one way: flags > environment > mcp.json."""

import json

import pytest

from agentloupe.platform.config import (
    bundled_servers,
    load_mcp_json,
    load_settings,
    parse_duration_overrides,
)
from agentloupe.platform.errors import ConfigError


def test_defaults_are_the_bundled_servers(monkeypatch):
    monkeypatch.delenv("AGENTLOUPE_CONFIG", raising=False)
    monkeypatch.delenv("AGENTLOUPE_MODEL", raising=False)
    settings = load_settings()
    assert settings.model == "offline"
    assert set(settings.servers) == set(bundled_servers()) == {"math", "weather", "faults"}
    assert [n for n, c in settings.servers.items() if c.autostart] == ["math", "weather"]
    assert settings.servers["math"].kind == "stdio" and settings.servers["weather"].kind == "http"


def test_flag_beats_env(monkeypatch):
    monkeypatch.setenv("AGENTLOUPE_MODEL", "openai:gpt-4o-mini")
    assert load_settings().model == "openai:gpt-4o-mini"
    assert load_settings(model="offline").model == "offline"


def test_env_config_path_and_file_contents(monkeypatch, tmp_path):
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps({"mcpServers": {"remote": {"url": "http://127.0.0.1:9/mcp"}, "local": {"command": "x", "args": ["a"], "env": {"K": "V"}}}}))
    monkeypatch.setenv("AGENTLOUPE_CONFIG", str(path))
    settings = load_settings()
    assert settings.servers["remote"].kind == "http" and not settings.servers["remote"].launched
    assert settings.servers["local"].env == {"K": "V"} and settings.servers["local"].name == "local"


def test_env_number_must_be_positive(monkeypatch):
    monkeypatch.setenv("AGENTLOUPE_SERVER_START_TIMEOUT", "-1")
    with pytest.raises(ConfigError, match="greater than 0"):
        load_settings()


def test_server_names_with_dots_are_refused(tmp_path):
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps({"mcpServers": {"a.b": {"command": "x"}}}))
    with pytest.raises(ConfigError, match="without '.'"):
        load_mcp_json(path)


def test_timeout_overrides():
    assert parse_duration_overrides(["tool=30", "run=5.5"]) == {"tool": 30.0, "run": 5.5}
    with pytest.raises(ConfigError, match="KIND=SECONDS"):
        parse_duration_overrides(["tool"])
