"""The offline model: a deterministic planner, not an LLM.

It reads the request and the tool list it is given (names, descriptions, JSON
schemas) and plans tool calls: independent calls in one turn, a call that
needs another's result in the next ("format the 12th Fibonacci number in
bold"). It knows no demo sentences; it matches words of the request against
the tools' names and descriptions, and fills arguments from numbers, quoted
text, ``key value`` pairs, places ("in Tokyo") and the options a tool lists.
Whatever it cannot map, it says so.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "of",
        "in",
        "on",
        "at",
        "for",
        "to",
        "with",
        "from",
        "by",
        "is",
        "are",
        "be",
        "what",
        "whats",
        "what's",
        "how",
        "me",
        "tell",
        "please",
        "can",
        "could",
        "would",
        "you",
        "i",
        "my",
        "it",
        "its",
        "this",
        "that",
        "number",
        "numbers",
        "give",
        "show",
        "get",
        "find",
        "then",
        "also",
        "value",
        "result",
        "some",
    ]
)
# Words of an arithmetic request, by operator, as tools usually name them.
OPERATOR_WORDS = {
    "+": ("add", "sum", "plus"),
    "-": ("subtract", "minus", "difference"),
    "*": ("multiply", "product", "times"),
    "/": ("divide", "quotient"),
    "^": ("power", "exponent", "pow"),
}
_OPERATOR_ALIASES = {
    "+": "+",
    "plus": "+",
    "-": "-",
    "minus": "-",
    "*": "*",
    "x": "*",
    "\u00d7": "*",  # multiplication sign
    "times": "*",
    "/": "/",
    "÷": "/",
    "divided by": "/",
    "^": "^",
    "**": "^",
    "to the power of": "^",
}
_NUMBER = r"-?\d+(?:\.\d+)?"
_ARITHMETIC = re.compile(
    rf"({_NUMBER})\s*(\*\*|to the power of|divided by|plus|minus|times|[+\-*/x\u00d7\u00f7^])\s*({_NUMBER})"
)
_EXPLICIT = re.compile(
    r"\bcall\s+(?:the\s+)?(?:tool\s+)?`?([A-Za-z_][\w\-]*(?:\.[\w\-]+)?)`?(?:\s+with\s+(.*))?$", re.I
)
_PLACE = re.compile(r"\b(?:in|for|at|of)\s+((?:[A-Z][\w'\-]*)(?:\s+[A-Z][\w'\-]*)*)")
_TIMEZONE = re.compile(r"\b(UTC|[A-Z][a-z]+/[A-Za-z_]+(?:/[A-Za-z_]+)?)\b")
_QUOTED = re.compile(r"\"([^\"]*)\"|'([^']*)'")
_ORDINAL = re.compile(r"\b(\d+)(?:st|nd|rd|th)\b")


@dataclass
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any]

    @property
    def properties(self) -> dict[str, dict[str, Any]]:
        return self.parameters.get("properties", {}) or {}

    @property
    def required(self) -> list[str]:
        return list(self.parameters.get("required", []) or [])

    def name_words(self) -> set[str]:
        return {_stem(w) for w in re.split(r"[_\-\s.]+", self.name.lower()) if w} - STOPWORDS

    def description_words(self) -> set[str]:
        return {_stem(w) for w in _words(self.description)} - STOPWORDS


@dataclass
class Step:
    id: str
    tool: str
    args: dict[str, Any]
    clause: str
    needs: str | None = None  # id of the step whose result fills `fill_param`
    fill_param: str | None = None


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)  # honest notes on what could not be planned


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z][a-z0-9']*", text.lower())


def split_clauses(request: str) -> list[str]:
    """Split a request into clauses, keeping JSON objects and "add 25 and 30" whole."""
    protected: list[str] = []

    def protect(match: re.Match[str]) -> str:
        protected.append(match.group(0))
        return f"\x00{len(protected) - 1}\x00"

    text = re.sub(r"\{.*?\}", protect, request, flags=re.S)
    parts = re.split(r"[?;!]+|\.(?:\s+|$)|,\s*(?:and\s+)?|\s+and\s+(?!-?\d)|\s+then\s+", text)
    clauses = []
    for part in parts:
        part = re.sub(r"\x00(\d+)\x00", lambda m: protected[int(m.group(1))], part or "").strip()
        if part:
            clauses.append(part)
    return clauses


def _coerce(value: str, schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    try:
        if kind == "integer":
            return int(float(value))
        if kind == "number":
            number = float(value)
            return int(number) if number.is_integer() else number
        if kind == "boolean":
            return value.lower() in ("true", "yes", "1", "on")
    except ValueError:
        return value
    return value.strip("\"'")


def _numbers(clause: str) -> list[str]:
    ordinals = [m.group(1) for m in _ORDINAL.finditer(clause)]
    plain = re.findall(rf"(?<![\w/]){_NUMBER}(?![\w/])", _ORDINAL.sub(" ", clause))
    return ordinals + plain


def _option_words(tool: ToolSpec, prop: dict[str, Any]) -> set[str]:
    if prop.get("enum"):
        return {str(v).lower() for v in prop["enum"]}
    text = prop.get("description", "") or tool.description
    _, sep, options = text.partition(":")
    return set(_words(options)) - STOPWORDS if sep else set()


def fill_arguments(tool: ToolSpec, clause: str, numbers: list[str] | None = None) -> tuple[dict[str, Any], list[str]]:
    """Arguments for ``tool`` from the words of ``clause``; returns (args, required params left unfilled)."""
    args: dict[str, Any] = {}
    numbers = list(_numbers(clause) if numbers is None else numbers)
    quoted = [a or b for a, b in _QUOTED.findall(clause)]
    clause_words = set(_words(clause))
    for name, prop in tool.properties.items():
        kind = prop.get("type")
        explicit = re.search(rf"\b{re.escape(name)}\s*(?:=|:|\s)\s*(\"[^\"]*\"|'[^']*'|[^\s,]+)", clause, re.I)
        if explicit:
            args[name] = _coerce(explicit.group(1), prop)
            continue
        if kind in ("integer", "number"):
            if numbers:
                args[name] = _coerce(numbers.pop(0), prop)
            continue
        if kind != "string":
            continue
        lowered = name.lower()
        if "zone" in lowered or lowered == "tz":
            if match := _TIMEZONE.search(clause):
                args[name] = match.group(1)
            continue
        options = _option_words(tool, prop)
        chosen = next((w for w in _words(clause) if w in options and w not in tool.name_words()), None)
        if chosen and (prop.get("enum") or name not in tool.required):
            args[name] = chosen
            continue
        if quoted:
            args[name] = quoted.pop(0)
            continue
        place = _PLACE.search(clause) if name in tool.required else None
        if place and not clause_words.isdisjoint({"in", "for", "at", "of"}):
            args[name] = place.group(1)
    missing = [name for name in tool.required if name not in args]
    return args, missing


def _score(tool: ToolSpec, words: set[str]) -> int:
    return 3 * len(words & tool.name_words()) + len(words & tool.description_words())


def _arithmetic_tool(tools: list[ToolSpec], operator: str) -> ToolSpec | None:
    keywords = OPERATOR_WORDS[operator]
    for tool in tools:
        if tool.name_words() & set(keywords):
            return tool
    for tool in tools:
        if tool.description_words() & set(keywords):
            return tool
    return None


def _explicit_args(tool: ToolSpec, rest: str | None) -> tuple[dict[str, Any], list[str]]:
    rest = (rest or "").strip()
    if rest.startswith("{"):
        try:
            value = json.loads(rest)
        except json.JSONDecodeError:
            value = None
        if isinstance(value, dict):
            return value, [n for n in tool.required if n not in value]
    return fill_arguments(tool, rest)


def plan(request: str, tools: list[ToolSpec]) -> Plan:
    """Plan the tool calls for ``request`` from ``tools``; deterministic."""
    result = Plan()
    by_name = {tool.name: tool for tool in tools}

    def add(tool: ToolSpec, args: dict[str, Any], clause: str, **extra: Any) -> Step:
        step = Step(id=f"call_{len(result.steps)}", tool=tool.name, args=args, clause=clause, **extra)
        result.steps.append(step)
        return step

    for clause in split_clauses(request):
        explicit = _EXPLICIT.search(clause)
        if explicit:
            name = explicit.group(1).split(".")[-1]
            tool = by_name.get(name)
            if tool is None:
                result.unmapped.append(f"'{clause}': there is no tool named {name!r}")
                continue
            args, missing = _explicit_args(tool, explicit.group(2))
            if missing:
                result.unmapped.append(f"'{clause}': {tool.name} needs {', '.join(missing)}")
                continue
            add(tool, args, clause)
            continue

        arithmetic = _ARITHMETIC.search(clause)
        if arithmetic:
            operator = _OPERATOR_ALIASES[arithmetic.group(2)]
            tool = _arithmetic_tool(tools, operator)
            if tool is not None:
                args, missing = fill_arguments(tool, "", [arithmetic.group(1), arithmetic.group(3)])
                if not missing:
                    add(tool, args, clause)
                    continue

        words = {_stem(w) for w in _words(clause)} - STOPWORDS
        ranked = sorted(
            ((s, tool) for tool in tools if (s := _score(tool, words)) >= 2 and (words & tool.name_words() or s >= 3)),
            key=lambda pair: -pair[0],
        )
        if not ranked:
            result.unmapped.append(f"'{clause}': no tool matches it")
            continue
        filled = [(tool, *fill_arguments(tool, clause)) for _, tool in ranked[:3]]
        best_tool, best_args, best_missing = filled[0]
        if not best_missing:
            # A second matching tool that lacks one text argument takes this one's result.
            consumer = next(
                (
                    (tool, args, missing)
                    for tool, args, missing in filled[1:]
                    if len(missing) == 1
                    and tool.properties.get(missing[0], {}).get("type") == "string"
                    and tool.name_words() & words
                ),
                None,
            )
            producer = add(best_tool, best_args, clause)
            if consumer:
                tool, args, missing = consumer
                add(tool, args, clause, needs=producer.id, fill_param=missing[0])
            continue
        source = next(((t, a) for t, a, m in filled[1:] if not m), None)
        if source and len(best_missing) == 1 and best_tool.properties[best_missing[0]].get("type") == "string":
            first = add(source[0], source[1], clause)
            add(best_tool, best_args, clause, needs=first.id, fill_param=best_missing[0])
            continue
        result.unmapped.append(
            f"'{clause}': {best_tool.name} needs {', '.join(best_missing)} and the request does not say"
        )
    return result
