"""The ``loupe`` commands: each parses its flags and calls one function of the platform."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from agentloupe.cli.common import (
    AnswerOption,
    CaptureOption,
    ConfigOption,
    LogOption,
    LoopThresholdOption,
    MemoryOption,
    OnHangOption,
    OtlpOption,
    PrometheusOption,
    TimeoutOption,
    TreeOption,
    execute,
    fail,
    imports_of_call,
    imports_of_run,
    leak_report,
    settings_from,
    tool_error_line,
)
from agentloupe.platform.errors import AgentloupeError

# The rest is imported by the command that needs it: `loupe --help` and a bad flag cost a
# Python start and typer, not OpenTelemetry, MCP and LangGraph (the import time is measured).
if TYPE_CHECKING:
    from agentloupe.platform.commands.runner import CallResult
    from agentloupe.platform.runs import RunResult


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
    context_json: Annotated[
        str | None,
        typer.Option(
            "--context",
            metavar="JSON",
            help="with --graph: the run's runtime context, a JSON object or @file.json (default {},"
            " as langgraph dev), coerced by the graph's context_schema",
        ),
    ] = None,
    thread: Annotated[
        str | None,
        typer.Option(
            "--thread", metavar="ID", help="with --graph: the checkpointed graph's thread (default: a new one)"
        ),
    ] = None,
    resume_json: Annotated[
        str | None,
        typer.Option(
            "--resume", metavar="JSON", help="with --graph --thread: continue a run stopped at interrupt() with this"
        ),
    ] = None,
    output: Annotated[
        str,
        typer.Option("--output", metavar="FORMAT", help="with --graph: text (the answer) or json (the final state)"),
    ] = "text",
    stream: Annotated[
        bool, typer.Option("--stream", help="with --graph: print the model's tokens as they come")
    ] = False,
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
    answer: AnswerOption = None,
) -> None:
    """Run the agent (the bundled one, or yours with --graph) on QUESTION; print the answer and the trace."""
    settings = settings_from(
        answers=answer,
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
    from agentloupe.cli.owngraph import EXIT_INTERRUPTED, GraphFlags, report_thread, run_own_graph

    graph_flags = GraphFlags(graph or "", question, input_json, context_json, thread, resume_json, output, stream)
    if graph is not None:
        if model is not None:
            fail("--model applies to the bundled agent; a graph given with --graph brings its own model", 2)
        result = run_own_graph(settings, graph_flags)
    else:
        if graph_flags != GraphFlags("", question):
            fail("--input, --context, --thread, --resume, --output and --stream need --graph", 2)
        if question is None:
            fail('QUESTION is missing: loupe run "What is 2 + 3?"', 2)
        if not question.strip():
            fail('QUESTION is empty: ask something, e.g. loupe run "What is 2 + 3?"', 2)
        asked: str = question

        async def bundled() -> RunResult:
            from agentloupe.platform.commands.runner import run_agent

            return await run_agent(settings, asked)

        result = execute(settings, bundled, launch_first=settings.autostarted(), prepare=imports_of_run)
    if result is not None:
        if not result.streamed:
            print(result.answer)
        print(f"trace_id={result.trace_id}", file=sys.stderr)
        report_thread(result, graph_flags)
        for name in result.missing:
            print(f"loupe: warning: MCP server {name!r} was not available; the run went on without it", file=sys.stderr)
        for line in result.declined:
            print(f"loupe: warning: {line}", file=sys.stderr)
        if settings.repeat > 1 and settings.memory:
            print(leak_report(result.trace_id), file=sys.stderr)
        elif settings.repeat > 1:
            print(
                f"leak report: none: no leak check was made ({settings.repeat} runs without --memory records no"
                " memory samples; add --memory for the growth per run and the sites that keep growing)",
                file=sys.stderr,
            )
        if result.interrupts:
            raise typer.Exit(EXIT_INTERRUPTED)
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
    from agentloupe.platform.commands.exec import ProgramNotFound, exec_program, launch, not_started, reap

    if not command:
        fail("name the program after --, e.g. loupe exec -- python app.py", 2)
    settings = settings_from(
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
    # The program starts before this process sets up its telemetry: the two starts overlap.
    try:
        launched = launch(settings, list(command), trace_per_invocation=trace_per_invocation)
    except ProgramNotFound as exc:
        error = exc  # the failed `loupe exec` span is recorded, then the one line
        execute(settings, lambda: not_started(list(command), error), own_signals=True, uses_mcp=False)
        raise  # not reached: execute exits with the error's code
    try:
        code = execute(settings, lambda: exec_program(launched), own_signals=True, uses_mcp=False)
    finally:
        if launched.process is not None and launched.process.poll() is None:  # leaving early: wait for it
            code = reap(launched)
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
    answer: AnswerOption = None,
) -> None:
    """Call one tool of one MCP server, fully traced, and print its result."""
    try:
        parsed = json.loads(arguments)
    except json.JSONDecodeError as exc:
        fail(f"ARGS_JSON is not valid JSON ({exc.msg} at column {exc.colno}): pass an object like '{{\"a\": 2}}'", 2)
    if not isinstance(parsed, dict):
        fail("ARGS_JSON must be a JSON object like '{\"a\": 2}'", 2)
    settings = settings_from(
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
        answers=answer,
    )
    from agentloupe.platform.commands.targets import parse_target
    from agentloupe.platform.config import LOCAL_SERVER

    try:
        server, _ = parse_target(settings, target)
    except AgentloupeError as exc:
        fail(str(exc), exc.exit_code)

    async def one_call() -> CallResult:
        from agentloupe.platform.commands.runner import call_tool

        return await call_tool(settings, target, parsed)

    launch_first = [server] if server != LOCAL_SERVER else None
    result = execute(settings, one_call, launch_first=launch_first, prepare=imports_of_call)
    if result is not None:
        if result.is_error:
            why = tool_error_line(result.text)
            fail(f"tool {target.partition('.')[2]} failed: {why} (trace_id={result.trace_id})", 1)
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
        fail(str(exc), 2)
    if token is None and not no_auth and not is_loopback(host):
        fail(
            f"refusing to serve on {host} without a token: anyone who reaches the port could run every tool;"
            f" set {SERVE_TOKEN_ENV} or --token-file (e.g. a mounted Secret), or pass --no-auth to mean it",
            2,
        )
    from agentloupe.platform.commands import require_mcp_stack
    from agentloupe.platform.errors import StackError

    try:
        require_mcp_stack()
    except StackError as exc:
        fail(str(exc), exc.exit_code)
    from agentloupe.platform.commands.serve import serve as serve_agent
    from agentloupe.platform.runs import preload

    preload()
    settings = settings_from(
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
    execute(
        settings,
        lambda: serve_agent(settings, host=host, port=port, max_concurrent=max_concurrent, drain_s=drain, token=token),
        own_signals=True,
    )


@app.command("tools")
def show_tools(config: ConfigOption = None, log_level: LogOption = None) -> None:
    """List every tool `loupe call` and the planner can use: the local tools and each server's, with parameters."""
    from agentloupe.platform.commands.catalog import list_tools, render

    settings = settings_from(config=config, log_level=log_level, print_tree=False)
    servers = execute(settings, lambda: list_tools(settings))
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
    from agentloupe.instrumentation.telemetry.tracefiles import traces_dir
    from agentloupe.view.traces import latest_trace_id, read_spans, trace_summaries
    from agentloupe.view.tree import render_tree

    spans = read_spans()
    if not spans:
        fail(f"no trace files in {traces_dir()}: run `loupe run ...` first (without --otlp)", 1)
    if list_traces:
        from agentloupe.view.tree import render_trace_list

        print(render_trace_list(trace_summaries(spans)[:limit]))
        return
    chosen = trace_id or latest_trace_id(spans)
    if chosen is None or not any(s.trace_id == chosen for s in spans):
        fail(f"trace {trace_id} not found in {traces_dir()}", 1)
    if html_path is not None:
        from agentloupe.view.html import render_html

        try:
            html_path.write_text(render_html(spans, chosen), encoding="utf-8")
        except OSError as exc:
            fail(f"cannot write {html_path}: {exc.strerror or exc}", 1)
        print(f"wrote {html_path} (trace {chosen})")
        return
    print(render_tree(spans, chosen))
