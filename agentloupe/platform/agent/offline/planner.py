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

import functools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from agentloupe.platform.agent.offline import arithmetic

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
_NUMBER = r"-?\d+(?:\.\d+)?"
_EXPLICIT = re.compile(
    r"\bcall\s+(?:the\s+)?(?:tool\s+)?`?([A-Za-z_][\w\-]*(?:\.[\w\-]+)?)`?(?:\s+with\s+(.*)|\s+(\{.*\}))?$", re.I
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
    inputs: dict[str, str] = field(default_factory=dict)  # parameter -> id of the step whose result fills it


class Unmappable(Exception):
    """A clause the planner will not guess at: the message says why."""


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
    parts = re.split(r"[?;!]+|\.(?:\s+|$)|,(?!\s*(?:and\s+)?-?\d)\s*(?:and\s+)?|\s+and\s+(?!-?\d)|\s+then\s+", text)
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
    pairs = {
        name: m
        for name in tool.properties
        if (m := re.search(rf"\b{re.escape(name)}\s*(?:=|:|\s)\s*(\"[^\"]*\"|'[^']*'|[^\s,]+)", clause, re.I))
    }
    rest = clause
    for match in pairs.values():  # a value given by name is not also a positional one
        rest = rest.replace(match.group(0), " ")
    numbers = list(_numbers(rest) if numbers is None else numbers)
    quoted = [a or b for a, b in _QUOTED.findall(clause)]
    clause_words = set(_words(clause))
    for name, prop in tool.properties.items():
        kind = prop.get("type")
        explicit = pairs.get(name)
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
            if zone := _TIMEZONE.search(clause):
                args[name] = zone.group(1)
            elif place := _PLACE.search(clause):
                args[name] = timezone_for_place(place.group(1))
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


def timezone_for_place(place: str) -> str:
    """The IANA timezone a place names (``Tokyo`` -> ``Asia/Tokyo``), from the tz database itself."""
    zones = _zones_by_place()
    key = place.strip().lower().replace(" ", "_")
    found = zones.get(key)
    if not found:
        raise Unmappable(f"no IANA timezone is named after {place!r} (name one, like Europe/London)")
    if len(found) > 1:
        raise Unmappable(f"{place!r} names several IANA timezones ({', '.join(sorted(found))}): name one")
    return next(iter(found))


@functools.cache
def _zones_by_place() -> dict[str, set[str]]:
    import zoneinfo

    zones: dict[str, set[str]] = {}
    for zone in zoneinfo.available_timezones():
        if zone.startswith(("Etc/", "SystemV/", "posix/", "right/")):
            continue
        for key in {zone.lower(), zone.rsplit("/", 1)[-1].lower()}:
            zones.setdefault(key, set()).add(zone)
    # a link and its target name one zone: keep the canonical (Area/City) one
    return {k: ({z for z in v if "/" in z} or v) if len(v) > 1 else v for k, v in zones.items()}


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


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _numeric_params(tool: ToolSpec) -> list[str]:
    numeric = [n for n, p in tool.properties.items() if p.get("type") in ("number", "integer")]
    return sorted(numeric, key=lambda n: (n not in tool.required, list(tool.properties).index(n)))


def _arithmetic_steps(tree: arithmetic.Op, tools: list[ToolSpec], previous: Step | None, new: Any) -> Step:
    """Post-order: each operation a call, its operands values or the results of calls before it."""

    def emit(node: arithmetic.Operand) -> float | Step:
        if isinstance(node, arithmetic.Previous):
            if previous is None:
                raise Unmappable("'the result' refers to nothing before it")
            return previous
        if not isinstance(node, arithmetic.Op):
            return node
        left, right = emit(node.left), emit(node.right)
        tool = _arithmetic_tool(tools, node.operator)
        if tool is None:
            raise Unmappable(f"no tool does {arithmetic.OPERATOR_NAMES[node.operator]}")
        params = _numeric_params(tool)
        if len(params) < 2:
            raise Unmappable(f"{tool.name} does not take two numbers")
        args: dict[str, Any] = {}
        inputs: dict[str, str] = {}
        for param, operand in zip(params, (left, right), strict=False):
            if isinstance(operand, Step):
                inputs[param] = operand.id
            else:
                args[param] = _number(operand)
        return new(tool, args, inputs)

    result = emit(tree)
    assert isinstance(result, Step)
    return result


def plan(request: str, tools: list[ToolSpec]) -> Plan:
    """Plan the tool calls for ``request`` from ``tools``; deterministic. A clause is planned whole
    or not at all: what it cannot map it names, with the reason, and never half-answers."""
    result = Plan()
    by_name = {tool.name: tool for tool in tools}
    previous: Step | None = None  # the last call of the previous clause: "the result"
    continued: tuple[ToolSpec, str] | None = None  # "weather in Paris and Berlin": Berlin's tool and argument

    for clause in split_clauses(request):
        pending = _Pending(clause, len(result.steps))
        try:
            next_continued = _plan_clause(clause, tools, by_name, previous, continued, pending)
        except Unmappable as why:
            result.unmapped.append(f"'{clause}': {why}")
            continued = None
            continue
        result.steps.extend(pending.steps)
        previous = pending.steps[-1] if pending.steps else previous
        continued = next_continued
    return result


class _Pending:
    """The calls of one clause, kept aside until the whole clause is planned."""

    def __init__(self, clause: str, first: int) -> None:
        self.clause, self.first = clause, first
        self.steps: list[Step] = []

    def __call__(self, tool: ToolSpec, args: dict[str, Any], inputs: dict[str, str] | None = None) -> Step:
        step = Step(f"call_{self.first + len(self.steps)}", tool.name, args, self.clause, dict(inputs or {}))
        self.steps.append(step)
        return step


_PROPER_NOUNS = re.compile(r"^(?:[A-Z][\w'\-]*)(?:\s+[A-Z][\w'\-]*)*$")


def _plan_clause(
    clause: str,
    tools: list[ToolSpec],
    by_name: dict[str, ToolSpec],
    previous: Step | None,
    continued: tuple[ToolSpec, str] | None,
    new: Any,
) -> tuple[ToolSpec, str] | None:
    """Plan one clause through ``new``; raise Unmappable. Returns what a bare next item would continue."""
    explicit = _EXPLICIT.search(clause)
    if explicit:
        name = explicit.group(1).split(".")[-1]
        tool = by_name.get(name)
        if tool is None:
            raise Unmappable(f"there is no tool named {name!r}")
        args, missing = _explicit_args(tool, explicit.group(2) or explicit.group(3))
        if missing:
            raise Unmappable(f"{tool.name} needs {', '.join(missing)}")
        new(tool, args)
        return None

    tree = arithmetic.parse(clause)
    if isinstance(tree, arithmetic.Refusal):
        raise Unmappable(f"it reads as arithmetic, but {tree.reason}")
    if isinstance(tree, arithmetic.Op):
        _arithmetic_steps(tree, tools, previous, new)
        return None

    words = {_stem(w) for w in _words(clause)} - STOPWORDS
    ranked = sorted(
        ((s, tool) for tool in tools if (s := _score(tool, words)) >= 2 and (words & tool.name_words() or s >= 3)),
        key=lambda pair: -pair[0],
    )
    if not ranked:
        item = clause.strip().removeprefix("and ").strip()
        if continued is not None and _PROPER_NOUNS.match(item):
            tool, param = continued  # one more item of a list: the same call with it
            new(tool, {param: item})
            return continued
        raise Unmappable("no tool matches it")
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
        producer = new(best_tool, best_args)
        if consumer:
            tool, args, missing = consumer
            new(tool, args, {missing[0]: producer.id})
            return None
        # "weather in Paris": a bare "Berlin" after it asks the same of Berlin
        place = _PLACE.search(clause)
        places = [n for n, v in best_args.items() if place is not None and v == place.group(1)]
        return (best_tool, places[0]) if len(best_args) == 1 and len(places) == 1 else None
    source = next(((t, a) for t, a, m in filled[1:] if not m), None)
    if source and len(best_missing) == 1 and best_tool.properties[best_missing[0]].get("type") == "string":
        first = new(source[0], source[1])
        new(best_tool, best_args, {best_missing[0]: first.id})
        return None
    raise Unmappable(f"{best_tool.name} needs {', '.join(best_missing)} and the request does not say")
