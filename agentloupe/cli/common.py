"""What every ``loupe`` command shares: its options, its settings, and its outcome turned into an exit."""

from __future__ import annotations

import re
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

from agentloupe.platform.errors import AgentloupeError

if TYPE_CHECKING:
    from agentloupe.platform.config import Settings

T = TypeVar("T")


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
        help="deadline per kind: run, node, model, tool, mcp, server_start, shutdown (repeatable)",
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
AnswerOption = Annotated[
    list[str] | None,
    typer.Option(
        "--answer",
        metavar="TEXT",
        help="answer a server's question to the user (MCP elicitation) with TEXT, in order (repeatable; "
        "'decline' or 'cancel' refuse); without it: asked at the terminal, else declined",
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


def fail(message: str, code: int) -> NoReturn:
    print(f"loupe: error: {one_line(message)}", file=sys.stderr)
    raise typer.Exit(code)


def execute(
    settings: Settings,
    work: Callable[[], Awaitable[T]],
    *,
    own_signals: bool = False,
    launch_first: list[str] | None = None,
    prepare: Callable[[], object] = lambda: None,
    uses_mcp: bool = True,
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
        uses_mcp=uses_mcp,
    )
    if outcome.trace_file and settings.print_tree and not outcome.bad_input:
        print_last_tree()
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
        fail(outcome.message, outcome.exit_code)
    if outcome.exit_code:
        raise typer.Exit(outcome.exit_code)
    return outcome.value  # type: ignore[return-value]


def imports_of_call() -> None:
    """What ``loupe call`` imports while its server boots (``lifecycle.execute(prepare=...)``)."""
    import agentloupe.platform.commands.runner  # noqa: F401


def imports_of_run() -> None:
    """What ``loupe run`` imports while its servers boot: the runner, LangGraph, LangChain."""
    from agentloupe.platform.commands.runner import import_the_agent

    import_the_agent()


def leak_report(trace_id: str) -> str:
    """Growth per run of every process in the trace, from the memory samples in the trace files."""
    from agentloupe.view.leaks import reports_from_spans
    from agentloupe.view.traces import read_spans

    reports = reports_from_spans(read_spans(), trace_id)
    if not reports:
        return "leak report: no memory samples recorded (use --memory with --repeat, without --otlp)"
    return "leak report (memory growth per run; for servers, per tool call):\n" + "\n".join(r.render() for r in reports)


def print_last_tree() -> None:
    from agentloupe.view.traces import latest_trace_id, read_spans
    from agentloupe.view.tree import render_tree

    spans = read_spans()
    trace_id = latest_trace_id(spans)
    if trace_id:
        print(render_tree(spans, trace_id), file=sys.stderr)


def settings_from(**kwargs: Any) -> Settings:
    from agentloupe.platform.config import load_settings

    try:
        return load_settings(**kwargs)
    except AgentloupeError as exc:
        fail(str(exc), exc.exit_code)
        raise  # unreachable
