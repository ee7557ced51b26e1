"""`loupe call SERVER.TOOL ARGS`: one tool, fully traced."""

from __future__ import annotations

from tests.conftest import run_loupe, spans_in


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
