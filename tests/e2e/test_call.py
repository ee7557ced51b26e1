"""`loupe call SERVER.TOOL ARGS`: one tool, fully traced."""

from __future__ import annotations

import pytest

from tests.conftest import alive, run_loupe, server_pids, spans_in


def test_call_prints_the_result_and_traces_both_sides(home):
    result = run_loupe(home, "call", "math.add", '{"a": 2, "b": 3}')
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "5"
    spans = spans_in(home)
    client = next(s for s in spans if s.name == "tools/call add" and s.kind == "CLIENT")
    server = next(s for s in spans if s.name == "tools/call add" and s.kind == "SERVER")
    assert server.parent_span_id == client.span_id
    root = next(s for s in spans if s.name == "loupe call")
    assert client.trace_id == root.trace_id
    # only the named server is started
    assert not any(s.name == "start_server weather" for s in spans)


def test_call_over_http(home):
    result = run_loupe(home, "call", "weather.get_weather", '{"city": "Tokyo"}')
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Tokyo: ")


def test_division_by_zero_is_a_tool_error(home):
    result = run_loupe(home, "call", "--no-tree", "math.divide", '{"a": 1, "b": 0}')
    assert result.returncode == 1
    assert result.stdout == ""  # a failed tool has no result to print
    [line] = result.stderr.splitlines()
    assert line.startswith("loupe: error: tool divide failed: division by zero: b must not be 0 (trace_id=")
    spans = spans_in(home)
    for kind in ("CLIENT", "SERVER"):
        span = next(s for s in spans if s.name == "tools/call divide" and s.kind == kind)
        assert span.is_error and span.attributes["error.type"] == "tool_error"
    assert "Traceback" not in result.stderr


def test_tools_lists_every_server_and_the_local_tools_with_parameters(home):
    result = run_loupe(home, "tools")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("local  ") and "faults  stdio, not started by loupe run" in result.stdout
    assert any(line.startswith("  math.power(base: number, exponent: number)") for line in lines)
    assert any(line.startswith("  weather.get_forecast(city: string, days: integer = 3)") for line in lines)
    assert any(line.startswith("  local.current_time(timezone: string = 'UTC')") for line in lines)
    assert all(len(line) <= 100 for line in lines)
    assert not [pid for pid in server_pids(spans_in(home)) if alive(pid)]


def test_a_local_tool_is_called_like_a_server_tool(home):
    result = run_loupe(home, "call", "local.calculate_fibonacci", '{"n": 12}')
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "144"
    [root] = [s for s in spans_in(home) if s.name == "loupe call"]
    assert [s.name for s in spans_in(home) if s.parent_span_id == root.span_id] == ["execute_tool calculate_fibonacci"]
    bad = run_loupe(home, "call", "local.nope", "{}")
    assert bad.returncode == 2 and "the local tools are calculate_fibonacci, current_time, format_text" in bad.stderr


def test_version(home):
    result = run_loupe(home, "--version")
    assert result.returncode == 0 and result.stdout.strip() == "loupe (agentloupe) 0.1.0"


def test_the_weather_server_validates_its_arguments(home):
    days = run_loupe(home, "call", "--no-tree", "weather.get_forecast", '{"city": "Oslo", "days": -1}')
    assert days.returncode == 1 and "days=-1: a forecast covers 1 to 7 days" in days.stderr
    empty = run_loupe(home, "call", "--no-tree", "weather.get_weather", '{"city": "  "}')
    assert empty.returncode == 1 and "city is empty" in empty.stderr


@pytest.mark.parametrize("command", ["", "run", "call", "exec", "serve", "trace", "tools"])
def test_help_fits_80_columns_without_cutting_words(home, command):
    result = run_loupe(home, *([command] if command else []), "--help", COLUMNS="80")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines and all(len(line) <= 80 for line in lines), [line for line in lines if len(line) > 80]
    assert "…" not in result.stdout
