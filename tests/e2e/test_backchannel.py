"""MCP the other way: a server tool that asks its client (sampling, roots, ping, elicitation), logs
and reports progress, between an unmodified client and server under ``loupe exec``: one trace,
each server-to-client request a CLIENT span in the server and a SERVER span in the client."""

import sys
from pathlib import Path

from agentloupe.instrumentation.mcp import generation
from tests.conftest import run_loupe, spans_in, write_mcp_json

# the SDK's own server (FastMCP on mcp 1.x, MCPServer on 2.x) and ClientSession (the handshake on 2.x)
ASSETS = Path(__file__).resolve().parents[1] / "assets" / "backchannel"
ASKS = ("sampling/createMessage", "roots/list", "ping", "elicitation/create")


def _answer_is_on(spans):
    """Where the client's answer (the action, a refusal) is recorded: both sides on mcp 1.x; on mcp
    2.x the client's SERVER span only (the server's span is the SDK's, ended before the answer is read)."""
    return spans if generation() == 1 else [s for s in spans if s.kind == "SERVER"]


def _run(home: Path, answer: str, *flags: str):
    result = run_loupe(
        home,
        "exec",
        "--no-tree",
        *flags,
        "--",
        sys.executable,
        str(ASSETS / "asking_client.py"),
        str(ASSETS / "asking_server.py"),
        answer,
    )
    assert result.returncode == 0, result.stderr
    spans = spans_in(home)
    by_id = {s.span_id: s for s in spans}
    tool_server = next(s for s in spans if s.name == "tools/call summarize" and s.kind == "SERVER")
    tool_client = next(s for s in spans if s.name == "tools/call summarize" and s.kind == "CLIENT")
    return result, spans, by_id, tool_client, tool_server


def test_each_request_the_server_sends_its_client_is_a_client_span_with_the_clients_handling_under_it(home):
    result, spans, by_id, _, tool_server = _run(home, "accept")
    assert "a short summary (roots: 1, kept: True)" in result.stdout
    assert len({s.trace_id for s in spans}) == 1
    for method in ASKS:
        asked = next(s for s in spans if s.name == method and s.kind == "CLIENT")
        assert asked.service == tool_server.service and asked.parent_span_id == tool_server.span_id
        assert asked.attributes["agentloupe.mcp.direction"] == "server_to_client"
        handled = next(s for s in spans if s.name == method and s.kind == "SERVER")
        assert handled.parent_span_id == asked.span_id and handled.service != asked.service
        assert asked.start_ns <= handled.start_ns and handled.end_ns <= asked.end_ns
    # what the sampling handler does sits inside its span: the client's model, 50 ms of it
    model = next(s for s in spans if s.name == "chat fake-model")
    handled = by_id[model.parent_span_id]
    assert handled.name == "sampling/createMessage" and handled.kind == "SERVER"
    assert model.duration_ms >= 50
    assert handled.attributes["gen_ai.response.model"] == "fake-model"
    elicited = [s for s in spans if s.name == "elicitation/create"]
    assert all(s.attributes["agentloupe.mcp.elicitation.message"] == "Keep this summary?" for s in elicited)
    assert all(s.attributes["agentloupe.mcp.elicitation.action"] == "accept" for s in _answer_is_on(elicited))
    assert all(s.status_code != "STATUS_CODE_ERROR" for s in spans if s.name in ASKS)


def test_a_declined_elicitation_marks_both_sides(home):
    result, spans, _, _, _ = _run(home, "decline")
    assert "kept: False" in result.stdout
    elicited = [s for s in spans if s.name == "elicitation/create"]
    assert {s.kind for s in elicited} == {"CLIENT", "SERVER"}
    for span in _answer_is_on(elicited):
        assert span.status_code == "STATUS_CODE_ERROR"
        assert span.attributes["error.type"] == "elicitation_decline"


def test_progress_and_log_messages_are_events_on_the_request_they_belong_to_on_both_sides(home):
    result, _, _, tool_client, tool_server = _run(home, "accept")
    assert "heard: summarizing 11 characters; progress 1.0/3.0; progress 2.0/3.0" in result.stdout
    for span in (tool_client, tool_server):
        progress = [e["attributes"] for e in span.events if e["name"] == "mcp.progress"]
        assert [(p["mcp.progress.value"], p["mcp.progress.total"]) for p in progress] == [(1.0, 3.0), (2.0, 3.0)]
        assert [p["mcp.progress.message"] for p in progress] == ["asking the model", "asking the user"]
        logged = [e["attributes"] for e in span.events if e["name"] == "mcp.log"]
        assert logged == [{"mcp.log.level": "info", "mcp.log.data": "summarizing 11 characters"}]


def test_waiting_for_a_persons_answer_is_not_the_servers_hang(home):
    # 2.5 s to answer, against a 1 s deadline for the tool call, on both sides
    result, spans, _, _, _ = _run(home, "slow", "--timeout", "tool=1")
    assert "kept: True" in result.stdout
    assert [e for s in spans for e in s.events if e["name"] == "hang"] == []
    elicited = next(s for s in spans if s.name == "elicitation/create" and s.kind == "CLIENT")
    assert elicited.duration_ms >= 2500


def test_a_deadline_for_a_persons_answer_says_what_it_waits_for(home):
    result, spans, _, _, _ = _run(home, "slow", "--timeout", "person=1")
    assert "kept: True" in result.stdout  # reported, not cancelled (--on-hang report)
    hangs = [(s, e["attributes"]) for s in spans for e in s.events if e["name"] == "hang"]
    assert len(hangs) == 1
    span, hang = hangs[0]
    assert (span.name, span.kind) == ("elicitation/create", "CLIENT")
    assert hang["agentloupe.hang.kind"] == "person"
    assert hang["agentloupe.hang.stuck_at"] == "waiting for the user's answer to elicitation 'Keep this summary?'"


def test_the_terminal_tree_shows_the_direction_the_answer_and_the_progress(home):
    _run(home, "accept")
    tree = run_loupe(home, "trace").stdout
    lines: dict[str, str] = {}
    for line in tree.splitlines()[1:]:  # the last of each name: the side that handles it
        lines[line.lstrip("│├└─ ").split("  ")[0]] = line
    assert "server <- server asks  [" in lines["sampling/createMessage"]
    assert "client <- server asks  [" in tree
    assert "user: accept" in lines["elicitation/create"]
    assert "progress 2/3 (2 reports)  1 log message" in lines["tools/call summarize"]


def _springfield(home: Path, *flags: str):
    result = run_loupe(home, "run", "--no-tree", *flags, "What is the weather in Springfield?")
    assert result.returncode == 0, result.stderr
    spans = spans_in(home)
    asked = next(s for s in spans if s.name == "elicitation/create" and s.kind == "CLIENT")
    handled = next(s for s in spans if s.name == "elicitation/create" and s.kind == "SERVER")
    return result, spans, asked, handled


def test_the_bundled_weather_server_asks_which_place_and_loupe_run_answers_with_the_given_answer(home):
    result, spans, asked, handled = _springfield(home, "--answer", "Springfield, Missouri")
    assert 'get_weather(city="Springfield") = Springfield, Missouri: ' in result.stdout
    tool_server = next(s for s in spans if s.name == "tools/call get_weather" and s.kind == "SERVER")
    assert asked.parent_span_id == tool_server.span_id and asked.service == "agentloupe-weather"
    assert handled.parent_span_id == asked.span_id and handled.service == "agentloupe"
    assert handled.attributes["agentloupe.mcp.elicitation.message"] == "Which Springfield did you mean?"
    assert handled.attributes["agentloupe.mcp.elicitation.action"] == "accept"
    assert "asked" not in result.stderr  # nothing declined


def test_off_a_terminal_with_no_answer_the_question_is_declined_in_one_clear_line(home):
    result, _, _, handled = _springfield(home)  # run_loupe's stdin is not a terminal
    assert "no place was chosen (decline): name one of Springfield, Illinois;" in result.stdout
    warnings = [line for line in result.stderr.splitlines() if line.startswith("loupe: warning:")]
    assert warnings == [
        "loupe: warning: MCP server 'weather' asked 'Which Springfield did you mean?': declined, no terminal to ask"
        " at and no --answer left (answer with --answer 'Springfield, Illinois')"
    ]
    assert handled.is_error and handled.attributes["error.type"] == "elicitation_decline"


def test_an_answer_by_number_picks_that_choice_and_one_that_is_not_a_choice_is_declined(home):
    result, _, _, _ = _springfield(home, "--answer", "3")
    assert "Springfield, Massachusetts: " in result.stdout
    result = run_loupe(home, "run", "--no-tree", "--answer", "Shelbyville", "weather in Springfield")
    assert result.returncode == 0, result.stderr
    assert "declined, 'Shelbyville' is not one of its choices" in result.stderr


def test_loupe_run_answers_sampling_with_its_model_roots_with_its_directory_and_the_person_with_answer(home):
    config = write_mcp_json(
        home / "mcp.json", {"asking": {"command": sys.executable, "args": [str(ASSETS / "asking_server.py")]}}
    )
    result = run_loupe(home, "run", "--no-tree", "--config", str(config), "--answer", "yes", 'summarize "a long text"')
    assert result.returncode == 0, result.stderr
    # the offline planner is the run's model: it says it cannot summarize, and the server got that
    assert "could not answer 'Summarize: a long text'" in result.stdout and "(roots: 1, kept: True)" in result.stdout
    spans = spans_in(home)
    handled = next(s for s in spans if s.name == "sampling/createMessage" and s.kind == "SERVER")
    assert handled.service == "agentloupe" and handled.attributes["gen_ai.response.model"] == "offline-planner"
    model = next(s for s in spans if s.parent_span_id == handled.span_id)
    assert model.name == "chat offline-planner" and model.kind == "CLIENT"
