"""What the client answers when a server asks it during a run: its model, its roots, the person.

- Sampling (``sampling/createMessage``): the run's model (``--model``; the offline planner by
  default, which says it is not an LLM), its ``chat`` span inside the request's span.
- Roots (``roots/list``): the directory loupe runs in.
- Elicitation, the person: the next ``--answer`` given (``decline`` or ``cancel`` refuse), else a
  prompt at the terminal when there is one, else a refusal (``decline``) that the run reports in
  one line, with the ``--answer`` that would have answered it. A question is one field: a choice
  among the schema's values (its number or its text), a string, a number or yes/no.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentloupe.platform.sessions.mcpsdk import types

REFUSALS = ("decline", "cancel")


@dataclass
class Answers:
    """The person's answers for one run, shared by every server's session."""

    given: list[str] = field(default_factory=list)  # --answer, used in order
    interactive: bool = False  # a terminal to ask at
    declined: list[str] = field(default_factory=list)  # one line each: what was asked and not answered
    #: loads the run's model when a server first asks for it (set by the command): a coroutine
    #: function from LangChain messages to the model's reply (its ``chat`` span), and its name
    model: Callable[[], tuple[Callable[[list[Any]], Awaitable[Any]], str]] | None = None
    _loaded: tuple[Callable[[list[Any]], Awaitable[Any]], str] | None = None

    @classmethod
    def for_run(cls, given: tuple[str, ...]) -> Answers:
        return cls(list(given), interactive=sys.stdin.isatty() and sys.stderr.isatty())

    def callback(self, server: str) -> Any:
        """The ``elicitation_callback`` of ``server``'s session."""

        async def answer(context: Any, params: Any) -> Any:
            return await self._answer(server, params)

        return answer

    def sampler(self) -> Any:
        """The ``sampling_callback``: the run's model answers the server's messages."""

        async def sample(context: Any, params: Any) -> Any:
            if self.model is None:
                return types.ErrorData(code=_INTERNAL_ERROR, message="this client has no model to sample")
            if self._loaded is None:  # LangChain's import is seconds: not on the loop
                import anyio

                self._loaded = await anyio.to_thread.run_sync(self.model)
            chat, name = self._loaded
            from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

            system = getattr(params, "system_prompt", None) or getattr(params, "systemPrompt", None)
            messages: list[Any] = [SystemMessage(content=system)] if system else []
            for message in params.messages:
                text = _text_of(message.content)
                messages.append(AIMessage(content=text) if message.role == "assistant" else HumanMessage(content=text))
            reply = await chat(messages)
            text = reply.content if isinstance(reply.content, str) else str(reply.content)
            return types.CreateMessageResult(
                role="assistant", content=types.TextContent(type="text", text=text), model=name, stopReason="endTurn"
            )

        return sample

    @staticmethod
    async def roots(context: Any) -> Any:
        """The ``list_roots_callback``: the directory loupe runs in."""
        here = Path.cwd()
        return types.ListRootsResult(roots=[types.Root(uri=here.as_uri(), name=here.name or str(here))])  # type: ignore[arg-type]

    async def _answer(self, server: str, params: Any) -> Any:
        message = str(getattr(params, "message", "") or "")
        schema = getattr(params, "requested_schema", None) or getattr(params, "requestedSchema", None) or {}
        properties = schema.get("properties") or {}
        if len(properties) != 1:
            return self._decline(server, message, "it asks for more than one field")
        name, spec = next(iter(properties.items()))
        if self.given:
            text = self.given.pop(0)
        elif self.interactive:
            text = await _prompt(server, message, spec)
        else:
            return self._decline(server, message, "no terminal to ask at and no --answer left", spec)
        if text.strip().lower() in REFUSALS:
            return types.ElicitResult(action=text.strip().lower())  # type: ignore[arg-type]
        value = _coerce(text, spec)
        if value is None:
            return self._decline(server, message, f"{text!r} is not one of its choices", spec)
        return types.ElicitResult(action="accept", content={name: value})

    def _decline(self, server: str, message: str, why: str, spec: dict[str, Any] | None = None) -> Any:
        example = _choices(spec or {})[:1]
        hint = f" (answer with --answer {example[0]!r})" if example else " (answer with --answer TEXT)"
        self.declined.append(f"MCP server {server!r} asked {message!r}: declined, {why}{hint}")
        return types.ElicitResult(action="decline")


_INTERNAL_ERROR = -32603  # JSON-RPC's


def _text_of(content: Any) -> str:
    """A sampling message's text (mcp 2 may give a list of blocks; what is not text is left out)."""
    blocks = content if isinstance(content, list) else [content]
    return "\n".join(str(getattr(block, "text", "")) for block in blocks if getattr(block, "text", None))


def _choices(spec: dict[str, Any]) -> list[Any]:
    return list(spec.get("enum") or [])


def _coerce(text: str, spec: dict[str, Any]) -> Any:
    """``text`` as the field's value, or None when it is not one."""
    text = text.strip()
    if choices := _choices(spec):
        if text.isdigit() and 1 <= int(text) <= len(choices):
            return choices[int(text) - 1]
        return next((c for c in choices if str(c).lower() == text.lower()), None)
    kind = spec.get("type")
    if kind == "boolean":
        return {"y": True, "yes": True, "true": True, "n": False, "no": False, "false": False}.get(text.lower())
    if kind in ("number", "integer"):
        try:
            return int(text) if kind == "integer" else float(text)
        except ValueError:
            return None
    return text or None


async def _prompt(server: str, message: str, spec: dict[str, Any]) -> str:
    """Ask at the terminal (on stderr, read from stdin, off the event loop)."""
    import anyio

    lines = [f"loupe: MCP server {server!r} asks: {message}"]
    lines += [f"  {i}. {choice}" for i, choice in enumerate(_choices(spec), 1)]
    lines.append("answer (empty to decline): ")
    print("\n".join(lines), end="", file=sys.stderr, flush=True)
    text = await anyio.to_thread.run_sync(sys.stdin.readline)
    return text.strip() or "decline"
