"""Your graph as LangGraph runs it: a project shaped like LangChain's react-agent template
(langgraph.json with env and dependencies, a src/ layout, a context_schema whose fields default
from the environment, the model node reading runtime.context.model), run with a real provider
client (langchain-openai) against a local OpenAI-compatible endpoint."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.assets import openai_endpoint
from tests.conftest import loupe_env, spans_in

TEMPLATE = Path(__file__).parent.parent / "assets" / "react_agent"


@pytest.fixture
def project(tmp_path):
    """A copy of the template with its .env pointing at a local endpoint; yields (folder, home)."""
    server, base_url = openai_endpoint.serve()
    folder = tmp_path / "react-agent"
    shutil.copytree(TEMPLATE, folder)
    (folder / ".env").write_text(f"MODEL=openai/local-model\nOPENAI_API_KEY=not-needed\nOPENAI_BASE_URL={base_url}\n")
    home = tmp_path / "home"
    home.mkdir()
    yield folder, home
    server.shutdown()


def _loupe(folder: Path, home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = loupe_env(home, **env)
    for name in ("MODEL", "OPENAI_API_KEY", "OPENAI_BASE_URL"):  # the .env file's, unless a test sets one
        if name not in env:
            environment.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "agentloupe", "run", *args], env=environment, cwd=folder,
        capture_output=True, text=True, timeout=120,
    )


def test_the_template_runs_as_langgraph_dev_would(project):
    folder, home = project
    result = _loupe(folder, home, "--graph", "agent", "What is 25 + 37?")
    assert result.returncode == 0, result.stderr
    assert "The answer is 62.0." in result.stdout
    spans = spans_in(home)
    root = next(s for s in spans if s.name == "invoke_agent ReAct Agent")
    mine = [s for s in spans if s.trace_id == root.trace_id]
    chats = [s for s in mine if s.name == "chat local-model"]
    assert len(chats) == 2 and len({s.trace_id for s in spans}) == 1
    assert chats[0].attributes["gen_ai.usage.input_tokens"] == 21 and chats[0].attributes["gen_ai.usage.output_tokens"] == 7
    assert chats[0].attributes["gen_ai.provider.name"] == "openai"
    assert [s.name for s in mine if s.name == "call_model"] == ["call_model", "call_model"]
    assert any(s.name == "execute_tool add" for s in mine)


def test_a_variable_already_set_wins_over_the_env_file(project):
    folder, home = project
    result = _loupe(folder, home, "--graph", "agent", "What is 1 + 2?", MODEL="openai/set-by-the-shell")
    assert result.returncode == 0, result.stderr
    assert {s.attributes.get("gen_ai.request.model") for s in spans_in(home) if s.name.startswith("chat ")} == {"set-by-the-shell"}


def test_context_is_passed_and_coerced_by_the_context_schema(project):
    folder, home = project
    (folder / "ctx.json").write_text(json.dumps({"model": "openai/from-context"}))
    for given in ('{"model": "openai/from-context"}', "@ctx.json"):
        result = _loupe(folder, home, "--graph", "agent", "--context", given, "What is 1 + 2?")
        assert result.returncode == 0, result.stderr
    models = [s.attributes.get("gen_ai.request.model") for s in spans_in(home) if s.name.startswith("chat ")]
    assert models and set(models) == {"from-context"}


def test_a_context_the_schema_rejects_is_one_line_naming_the_field(project):
    folder, home = project
    result = _loupe(folder, home, "--graph", "agent", "--context", '{"modle": "openai/x"}', "hi")
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [
        "loupe: error: --context: Context has no field 'modle' (its fields: system_prompt, model, max_search_results)"
    ], result.stderr


def test_graph_entries_as_objects_and_modules_with_a_src_layout(project):
    folder, home = project
    config = json.loads((folder / "langgraph.json").read_text())
    config["graphs"] = {"by_path": {"path": "./src/react_agent/graph.py:graph"}, "by_module": "react_agent.graph:graph"}
    (folder / "langgraph.json").write_text(json.dumps(config))
    for name in ("by_path", "by_module"):  # the module imports through "dependencies": ["."] -> src/
        result = _loupe(folder, home, "--graph", name, "What is 2 + 2?")
        assert result.returncode == 0, (name, result.stderr)
        assert "The answer is 4.0." in result.stdout


def test_stream_prints_the_tokens_as_they_come_and_keeps_the_trace(project):
    folder, home = project
    result = _loupe(folder, home, "--graph", "agent", "--stream", "What is 25 + 37?")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "The answer is 62.0.\n"  # streamed once (in chunks), not printed again
    chats = [s for s in spans_in(home) if s.name == "chat local-model"]
    assert len(chats) == 2 and chats[-1].attributes["gen_ai.usage.output_tokens"] == 7


def test_output_json_prints_the_final_state_for_scripts(project):
    folder, home = project
    result = _loupe(folder, home, "--graph", "agent", "--output", "json", "What is 25 + 37?")
    assert result.returncode == 0, result.stderr
    state = json.loads(result.stdout)
    assert state["messages"][-1]["content"] == "The answer is 62.0."
    assert [m["type"] for m in state["messages"]] == ["human", "ai", "tool", "ai"]
