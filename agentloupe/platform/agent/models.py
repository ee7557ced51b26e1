"""Models: the offline planner (default) or any ``init_chat_model`` spec.

``offline`` needs no key and no network; it is a deterministic planner (see
``planner.py``), labelled as such in spans and docs. Anything else is handed
to LangChain's ``init_chat_model`` (``openai:gpt-4o-mini``, ``anthropic:...``,
``ollama:...``; ``OPENAI_BASE_URL`` for OpenAI-compatible local servers).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool

from agentloupe.platform.agent.offline import planner
from agentloupe.platform.errors import ModelError

OFFLINE = "offline"
OFFLINE_MODEL_NAME = "offline-planner"


@dataclass(frozen=True)
class ModelInfo:
    """What a model span says about the model: provider, name, and whether it is an LLM."""

    provider: str
    name: str
    kind: str  # "planner" or "llm"


class OfflinePlanner(BaseChatModel):
    """A deterministic planner behind the chat-model interface. Not an LLM."""

    tool_specs: list[dict[str, Any]] = []  # noqa: RUF012 - a pydantic field: copied per instance

    @property
    def _llm_type(self) -> str:
        return "agentloupe-offline-planner"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> OfflinePlanner:
        return self.model_copy(update={"tool_specs": [convert_to_openai_tool(t)["function"] for t in tools]})

    def _specs(self) -> list[planner.ToolSpec]:
        return [
            planner.ToolSpec(s["name"], s.get("description", ""), s.get("parameters", {}) or {})
            for s in self.tool_specs
        ]

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        last_human = max((i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=None)
        if last_human is None:
            return _result(AIMessage(content="There is no request to plan for."), "stop")
        request = str(messages[last_human].content)
        turn = messages[last_human + 1 :]
        results = {m.tool_call_id: m for m in turn if isinstance(m, ToolMessage)}
        the_plan = planner.plan(request, self._specs())
        pending = []
        for step in the_plan.steps:
            if step.id in results:
                continue
            sources = {param: results.get(source) for param, source in step.inputs.items()}
            if any(source is None for source in sources.values()):
                continue  # waits for a call of this turn
            failed = [
                step.inputs[p] for p, source in sources.items() if source is not None and source.status == "error"
            ]
            if failed:
                results[step.id] = ToolMessage(
                    content=f"skipped: {', '.join(failed)} failed", tool_call_id=step.id, status="error"
                )
                continue
            _fill_from(step, self._specs(), results)
            pending.append({"name": step.tool, "args": step.args, "id": step.id, "type": "tool_call"})
        if pending:
            return _result(AIMessage(content="", tool_calls=pending), "tool_calls")
        return _result(AIMessage(content=_answer(the_plan, results, self._specs())), "stop")

    async def _agenerate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        return self._generate(messages, stop)


def _result(message: AIMessage, finish_reason: str) -> ChatResult:
    message.response_metadata = {"model_name": OFFLINE_MODEL_NAME, "finish_reason": finish_reason}
    # A planner consumes no tokens: it says so (0), rather than leave the usage unknown.
    message.usage_metadata = {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}
    return ChatResult(generations=[ChatGeneration(message=message)])


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", part)) if isinstance(part, dict) else str(part) for part in content)
    return str(content)


def _fill_from(step: planner.Step, specs: list[planner.ToolSpec], results: dict[str, ToolMessage]) -> None:
    """A dependent step takes its arguments from the results it waited for (a number for a number)."""
    spec = next((s for s in specs if s.name == step.tool), None)
    for param, source_id in step.inputs.items():
        source = results.get(source_id)
        if source is None:
            continue
        value: Any = _text(source.content)
        kind = spec.properties.get(param, {}).get("type") if spec else None
        if kind in ("number", "integer"):
            try:
                number = float(value)
                value = int(number) if number.is_integer() else number
            except ValueError:
                pass
        step.args = {**step.args, param: value}
    if spec is not None:  # shown in the tool's own parameter order
        order = list(spec.properties)
        step.args = dict(sorted(step.args.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order)))


def _answer(the_plan: planner.Plan, results: dict[str, ToolMessage], specs: list[planner.ToolSpec]) -> str:
    lines = []
    for step in the_plan.steps:
        message = results.get(step.id)
        _fill_from(step, specs, results)
        args = ", ".join(f"{k}={json.dumps(v) if isinstance(v, str) else v}" for k, v in step.args.items())
        call = f"{step.tool}({args})"
        if message is None:
            lines.append(f"- {call}: no result")
        elif message.status == "error":
            lines.append(f"- {call} failed: {_text(message.content)}")
        else:
            lines.append(f"- {call} = {_text(message.content)}")
    refused = [f"- could not answer {note}" for note in the_plan.unmapped]
    if not lines and not refused:
        return "I found nothing in the request that the available tools can do."
    if not lines:
        return "Not answered (offline planner, not an LLM):\n" + "\n".join(refused)
    return "Results (offline planner, not an LLM):\n" + "\n".join(lines + refused)


def is_object_reference(spec: str) -> bool:
    """``module.path:attr`` or ``file.py:attr`` names a model object; ``provider:model`` does not.

    The rule: the part before the first ``:`` is a file (ends in ``.py`` or has a
    ``/``) or a dotted module path. A provider name never has a dot, so
    ``openai:gpt-4o-mini`` and ``ollama:llama3.1:8b`` stay ``init_chat_model`` specs.
    """
    source, sep, attribute = spec.partition(":")
    return bool(sep and attribute) and (source.endswith(".py") or "/" in source or "." in source)


def _model_from_reference(spec: str) -> tuple[BaseChatModel, ModelInfo]:
    from agentloupe.platform.references import load_object

    value = load_object(spec, what="--model")
    if not isinstance(value, BaseChatModel) and callable(value):
        try:
            value = value()
        except Exception as exc:
            raise ModelError(f"--model {spec!r}: calling it raised {type(exc).__name__}: {exc}") from None
    if not isinstance(value, BaseChatModel):
        raise ModelError(
            f"--model {spec!r} is a {type(value).__name__}: name a LangChain chat model or a function that returns one"
        )
    name = str(getattr(value, "model_name", None) or getattr(value, "model", None) or type(value).__name__)
    try:
        provider = str(value._get_ls_params().get("ls_provider") or value._llm_type)
    except Exception:
        provider = type(value).__name__
    return value, ModelInfo(provider=provider, name=name, kind="llm")


def load_model(spec: str) -> tuple[BaseChatModel, ModelInfo]:
    """The chat model for ``spec``; a ModelError that says what to install or set."""
    if spec == OFFLINE:
        return OfflinePlanner(), ModelInfo(provider="agentloupe", name=OFFLINE_MODEL_NAME, kind="planner")
    if is_object_reference(spec):
        return _model_from_reference(spec)
    try:
        from langchain.chat_models import init_chat_model
    except ImportError:  # pragma: no cover - langchain is a dependency
        raise ModelError("the 'langchain' package is missing: pip install langchain") from None
    provider, sep, name = spec.partition(":")
    if not sep:
        provider, name = "", spec
    try:
        model = init_chat_model(spec)
    except ImportError as exc:
        found = re.search(r"langchain[-_][a-z0-9_\-]+", str(exc))
        package = found.group(0).replace("_", "-") if found else (getattr(exc, "name", None) or "its provider package")
        hint = (
            f"pip install 'agentloupe[{provider}]'"
            if provider in ("openai", "anthropic", "ollama")
            else f"pip install {package}"
        )
        raise ModelError(f"model {spec!r} needs {package}, which is not installed: {hint}") from None
    except ValueError as exc:
        raise ModelError(
            f"model {spec!r}: {str(exc).splitlines()[0]} (use provider:model, e.g. openai:gpt-4o-mini)"
        ) from None
    except Exception as exc:  # provider clients raise their own types for a missing key
        raise ModelError(
            f"model {spec!r} could not be created: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        ) from None
    return model, ModelInfo(provider=provider or getattr(model, "_llm_type", "unknown"), name=name, kind="llm")
