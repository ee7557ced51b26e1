"""A developer's own graph and program, unmodified, under `loupe run --graph` and `loupe exec`.

The user's files (tests/assets/own_agent/) import nothing from agentloupe; MCP
servers and the programs run as real processes.
"""

from __future__ import annotations

import http.server
import json
import re
import shutil
import sys
import threading
from pathlib import Path

import pytest

from agentloupe.view.traces import SpanRecord, build_trees
from tests.conftest import ASSETS, run_loupe, spans_in

OWN = ASSETS / "own_agent"


@pytest.fixture
def project(home: Path) -> Path:
    """A copy of the user's project, with an mcp.json naming their server, as the working folder."""
    folder = home / "project"
    shutil.copytree(OWN, folder)
    (folder / "mcp.json").write_text(json.dumps({"mcpServers": {"own": {"command": sys.executable, "args": [str(folder / "server.py")]}}}))
    return folder


def _one_trace(home: Path) -> tuple[list[SpanRecord], SpanRecord]:
    spans = spans_in(home)
    assert len({s.trace_id for s in spans}) == 1, sorted({(s.trace_id, s.name) for s in spans if not s.parent_span_id})
    roots = build_trees(spans)
    assert len(roots) == 1, [r.name for r in roots]
    return spans, roots[0]


def _parent(spans: list[SpanRecord], span: SpanRecord) -> SpanRecord:
    return next(s for s in spans if s.span_id == span.parent_span_id)


def _ancestors(spans: list[SpanRecord], span: SpanRecord) -> list[str]:
    names = []
    while span.parent_span_id:
        span = _parent(spans, span)
        names.append(span.name)
    return names


def _server_span_under_client(spans: list[SpanRecord], tool: str) -> SpanRecord:
    server = next(s for s in spans if s.name == f"tools/call {tool}" and s.kind == "SERVER")
    client = _parent(spans, server)
    assert client.kind == "CLIENT" and client.name == f"tools/call {tool}" and client.service != server.service
    return client


def test_graph_file_node_with_its_own_client_session_is_one_trace(home, project):
    result = run_loupe(project, "run", "--graph", str(project / "agent.py") + ":graph", "hello", AGENTLOUPE_HOME=str(home))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "HELLO!"
    spans, root = _one_trace(home)
    assert root.name == "loupe run"
    client = _server_span_under_client(spans, "shout")
    # graph span -> node span -> MCP client span -> MCP server span (in the server process)
    assert _ancestors(spans, client) == ["fetch", "invoke_agent own", "loupe run"]
    server = next(s for s in spans if s.name == "tools/call shout" and s.kind == "SERVER")
    assert server.service == "server" and client.service == "agentloupe"
    # a sync node: the user's own span nests under it
    mine = next(s for s in spans if s.name == "summarize notes")
    assert _ancestors(spans, mine)[:2] == ["summarize", "invoke_agent own"]


def test_exec_runs_an_unmodified_program_as_one_trace(home, project):
    result = run_loupe(project, "exec", "--", sys.executable, str(project / "prog.py"), "hi there", AGENTLOUPE_HOME=str(home))
    assert result.returncode == 7, result.stderr  # the program's own exit code
    assert result.stdout == "HI THERE!\n"  # the program's stdout, untouched
    spans, root = _one_trace(home)
    assert root.name == "loupe exec" and root.attributes["process.exit.code"] == 7
    services = {s.service for s in spans}
    assert services == {"agentloupe", "prog", "server"}  # the server the program launched with no env joined
    client = _server_span_under_client(spans, "shout")
    assert client.service == "prog"
    assert _ancestors(spans, client) == ["fetch", "invoke_agent own", "loupe exec"]


def test_exec_trace_per_invocation_makes_each_invocation_its_own_trace(home, project):
    result = run_loupe(project, "exec", "--trace-per-invocation", "--no-tree", "--", sys.executable, str(project / "prog.py"), "x", AGENTLOUPE_HOME=str(home))
    assert result.returncode == 7, result.stderr
    roots = [s.name for s in build_trees(spans_in(home))]
    assert roots == ["invoke_agent own"]  # no `loupe exec` root around it


OWN_SDK_PROGRAMS = {
    # OpenTelemetry's API is first imported halfway through the SDK's own import: agentloupe's setup
    # waits for the SDK to be whole (it needs its names), and is in place before the first span.
    "sdk-first": "from opentelemetry.sdk.trace import TracerProvider\nfrom opentelemetry import trace\n",
    "propagate-first": "from opentelemetry import propagate\nfrom opentelemetry import trace\n",
    "api-only": "from opentelemetry import trace\n",
}


@pytest.mark.parametrize("imports", OWN_SDK_PROGRAMS.values(), ids=OWN_SDK_PROGRAMS.keys())
def test_exec_records_the_programs_own_spans_whatever_it_imports_first(home, imports):
    program = home / "own_spans.py"
    program.write_text(imports + 'with trace.get_tracer("mine").start_as_current_span("my span"):\n    pass\n')
    result = run_loupe(home, "exec", "--no-tree", "--", sys.executable, str(program))
    assert result.returncode == 0 and result.stderr == "", result.stderr
    spans, root = _one_trace(home)
    mine = next(s for s in spans if s.name == "my span")
    assert root.name == "loupe exec" and mine.parent_span_id == root.span_id and mine.service == "own_spans"


def test_exec_under_a_sampler_of_your_own_starts_the_program_under_its_span(home):
    # the span may not be sampled: the program is started once the span exists and hands it its context
    program = home / "own_spans.py"
    program.write_text('from opentelemetry import trace\nwith trace.get_tracer("mine").start_as_current_span("my span"):\n    pass\n')
    result = run_loupe(home, "exec", "--no-tree", "--", sys.executable, str(program),
                       OTEL_TRACES_SAMPLER="parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG="1.0")
    assert result.returncode == 0 and result.stderr == "", result.stderr
    spans, root = _one_trace(home)
    assert root.name == "loupe exec" and next(s for s in spans if s.name == "my span").parent_span_id == root.span_id


def test_exec_of_a_program_that_makes_no_span_leaves_only_the_exec_span(home):
    result = run_loupe(home, "exec", "--no-tree", "--", sys.executable, "-c", "import json")
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert [s.name for s in spans_in(home)] == ["loupe exec"]
    # the program never imported OpenTelemetry, so it never set up telemetry: no trace file of its own
    assert [p.name.split("-")[0] for p in (home / "traces").glob("*.jsonl")] == ["agentloupe"]


@pytest.fixture
def ping_url():
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.headers.get("traceparent", ""))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/ping", hits
    server.shutdown()


def test_factory_from_langgraph_json_with_tools_fanout_subgraph_and_httpx(home, project, ping_url):
    url, hits = ping_url
    result = run_loupe(project, "run", "--graph", "fanout", "--config", "mcp.json", "go", AGENTLOUPE_HOME=str(home), PING_URL=url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "42"  # the last message: the ToolNode's result of double(21)
    spans, root = _one_trace(home)
    # ToolNode with langchain-mcp-adapters tools on agentloupe's persistent session
    double = _server_span_under_client(spans, "double")
    assert _ancestors(spans, double)[:3] == ["execute_tool double", "tools", "invoke_agent fanout"]
    # Send fan-out: each branch's client span under its own branch
    branches = [s for s in spans if s.name == "branch"]
    assert len(branches) == 3
    clients = [s for s in spans if s.name == "tools/call shout" and s.kind == "CLIENT"]
    owners = []
    for client in clients:
        span = client
        while span.name != "branch":
            span = _parent(spans, span)
        owners.append(span.span_id)
    assert sorted(owners) == sorted(b.span_id for b in branches)
    assert all(any(s.parent_span_id == c.span_id and s.kind == "SERVER" for s in spans) for c in clients)
    # an httpx call in a node, traced by OpenTelemetry's own instrumentation, under the node
    http_span = next(s for s in spans if s.attributes.get("http.request.method") == "GET" or s.name == "GET")
    assert _parent(spans, http_span).name == "ping"
    assert hits and hits[0].split("-")[1] == root.trace_id  # and the context reached the HTTP server
    # a subgraph's node, and a span the user made inside it
    inner = next(s for s in spans if s.name == "inner work")
    assert _ancestors(spans, inner)[:4] == ["inner", "subgraph", "sub", "invoke_agent fanout"]


def test_async_factory_asking_for_config_and_input_state(home, project):
    result = run_loupe(project, "run", "--graph", "agent.py:make_async", "--input", json.dumps({"messages": [["user", "from input"]]}), "--no-tree", AGENTLOUPE_HOME=str(home))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "FROM INPUT!"
    assert not [s for s in spans_in(home) if s.name.startswith("start_server")]  # no tools asked: no server started


def test_nothing_leaks_out_of_the_graph_into_the_caller(home):
    result = run_loupe(home, "exec", "--no-tree", "--trace-per-invocation", "--", sys.executable, str(OWN / "caller_context.py"))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"ainvoke": True, "astream": True, "astream_events": True, "after_two_runs_unchanged": True}
    spans = spans_in(home)
    roots = build_trees(spans)
    assert [r.name for r in roots] == ["caller", "invoke_agent ctx", "invoke_agent ctx"]  # two runs in a row: two traces
    for n in (1, 2, 3):
        work = next(s for s in spans if s.name == f"work in branch {n}")
        branch = _parent(spans, work)
        assert branch.name == "branch" and not [s for s in spans if s.parent_span_id == branch.span_id and s is not work]


def test_a_callers_own_traceparent_reaches_the_server_unchanged(home, project):
    forwarded = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    result = run_loupe(project, "exec", "--no-tree", "--", sys.executable, str(project / "meta_prog.py"), AGENTLOUPE_HOME=str(home))
    assert result.returncode == 0, result.stderr
    # what the server saw in _meta: the caller's traceparent, and its own key beside it, both unchanged
    assert json.loads(result.stdout) == {"traceparent": forwarded, "custom": "kept"}
    spans = spans_in(home)
    # the program was instrumented (its call is traced), and its instrumentation left the caller's context alone
    assert any(s.name == "tools/call echo_meta" and s.kind == "CLIENT" and s.service == "meta_prog" for s in spans)
    server = next(s for s in spans if s.name == "tools/call echo_meta" and s.kind == "SERVER")
    assert (server.trace_id, server.parent_span_id) == ("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331")


def test_model_object_reference_runs_the_bundled_graph_with_token_counts(home):
    result = run_loupe(home, "run", "--model", f"{OWN / 'fake_model.py'}:scripted", "add two and three")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "2 + 3 = 5"
    spans = spans_in(home)
    chats = sorted((s for s in spans if s.name == "chat ToolCallingFake"), key=lambda s: s.start_ns)
    assert [(c.attributes["gen_ai.usage.input_tokens"], c.attributes["gen_ai.usage.output_tokens"]) for c in chats] == [(12, 7), (30, 5)]
    add = _server_span_under_client(spans, "add")
    assert add.attributes["gen_ai.tool.call.id"] == "call-add"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--graph", "missing.py:graph"], "missing.py not found"),
        (["--graph", "agent.py:nope"], "has no attribute 'nope'"),
        (["--graph", "agent.py:not_a_graph"], "not a graph"),
        (["--graph", "agent.py:broken"], "the factory raised RuntimeError: no graph today"),
        (["--graph", "nosuch"], "langgraph.json names agent, fanout"),
        (["--graph", "no_such_pkg.mod:graph"], "no module named 'no_such_pkg'"),
        (["--graph", "agent.py:graph", "--input", "[1]"], "--input must be a JSON object"),
        (["--graph", "agent.py:graph", "--model", "offline"], "brings its own model"),
        (["--model", "no_such_pkg.models:llm"], "no module named 'no_such_pkg'"),
    ],
)
def test_bad_graph_references_get_one_line_and_exit_2(home, project, args, message):
    result = run_loupe(project, "run", *args, "q", AGENTLOUPE_HOME=str(home))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("loupe: error: ") and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_exec_of_a_missing_program_is_one_line(home):
    error = "cannot run 'no-such-program-here': no such program (check the command after --)"
    result = run_loupe(home, "exec", "--", "no-such-program-here")
    assert result.returncode == 127, result.stderr
    # the whole of stderr: the trace of the failed `loupe exec` (its one span), then the one error line
    tree_head, tree_span, last = result.stderr.splitlines()
    assert re.fullmatch(r"trace [0-9a-f]{32}  \(1 spans, service agentloupe\)", tree_head), result.stderr
    assert re.fullmatch(rf"└─ loupe exec  [\d,.]+ ms  ERROR ProgramNotFound  \({re.escape(error)}\)", tree_span), result.stderr
    assert last == f"loupe: error: {error}"
    assert result.stdout == ""
    quiet = run_loupe(home, "exec", "--no-tree", "--", "no-such-program-here")
    assert quiet.returncode == 127 and quiet.stderr.splitlines() == [f"loupe: error: {error}"]


def test_trace_shows_the_last_trace_whatever_its_root_and_lists_them(home):
    assert run_loupe(home, "call", "math.add", '{"a": 1, "b": 2}').returncode == 0
    user = run_loupe(home, "exec", "--no-tree", "--", sys.executable, str(ASSETS / "user_client.py"), str(ASSETS / "user_server.py"))
    assert user.returncode == 0, user.stderr
    shown = run_loupe(home, "trace")
    assert shown.returncode == 0, shown.stderr
    assert "└─ loupe exec" in shown.stdout.splitlines()[1]
    assert "user request" in shown.stdout
    listed = run_loupe(home, "trace", "--list").stdout.strip().splitlines()
    assert len(listed) == 2
    assert " loupe exec " in listed[0] and "user-client" in listed[0] and "user-server" in listed[0]
    assert " loupe call " in listed[1] and "agentloupe-math" in listed[1] and listed[1].endswith("ok")
