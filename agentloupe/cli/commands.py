"""``loupe``: a thin face over the platform. Each command parses flags and calls one function."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

from agentloupe.platform.errors import AgentloupeError, ConfigError

# The rest is imported by the command that needs it: `loupe --help` and a bad flag cost a
# Python start and typer, not OpenTelemetry, MCP and LangGraph (the import time is measured).
if TYPE_CHECKING:
    from agentloupe.platform.config import Settings
    from agentloupe.platform.runner import CallResult, RunResult


def _version(value: bool) -> None:
    if value:
        from agentloupe._version import __version__

        print(f"loupe (agentloupe) {__version__}")
        raise typer.Exit(0)


app = typer.Typer(
    name="loupe",
    help="Run an MCP + LangGraph agent with every layer traced.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # plain help: wrapped at the terminal's width (80 columns too) without cutting words
    rich_markup_mode=None,
)

T = TypeVar("T")
SERVE_TOKEN_ENV = "AGENTLOUPE_SERVE_TOKEN"
#: A run that answered without one of its (not "required") MCP servers.
EXIT_DEGRADED = 3


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="print the version and exit")
    ] = False,
) -> None:
    """See inside your LangGraph agent and its MCP servers: traces, memory checks, hangs."""


ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help='mcp.json with {"mcpServers": {...}} (default: the bundled servers)'),
]
OtlpOption = Annotated[
    str | None,
    typer.Option(
        "--otlp",
        help="OTLP endpoint, e.g. http://localhost:4317 (default: OTEL_EXPORTER_OTLP_ENDPOINT, else trace files)",
    ),
]
CaptureOption = Annotated[
    bool, typer.Option("--capture-content", help="record prompts, tool arguments and results (redacted, capped)")
]
TreeOption = Annotated[bool, typer.Option("--tree/--no-tree", help="print the run's trace tree on stderr")]
LogOption = Annotated[str | None, typer.Option("--log-level", help="DEBUG, INFO, WARNING (default) or ERROR")]
MemoryOption = Annotated[
    bool,
    typer.Option(
        "--memory",
        help="tracemalloc on: traced delta and peak per span, top allocation sites"
        " (costs 7.5x-78x on allocation-heavy code, measured)",
    ),
]
TimeoutOption = Annotated[
    list[str] | None,
    typer.Option(
        "--timeout",
        metavar="KIND=SECONDS",
        help="deadline per kind: run, model, tool, mcp, server_start, shutdown (repeatable)",
    ),
]
OnHangOption = Annotated[
    str | None, typer.Option("--on-hang", help="past a deadline: 'report' (default, keep waiting) or 'cancel'")
]
PrometheusOption = Annotated[
    int | None,
    typer.Option(
        "--prometheus-port",
        help="serve /metrics on 127.0.0.1:PORT for Prometheus (servers too, found via .agentloupe/prometheus/*.json)",
    ),
]
LoopThresholdOption = Annotated[
    float | None, typer.Option("--loop-threshold-ms", help="report event-loop blocks longer than this (default 100)")
]


def one_line(message: str) -> str:
    """A message as one line: a newline or other control character in a name is shown escaped."""
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in message)


def tool_error_line(text: str) -> str:
    """A tool's error as one line: FastMCP's prefix dropped, a pydantic dump reduced to field: message."""
    text = re.sub(r"^Error executing tool \S+: ", "", text.strip())
    if (dump := re.match(r"\d+ validation errors? for \w+\n(.*)", text, re.S)) is not None:
        problems = re.findall(r"^(\S[^\n]*)\n\s+([^\n\[]+)", dump.group(1), re.M)
        return "; ".join(f"{field}: {message.strip().rstrip(',')}" for field, message in problems) or text
    return " ".join(text.split())


def _fail(message: str, code: int) -> NoReturn:
    print(f"loupe: error: {one_line(message)}", file=sys.stderr)
    raise typer.Exit(code)


def _execute(
    settings: Settings,
    work: Callable[[], Awaitable[T]],
    *,
    own_signals: bool = False,
    launch_first: list[str] | None = None,
    prepare: Callable[[], object] = lambda: None,
) -> T:
    """Run a command's work (``lifecycle.execute``); show the tree; turn the outcome into an exit."""
    from agentloupe.platform import lifecycle

    outcome = lifecycle.execute(
        settings,
        work,
        own_signals=own_signals,
        say=lambda line: print(f"loupe: {line}", file=sys.stderr, flush=True),
        launch_first=launch_first,
        prepare=prepare,
    )
    if outcome.trace_file and settings.print_tree and not outcome.bad_input:
        _print_last_tree()
    elif outcome.endpoint and outcome.spans_undelivered:
        print(
            f"loupe: {outcome.spans_undelivered} of {outcome.spans_ended} spans could not be delivered to"
            f" {outcome.endpoint} ({outcome.protocol}) and are lost: is the collector up?",
            file=sys.stderr,
        )
    elif outcome.endpoint:
        print(
            f"loupe: {outcome.spans_ended} spans exported to {outcome.endpoint} ({outcome.protocol})", file=sys.stderr
        )
    if outcome.message is not None and outcome.message.startswith("stopped by "):
        print(f"loupe: {outcome.message}", file=sys.stderr)
        raise typer.Exit(outcome.exit_code)
    if outcome.message is not None:
        _fail(outcome.message, outcome.exit_code)
    if outcome.exit_code:
        raise typer.Exit(outcome.exit_code)
    return outcome.value  # type: ignore[return-value]


def _import_the_runner() -> None:
    """What ``loupe call`` imports while its server boots (``lifecycle.execute(prepare=...)``)."""
    import agentloupe.platform.runner  # noqa: F401


def _import_the_agent() -> None:
    """What ``loupe run`` imports while its servers boot: the runner, LangGraph, LangChain."""
    from agentloupe.platform.runner import import_the_agent

    import_the_agent()


def leak_report(trace_id: str) -> str:
    """Growth per run of every process in the trace, from the memory samples in the trace files."""
    from agentloupe.view.leaks import reports_from_spans
    from agentloupe.view.traces import read_spans

    reports = reports_from_spans(read_spans(), trace_id)
    if not reports:
        return "leak report: no memory samples recorded (use --memory with --repeat, without --otlp)"
    return "leak report (memory growth per run; for servers, per tool call):\n" + "\n".join(r.render() for r in reports)


def _print_last_tree() -> None:
    from agentloupe.view.traces import latest_trace_id, read_spans
    from agentloupe.view.tree import render_tree

    spans = read_spans()
    trace_id = latest_trace_id(spans)
    if trace_id:
        print(render_tree(spans, trace_id), file=sys.stderr)


def _settings(**kwargs: Any) -> Settings:
    from agentloupe.platform.config import load_settings

    try:
        return load_settings(**kwargs)
    except AgentloupeError as exc:
        _fail(str(exc), exc.exit_code)
        raise  # unreachable


@app.command()
def run(
    question: Annotated[
        str | None, typer.Argument(help="what to ask the agent (for --graph: the user message)")
    ] = None,
    graph: Annotated[
        str | None,
        typer.Option(
            "--graph",
            "-g",
            metavar="FILE.py:NAME",
            help="run your own LangGraph graph: FILE.py:NAME, package.module:NAME, or NAME from ./langgraph.json",
        ),
    ] = None,
    input_json: Annotated[
        str | None,
        typer.Option(
            "--input",
            metavar="JSON",
            help="with --graph: the input state as a JSON object (QUESTION is added as a user message)",
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="'offline' (default, a planner, no key), an init_chat_model spec like openai:gpt-4o-mini,"
            " or your own model object as module.path:attr / file.py:attr",
        ),
    ] = None,
    config: ConfigOption = None,
    otlp: OtlpOption = None,
    capture_content: CaptureOption = False,
    tree: TreeOption = True,
    log_level: LogOption = None,
    memory: MemoryOption = False,
    timeout: TimeoutOption = None,
    on_hang: OnHangOption = None,
    loop_threshold_ms: LoopThresholdOption = None,
    repeat: Annotated[
        int,
        typer.Option(
            "--repeat", min=1, help="run the question N times on the same servers; with --memory, print a leak report"
        ),
    ] = 1,
    prometheus_port: PrometheusOption = None,
) -> None:
    """Run the agent (the bundled one, or yours with --graph) on QUESTION; print the answer and the trace."""
    settings = _settings(
        config=config,
        model=model,
        otlp=otlp,
        capture_content=capture_content or None,
        print_tree=tree,
        log_level=log_level,
        memory=memory or None,
        timeouts=timeout,
        on_hang=on_hang,
        loop_threshold_ms=loop_threshold_ms,
        repeat=repeat,
        prometheus_port=prometheus_port,
    )
    if graph is not None:
        from agentloupe.instrumentation import instrument_langgraph
        from agentloupe.instrumentation.stdio_children import instrument_stdio_children
        from agentloupe.platform.usergraph import graph_input, load_graph_target

        if model is not None:
            _fail("--model applies to the bundled agent; a graph given with --graph brings its own model", 2)
        try:
            state = graph_input(question, input_json)
            target = load_graph_target(graph)
        except AgentloupeError as exc:
            _fail(str(exc), exc.exit_code)
        from agentloupe.platform.runner import preload, run_graph

        preload()  # LangChain's lazy imports, before the loop (the user's graph imported LangGraph already)
        instrument_langgraph()
        instrument_stdio_children()
        result = _execute(settings, lambda: run_graph(settings, graph, target, state))
    else:
        if input_json is not None:
            _fail("--input needs --graph: the bundled agent takes a QUESTION", 2)
        if question is None:
            _fail('QUESTION is missing: loupe run "What is 2 + 3?"', 2)
        if not question.strip():
            _fail('QUESTION is empty: ask something, e.g. loupe run "What is 2 + 3?"', 2)
        asked: str = question

        async def bundled() -> RunResult:
            from agentloupe.platform.runner import run_agent

            return await run_agent(settings, asked)

        result = _execute(settings, bundled, launch_first=settings.autostarted(), prepare=_import_the_agent)
    if result is not None:
        print(result.answer)
        print(f"trace_id={result.trace_id}", file=sys.stderr)
        for name in result.missing:
            print(f"loupe: warning: MCP server {name!r} was not available; the run went on without it", file=sys.stderr)
        if settings.repeat > 1 and settings.memory:
            print(leak_report(result.trace_id), file=sys.stderr)
        elif settings.repeat > 1:
            print(
                f"leak report: none: no leak check was made ({settings.repeat} runs without --memory records no"
                " memory samples; add --memory for the growth per run and the sites that keep growing)",
                file=sys.stderr,
            )
        if result.missing:
            raise typer.Exit(EXIT_DEGRADED)


@app.command(
    "exec",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "allow_interspersed_args": False},
)
def exec_(
    command: Annotated[
        list[str],
        typer.Argument(metavar="-- COMMAND [ARGS]...", help="the program to run, after --, e.g. -- python app.py"),
    ],
    trace_per_invocation: Annotated[
        bool,
        typer.Option(
            "--trace-per-invocation",
            help="for long-lived programs (servers, workers): each top-level graph invocation is its own trace,"
            " not one trace for the whole program",
        ),
    ] = False,
    config: ConfigOption = None,
    otlp: OtlpOption = None,
    capture_content: CaptureOption = False,
    tree: TreeOption = True,
    log_level: LogOption = None,
    memory: MemoryOption = False,
    timeout: TimeoutOption = None,
    on_hang: OnHangOption = None,
    loop_threshold_ms: LoopThresholdOption = None,
    prometheus_port: PrometheusOption = None,
) -> None:
    """Run any Python program with MCP and LangGraph traced, no code change (like opentelemetry-instrument)."""
    from agentloupe.platform.exec import exec_program

    if not command:
        _fail("name the program after --, e.g. loupe exec -- python app.py", 2)
    settings = _settings(
        config=config,
        otlp=otlp,
        capture_content=capture_content or None,
        print_tree=tree,
        log_level=log_level,
        memory=memory or None,
        timeouts=timeout,
        on_hang=on_hang,
        loop_threshold_ms=loop_threshold_ms,
        prometheus_port=prometheus_port,
    )
    code = _execute(
        settings,
        lambda: exec_program(settings, list(command), trace_per_invocation=trace_per_invocation),
        own_signals=True,
    )
    raise typer.Exit(code or 0)


@app.command()
def call(
    target: Annotated[str, typer.Argument(metavar="SERVER.TOOL", help="e.g. math.add")],
    arguments: Annotated[str, typer.Argument(metavar="ARGS_JSON", help="tool arguments as a JSON object")] = "{}",
    config: ConfigOption = None,
    otlp: OtlpOption = None,
    capture_content: CaptureOption = False,
    tree: TreeOption = True,
    log_level: LogOption = None,
    memory: MemoryOption = False,
    timeout: TimeoutOption = None,
    on_hang: OnHangOption = None,
    loop_threshold_ms: LoopThresholdOption = None,
    prometheus_port: PrometheusOption = None,
) -> None:
    """Call one tool of one MCP server, fully traced, and print its result."""
    try:
        parsed = json.loads(arguments)
    except json.JSONDecodeError as exc:
        _fail(f"ARGS_JSON is not valid JSON ({exc.msg} at column {exc.colno}): pass an object like '{{\"a\": 2}}'", 2)
    if not isinstance(parsed, dict):
        _fail("ARGS_JSON must be a JSON object like '{\"a\": 2}'", 2)
    settings = _settings(
        config=config,
        otlp=otlp,
        capture_content=capture_content or None,
        print_tree=tree,
        log_level=log_level,
        memory=memory or None,
        timeouts=timeout,
        on_hang=on_hang,
        loop_threshold_ms=loop_threshold_ms,
        prometheus_port=prometheus_port,
    )
    from agentloupe.platform.config import LOCAL_SERVER, parse_target

    try:
        server, _ = parse_target(settings, target)
    except AgentloupeError as exc:
        _fail(str(exc), exc.exit_code)

    async def one_call() -> CallResult:
        from agentloupe.platform.runner import call_tool

        return await call_tool(settings, target, parsed)

    launch_first = [server] if server != LOCAL_SERVER else None
    result = _execute(settings, one_call, launch_first=launch_first, prepare=_import_the_runner)
    if result is not None:
        if result.is_error:
            why = tool_error_line(result.text)
            _fail(f"tool {target.partition('.')[2]} failed: {why} (trace_id={result.trace_id})", 1)
        print(result.text)
        print(f"trace_id={result.trace_id}", file=sys.stderr)


@app.command()
def serve(
    port: Annotated[int, typer.Option("--port", "-p", min=0, max=65535, help="port to listen on")] = 8080,
    host: Annotated[
        str, typer.Option("--host", help="address to bind (default 127.0.0.1; 0.0.0.0 in a container)")
    ] = "127.0.0.1",
    max_concurrent: Annotated[
        int, typer.Option("--max-concurrent", min=1, help="runs in flight at once; more get 429")
    ] = 32,
    drain: Annotated[
        float, typer.Option("--drain-seconds", min=0, help="on SIGTERM, how long runs in flight may take to finish")
    ] = 30,
    token_file: Annotated[
        Path | None,
        typer.Option(
            "--token-file", help="file holding the bearer token /v1/runs requires (default: AGENTLOUPE_SERVE_TOKEN)"
        ),
    ] = None,
    no_auth: Annotated[
        bool, typer.Option("--no-auth", help="serve a non-loopback address without a token (anyone may run the agent)")
    ] = False,
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="'offline' (default) or an init_chat_model spec")
    ] = None,
    config: ConfigOption = None,
    otlp: OtlpOption = None,
    capture_content: CaptureOption = False,
    log_level: LogOption = None,
    memory: MemoryOption = False,
    timeout: TimeoutOption = None,
    on_hang: OnHangOption = None,
    prometheus_port: PrometheusOption = None,
) -> None:
    """Serve the agent over HTTP: POST /v1/runs (bearer token), GET /healthz, GET /readyz."""
    from agentloupe._httpauth import TokenError, is_loopback, read_token

    try:
        token = read_token(token_file=token_file, env_var=SERVE_TOKEN_ENV)
    except TokenError as exc:
        _fail(str(exc), 2)
    if token is None and not no_auth and not is_loopback(host):
        _fail(
            f"refusing to serve on {host} without a token: anyone who reaches the port could run every tool;"
            f" set {SERVE_TOKEN_ENV} or --token-file (e.g. a mounted Secret), or pass --no-auth to mean it",
            2,
        )
    from agentloupe.platform.runner import preload
    from agentloupe.platform.serve import serve as serve_agent

    preload()
    settings = _settings(
        config=config,
        model=model,
        otlp=otlp,
        capture_content=capture_content or None,
        print_tree=False,
        log_level=log_level or "INFO",
        memory=memory or None,
        timeouts=timeout,
        on_hang=on_hang,
        prometheus_port=prometheus_port,
    )
    _execute(
        settings,
        lambda: serve_agent(settings, host=host, port=port, max_concurrent=max_concurrent, drain_s=drain, token=token),
        own_signals=True,
    )


@app.command("tools")
def show_tools(config: ConfigOption = None, log_level: LogOption = None) -> None:
    """List every tool `loupe call` and the planner can use: the local tools and each server's, with parameters."""
    from agentloupe.platform.catalog import list_tools, render
    from agentloupe.platform.sessions.launcher import child_environment

    settings = _settings(config=config, log_level=log_level, print_tree=False)
    servers = _execute(settings, lambda: list_tools(settings, child_environment(settings)))
    print(render(servers, width=max(80, shutil.get_terminal_size((100, 24)).columns)))
    failed = [s.name for s in servers if s.error]
    if failed:
        raise typer.Exit(1)


@app.command("trace")
def show_trace(
    trace_id: Annotated[
        str | None, typer.Option("--trace-id", help="which trace (default: the one that ended last)")
    ] = None,
    html_path: Annotated[
        Path | None, typer.Option("--html", help="write a self-contained HTML waterfall to this file")
    ] = None,
    list_traces: Annotated[bool, typer.Option("--list", help="list the recent traces, one line each")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, help="with --list: how many")] = 20,
) -> None:
    """Print the tree of the trace that ended last (loupe run, loupe exec, your program), from every trace file."""
    from agentloupe.instrumentation.tracefiles import traces_dir
    from agentloupe.view.traces import latest_trace_id, read_spans, trace_summaries
    from agentloupe.view.tree import render_tree

    spans = read_spans()
    if not spans:
        _fail(f"no trace files in {traces_dir()}: run `loupe run ...` first (without --otlp)", 1)
    if list_traces:
        from agentloupe.view.tree import render_trace_list

        print(render_trace_list(trace_summaries(spans)[:limit]))
        return
    chosen = trace_id or latest_trace_id(spans)
    if chosen is None or not any(s.trace_id == chosen for s in spans):
        _fail(f"trace {trace_id} not found in {traces_dir()}", 1)
    if html_path is not None:
        from agentloupe.view.html import render_html

        try:
            html_path.write_text(render_html(spans, chosen), encoding="utf-8")
        except OSError as exc:
            _fail(f"cannot write {html_path}: {exc.strerror or exc}", 1)
        print(f"wrote {html_path} (trace {chosen})")
        return
    print(render_tree(spans, chosen))


def exit_code() -> int:
    """Run ``loupe`` on ``sys.argv``; the exit code. Every error a user can make is one
    ``loupe: error:`` line, typer's own included."""
    # typer ships its own copy of click; its usage errors live there (no public name for them).
    from typer._click import exceptions as click

    try:
        code = app(standalone_mode=False, prog_name="loupe")
    except click.NoArgsIsHelpError as exc:
        exc.show()
        return exc.exit_code
    except click.UsageError as exc:
        command = exc.ctx.command_path if exc.ctx is not None else "loupe"
        message = " ".join(exc.format_message().split())
        print(f"loupe: error: {one_line(message)} (see: {command} --help)", file=sys.stderr)
        return exc.exit_code
    except typer.Abort:
        print("loupe: stopped", file=sys.stderr)
        return 130
    except ConfigError as exc:  # pragma: no cover - commands map their own errors
        print(f"loupe: error: {one_line(str(exc))}", file=sys.stderr)
        return exc.exit_code
    return code if isinstance(code, int) else 0


def main() -> None:
    """``loupe`` in a process of its own: exits with the command's code."""
    sys.exit(exit_code())


def entrypoint() -> None:
    """The ``loupe`` console script: like ``main``, and then straight out.

    By the time a command returns, its servers are stopped and its telemetry flushed (within
    budget); the interpreter's teardown of every module it imported (LangGraph, MCP,
    OpenTelemetry) would add a tenth of a second to every command for nothing, measured.
    """
    code = exit_code()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(ValueError, OSError):
            stream.flush()
    os._exit(code)
