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
    path.write_text(json.dumps({"mcpServers": {"remote": {"url": "http://127.0.0.1:9/mcp"}, "mine": {"command": "x", "args": ["a"], "env": {"K": "V"}}}}))
    monkeypatch.setenv("AGENTLOUPE_CONFIG", str(path))
    settings = load_settings()
    assert settings.servers["remote"].kind == "http" and not settings.servers["remote"].launched
    assert settings.servers["mine"].env == {"K": "V"} and settings.servers["mine"].name == "mine"


def test_the_name_local_is_taken_by_agentloupes_own_tools(tmp_path):
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps({"mcpServers": {"local": {"command": "x"}}}))
    with pytest.raises(ConfigError, match="'local' is taken by agentloupe's own tools"):
        load_mcp_json(path)


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


def test_a_flag_beats_the_environment_which_beats_the_files_start_timeout(tmp_path, monkeypatch):
    from agentloupe.platform.config import load_settings

    config = tmp_path / "mcp.json"
    config.write_text('{"mcpServers": {"slow": {"command": "x", "start_timeout": 30}}}')
    monkeypatch.delenv("AGENTLOUPE_SERVER_START_TIMEOUT", raising=False)
    from_file = load_settings(config=config)
    assert from_file.start_timeout(from_file.servers["slow"]) == 30
    monkeypatch.setenv("AGENTLOUPE_SERVER_START_TIMEOUT", "12")
    from_env = load_settings(config=config)
    assert from_env.start_timeout(from_env.servers["slow"]) == 12
    from_flag = load_settings(config=config, timeouts=["server_start=5"])
    assert from_flag.start_timeout(from_flag.servers["slow"]) == 5


def test_what_a_child_process_inherits_round_trips_through_its_environment():
    from agentloupe.instrumentation.telemetry.processenv import ChildSettings
    from agentloupe.platform.config import load_settings

    settings = load_settings(memory=True, repeat=3, on_hang="cancel", loop_threshold_ms=250, timeouts=["tool=7"])
    child = ChildSettings.from_env(settings.server_environment())
    assert child == settings.child_settings()
    assert (child.memory, child.leak_samples, child.on_hang, child.loop_threshold_s) == (True, True, "cancel", 0.25)
    assert child.timeouts == {"tool": 7.0}
    assert settings.watchdog_config().timeouts["tool"] == 7.0


def test_the_settings_read_no_otel_variables(monkeypatch):
    """OTEL_* are read in one place (telemetry.configure); the settings pass only what a flag said."""
    from agentloupe.platform.config import load_settings

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    settings = load_settings()
    assert settings.otlp_protocol is None and settings.capture_content is None
    assert load_settings(capture_content=True).capture_content is True
