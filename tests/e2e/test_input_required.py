"""Input-required rounds (the 2026-07-28 protocol, SEP-2322): a server tool needs the client's model
and then the person, answers InputRequiredResult twice, and the client's driver retries the call
with the answers. Unmodified client and server processes under ``loupe exec``: each round a CLIENT
span with its SERVER span, numbered; what the client did between rounds a span between them; the
call's own span (FastMCP's) counts the rounds."""

import json
import shlex
import sys
from pathlib import Path

import pytest

from tests.conftest import MCP_GENERATION, run_loupe, spans_in

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "backchannel"
pytestmark = pytest.mark.skipif(MCP_GENERATION != 2, reason="InputRequiredResult is the 2026-07-28 protocol: mcp 2.x")


def _run(home: Path, driver: str, answer: str = "accept"):
    client, server = ASSETS / "rounds_client.py", ASSETS / "rounds_server.py"
    result = run_loupe(home, "exec", "--no-tree", "--", sys.executable, str(client), str(server), driver, answer)
    assert result.returncode == 0, result.stderr
    spans = spans_in(home)
    rounds = sorted(
        (
            s
            for s in spans
            if s.name == "tools/call summarize"
            and s.kind == "CLIENT"
            and "agentloupe.mcp.input_required.round" in s.attributes
        ),
        key=lambda s: s.start_ns,
    )
    return result, spans, rounds


def _between(span, before, after) -> bool:
    return before.end_ns <= span.start_ns and span.end_ns <= after.start_ns


@pytest.mark.parametrize("driver", ["sdk", "fastmcp"])
def test_each_round_is_a_request_and_what_the_client_did_between_them_is_a_span(home, driver):
    result, spans, rounds = _run(home, driver)
    assert "a short summary (kept: True)" in result.stdout
    assert len({s.trace_id for s in spans}) == 1
    assert [s.attributes["agentloupe.mcp.input_required.round"] for s in rounds] == [1, 2, 3]
    assert [s.attributes.get("agentloupe.mcp.input_required.asked") for s in rounds] == [
        ["sampling/createMessage"],
        ["elicitation/create"],
        None,
    ]
    assert len({s.parent_span_id for s in rounds}) == 1  # all under one parent: the logical call
    # each round reached the server: one SERVER span per round, in the server's process
    served = [s for s in spans if s.name == "tools/call summarize" and s.kind == "SERVER"]
    assert len(served) == 3 and all(s.service != rounds[0].service for s in served)
    # between round 1 and 2 the client asked its model; between 2 and 3, the person
    sampled = next(s for s in spans if s.name == "sampling/createMessage")
    elicited = next(s for s in spans if s.name == "elicitation/create")
    for asked in (sampled, elicited):
        assert asked.attributes["agentloupe.mcp.direction"] == "input_required"
        assert asked.parent_span_id == rounds[0].parent_span_id
    assert _between(sampled, rounds[0], rounds[1]) and _between(elicited, rounds[1], rounds[2])
    model = next(s for s in spans if s.name == "chat fake-model")
    assert model.parent_span_id == sampled.span_id and model.duration_ms >= 50
    assert elicited.attributes["agentloupe.mcp.elicitation.message"] == "Keep 'a short summary'?"
    assert elicited.attributes["agentloupe.mcp.elicitation.action"] == "accept" and not elicited.is_error


def test_fastmcps_span_for_the_call_counts_its_rounds(home):
    _, spans, rounds = _run(home, "fastmcp")
    call = next(s for s in spans if s.span_id == rounds[0].parent_span_id)
    assert call.name == "tools/call summarize" and call.kind == "CLIENT"
    assert call.attributes["agentloupe.mcp.input_required.rounds"] == 3
    assert call.start_ns <= rounds[0].start_ns and rounds[-1].end_ns <= call.end_ns


def test_a_declined_answer_marks_its_span_and_the_tree_shows_the_rounds(home):
    result, spans, rounds = _run(home, "sdk", "decline")
    assert "elicitation was decline" in result.stdout
    elicited = next(s for s in spans if s.name == "elicitation/create")
    assert elicited.is_error and elicited.attributes["error.type"] == "elicitation_decline"
    last = rounds[-1]
    assert last.attributes["agentloupe.mcp.input_required.round"] == 3 and last.is_error  # the tool's error result
    tree = run_loupe(home, "trace").stdout
    assert "round 1 -> asks sampling/createMessage" in tree and "round 3" in tree
    assert "elicitation/create" in tree and "<- input required" in tree and "user: decline" in tree


def test_the_html_view_shows_the_rounds_and_what_was_asked_between_them(home):
    _run(home, "fastmcp")
    written = run_loupe(home, "trace", "--html", str(home / "run.html"))
    assert written.returncode == 0, written.stderr
    page = (home / "run.html").read_text()
    for note in ("3 rounds", "round 1 -> asks sampling/createMessage", "round 3", "<- input required  user: accept"):
        assert f'"notes": "{note}"' in page, note  # the row's note, as the tree has it


def test_langchain_mcps_interrupt_stops_the_run_and_the_resumed_retry_links_to_the_round_that_asked(home):
    # langchain.mcp's default: the server's question becomes a LangGraph interrupt(). The run stops
    # with it (exit 4) and prints a --resume to edit; the run that resumes (another process) sends
    # the call again and then the retry with the answer, linked to the round that asked
    graph = f"{ASSETS / 'interrupt_graph.py'}:graph"
    env = {"PLACES_STATE": str(home / "places.pickle")}
    first = run_loupe(home, "run", "--graph", graph, "--input", '{"city": "Springfield", "forecast": ""}', **env)
    assert first.returncode == 4, first.stderr
    said = [line for line in first.stderr.splitlines() if line.startswith("loupe: ")]
    assert "loupe: the MCP tool 'forecast' asks: Which Springfield did you mean?" in said, first.stderr
    tool = next(line for line in first.stderr.splitlines() if "execute_tool forecast" in line)
    assert tool.endswith("1 round  interrupted"), first.stderr
    asked = next(s for s in spans_in(home) if s.attributes.get("agentloupe.mcp.input_required.asked"))
    assert asked.attributes["agentloupe.mcp.input_required.asked"] == ["elicitation/create"]

    # the printed command, as a user would paste it: its answer is the first of the choices
    command = shlex.split(said[-1].removeprefix("loupe: continue with: "))
    assert command[:3] == ["loupe", "run", "--graph"], said[-1]
    second = run_loupe(home, *command[1:], "--output", "json", **env)
    assert second.returncode == 0, second.stderr
    assert "Sunny in Springfield, Illinois" in json.loads(second.stdout)["forecast"]
    rounds = [s for s in spans_in(home) if s.trace_id != asked.trace_id and s.name == "tools/call forecast"]
    [retry] = [s for s in rounds if s.kind == "CLIENT" and s.attributes.get("agentloupe.mcp.input_required.round") == 2]
    assert [(link["trace_id"], link["span_id"]) for link in retry.links] == [(asked.trace_id, asked.span_id)]
    assert "round 2  (answers the round of trace " in run_loupe(home, "trace").stdout
