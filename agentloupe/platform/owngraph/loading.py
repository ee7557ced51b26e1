"""A developer's own LangGraph graph, found by reference and run under agentloupe.

References, as the LangGraph CLI writes them:

- ``path/to/file.py:NAME`` or ``package.module:NAME``;
- ``NAME`` alone: the ``graphs`` map of ``./langgraph.json``
  (``{"graphs": {"agent": "./src/agent.py:graph"}}``).

NAME is a compiled graph, a ``StateGraph`` (compiled here), or a function (sync
or async) returning either; the function may ask, by parameter name, for
``tools`` (the MCP servers' tools on agentloupe's persistent sessions: the
servers start only then) and ``config``.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from agentloupe.platform.errors import ConfigError
from agentloupe.platform.owngraph.project import LANGGRAPH_JSON, find_project
from agentloupe.platform.owngraph.project import apply as apply_project
from agentloupe.platform.references import first_line, load_object

#: What a graph factory may ask for, by parameter name (``runtime`` too: LangGraph's server passes it).
INJECTABLE = ("tools", "config", "runtime")


def resolve_reference(ref: str, cwd: Path | None = None) -> str:
    """``NAME`` through ``./langgraph.json``; a full reference as it is. A ``langgraph.json`` in the
    folder applies either way, as ``langgraph dev`` run there would: its ``env`` is loaded and its
    local ``dependencies`` made importable before the graph is imported."""
    folder = cwd or Path.cwd()
    if ":" in ref:
        # a full reference does not need the folder's langgraph.json: it still applies, but a broken
        # one (its .env missing, as templates leave it out of git) does not stop the run
        try:
            project = find_project(folder)
        except ConfigError:
            project = None
        if project is not None:
            apply_project(project)
        return ref
    project = find_project(folder)
    if project is not None:
        apply_project(project)
    if project is None:
        raise ConfigError(
            f"--graph {ref!r}: give FILE.py:NAME or package.module:NAME"
            f" (no {LANGGRAPH_JSON} in {folder} to look {ref!r} up)"
        )
    if not project.graphs:
        raise ConfigError(f'{project.path}: expected "graphs": {{"NAME": "./file.py:graph"}}')
    if ref not in project.graphs:
        raise ConfigError(f"--graph {ref!r}: {project.path} names {', '.join(sorted(project.graphs))}")
    return project.graphs[ref]


def _as_graph(value: Any, ref: str) -> Any:
    from langgraph.graph import StateGraph
    from langgraph.pregel import Pregel

    if isinstance(value, Pregel):
        return value
    if isinstance(value, StateGraph):
        return value.compile()
    raise ConfigError(
        f"--graph {ref!r} is of type {type(value).__name__}, not a graph:"
        " name a compiled graph or a function that returns one"
    )


def load_graph_target(ref: str) -> Any:
    """What ``ref`` names, checked before anything starts: a graph, or a factory to call later."""
    value = load_object(resolve_reference(ref), what="--graph")
    if callable(value) and not _is_graph(value):
        _factory_arguments(value, ref)
        return value
    return _as_graph(value, ref)


def _is_graph(value: Any) -> bool:
    from langgraph.graph import StateGraph
    from langgraph.pregel import Pregel

    return isinstance(value, (Pregel, StateGraph))


def _factory_arguments(factory: Callable[..., Any], ref: str) -> list[str]:
    """The names among ``INJECTABLE`` the factory asks for; a ConfigError for anything else it requires."""
    try:
        parameters = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return []
    wanted = []
    for name, parameter in parameters.items():
        if name in INJECTABLE:
            wanted.append(name)
        elif parameter.default is inspect.Parameter.empty and parameter.kind not in (
            parameter.VAR_POSITIONAL,
            parameter.VAR_KEYWORD,
        ):
            raise ConfigError(
                f"--graph {ref!r}: the factory asks for {name!r}; it may ask only for {' and '.join(INJECTABLE)}"
            )
    return wanted


async def build_user_graph(
    target: Any, ref: str, *, tools: Callable[[], Awaitable[list[Any]]], config: dict[str, Any]
) -> Any:
    """The compiled graph: ``target`` itself, or what the factory returns given what it asks for."""
    if _is_graph(target) or not callable(target):
        return _as_graph(target, ref)
    kwargs: dict[str, Any] = {}
    for name in _factory_arguments(target, ref):
        if name == "tools":
            kwargs[name] = await tools()
        elif name == "runtime":
            from langgraph.runtime import Runtime

            kwargs[name] = Runtime(context=config.get("context"))
        else:
            kwargs[name] = config
    try:
        made = target(**kwargs)
        if inspect.isawaitable(made):
            made = await made
    except Exception as exc:
        raise ConfigError(f"--graph {ref!r}: the factory raised {type(exc).__name__}: {first_line(exc)}") from None
    return _as_graph(made, ref)


def context_input(context_json: str | None) -> dict[str, Any]:
    """``--context JSON`` or ``@file.json``; ``{}`` when none is given, as ``langgraph dev`` passes."""
    if context_json is None:
        return {}
    text = context_json
    if context_json.startswith("@"):
        try:
            text = Path(context_json[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"--context {context_json}: cannot read it ({exc.strerror})") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--context is not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(value, dict):
        raise ConfigError("--context must be a JSON object (the graph's runtime context)")
    return value


def coerce_context(graph: Any, context: dict[str, Any]) -> Any:
    """The context as the graph's ``context_schema`` takes it; one line naming the field it rejects."""
    schema = getattr(graph, "context_schema", None)
    if schema is None:
        return context
    import dataclasses

    from pydantic import BaseModel, ValidationError

    name = getattr(schema, "__name__", "the context schema")
    if dataclasses.is_dataclass(schema) and isinstance(schema, type):
        known = [f.name for f in dataclasses.fields(schema) if f.init]
        unknown = [key for key in context if key not in known]
        if unknown:
            raise ConfigError(f"--context: {name} has no field {unknown[0]!r} (its fields: {', '.join(known)})")
        try:
            return schema(**context)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"--context does not fit {name}: {first_line(exc)}") from None
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        try:
            return schema(**context)
        except ValidationError as exc:
            error = exc.errors()[0]
            field = ".".join(str(part) for part in error.get("loc", ())) or "?"
            raise ConfigError(f"--context: field {field!r} of {name}: {error.get('msg', 'invalid')}") from None
    return context


def graph_input(question: str | None, input_json: str | None) -> dict[str, Any]:
    """QUESTION as ``{"messages": [("user", QUESTION)]}``, ``--input`` as any state (both: merged)."""
    state: dict[str, Any] = {}
    if input_json is not None:
        try:
            state = json.loads(input_json)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f'--input is not valid JSON ({exc.msg} at column {exc.colno}): pass an object like \'{{"topic": "x"}}\''
            ) from None
        if not isinstance(state, dict):
            raise ConfigError("--input must be a JSON object (the graph's input state)")
    if question is not None:
        if not question.strip():
            raise ConfigError("QUESTION is empty: ask something, or give the input state with --input")
        state.setdefault("messages", []).append(("user", question))
    if not state:
        raise ConfigError("give a QUESTION or the input state with --input JSON")
    return state


def answer_of(state: Any) -> str:
    """The last message's content, or the final state as JSON when there are no messages."""
    messages = state.get("messages") if isinstance(state, dict) else None
    if isinstance(messages, list) and messages:
        content = getattr(messages[-1], "content", messages[-1])
        if isinstance(content, list):
            content = " ".join(part.get("text", "") if isinstance(part, dict) else str(part) for part in content)
        return str(content)
    try:
        return json.dumps(state, default=str, indent=2)
    except (TypeError, ValueError):
        return str(state)
