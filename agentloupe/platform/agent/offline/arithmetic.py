"""Arithmetic in words and symbols, read as a tree of binary operations with the usual precedence.

The offline planner turns the tree into dependent tool calls (``add``, ``multiply``, ...). Forms
it reads: infix (``2 * 3 + 1``, ``3 plus 4 times 2``, ``2 to the power of 10``, ``5 squared``,
parentheses), verb phrases (``add 1 and 2 and 3``, ``add 5 to 7``, ``subtract 5 from 20``,
``multiply 6 by 7``, ``divide 10 by 4``, ``raise 2 to 8``), noun phrases (``the sum of 1, 2 and
3``, ``the difference between 9 and 4``, ``the product of 2 and 3``, ``the quotient of 8 and 2``)
and ``the result`` / ``it`` for the previous clause's value. Anything else that looks like
arithmetic is refused with the reason, never half read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

OPERATOR_NAMES = {"+": "addition", "-": "subtraction", "*": "multiplication", "/": "division", "^": "exponentiation"}
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "^": 3}
_NUMBER = r"-?\d+(?:\.\d+)?"

# Word operators, longest first; each becomes its symbol before the infix parser runs.
_WORD_OPERATORS = [
    (r"\bto the power of\b", "^"),
    (r"\braised to(?: the power of)?\b", "^"),
    (r"\bdivided by\b", "/"),
    (r"\bmultiplied by\b", "*"),
    (r"\bover\b", "/"),
    (r"\btimes\b", "*"),
    (r"\bplus\b", "+"),
    (r"\bminus\b", "-"),
    (r"\bsquared\b", "^ 2"),
    (r"\bcubed\b", "^ 3"),
    ("\u00d7", "*"),  # multiplication sign
    ("\u00f7", "/"),  # division sign
    (r"\*\*", "^"),
    (r"(?<=\d)\s*x\s*(?=-?\d)", " * "),
]
_REFERENCE = re.compile(r"\b(?:the (?:previous |last )?result|that result|that|it)\b")
_FILLER = re.compile(
    r"^(?:and\s+)?(?:then\s+)?(?:please\s+)?"
    r"(?:what(?:'s| is)|how much is|calculate|compute|work out|evaluate|tell me|find)?\s*",
)
_TRAILING = re.compile(r"\s*(?:\?|=|equals?|is what)\s*$")
_ARITHMETIC_WORDS = re.compile(
    r"\b(?:plus|minus|times|divided|multiplied|multiply|add|sum|subtract|product|difference|quotient|"
    r"divide|power|squared|cubed|raise|over|total)\b|[+*/^\u00d7\u00f7]|\d\s*-\s*-?\d|\d\s*x\s*\d"
)


@dataclass(frozen=True)
class Previous:
    """The value of the previous clause (``the result``, ``it``)."""


@dataclass(frozen=True)
class Op:
    operator: str
    left: Operand
    right: Operand


Operand = float | Previous | Op


@dataclass(frozen=True)
class Refusal:
    reason: str


def looks_like_arithmetic(clause: str) -> bool:
    text = clause.lower()
    return bool(re.search(r"\d", text) or _REFERENCE.search(text)) and bool(_ARITHMETIC_WORDS.search(text))


def parse(clause: str) -> Op | Refusal | None:
    """The clause as an operation tree; a Refusal when it looks like arithmetic but is not clear; None otherwise."""
    if not looks_like_arithmetic(clause):
        return None
    text = _TRAILING.sub("", _FILLER.sub("", clause.strip().lower().rstrip(".!"))).strip()
    for form in (_verb_form, _noun_form):
        result = form(text)
        if result is not None:
            return result
    tree = _infix(text)
    if isinstance(tree, Op | Refusal):
        return tree
    return Refusal("it names no operation between two values")


def _operands(text: str) -> list[Operand] | Refusal:
    """``1, 2 and 3`` / ``1 and 2`` / ``(2 + 3) and 4``: each an operand (a number, ``the result``, an expression)."""
    parts = [p for p in re.split(r"\s*,\s*(?:and\s+)?|\s+and\s+", text.strip()) if p]
    values: list[Operand] = []
    for part in parts:
        value = _infix(part)
        if isinstance(value, Refusal):
            return value
        if value is None:
            return Refusal(f"{part!r} is not a number")
        values.append(value)
    return values


def _fold(operator: str, values: list[Operand]) -> Op | Refusal:
    if len(values) < 2:
        return Refusal(f"{OPERATOR_NAMES[operator]} needs two values or more")
    tree = Op(operator, values[0], values[1])
    for value in values[2:]:
        tree = Op(operator, tree, value)
    return tree


def _two(operator: str, first: str, second: str, *, swap: bool = False) -> Op | Refusal:
    values = _operands(first)
    others = _operands(second)
    if isinstance(values, Refusal):
        return values
    if isinstance(others, Refusal):
        return others
    if len(values) != 1 or len(others) != 1:
        return Refusal(f"{OPERATOR_NAMES[operator]} here takes one value on each side")
    left, right = (others[0], values[0]) if swap else (values[0], others[0])
    return Op(operator, left, right)


def _verb_form(text: str) -> Op | Refusal | None:
    if m := re.fullmatch(r"subtract (.+) from (.+)", text):
        return _two("-", m.group(1), m.group(2), swap=True)  # subtract A from B is B - A
    if m := re.fullmatch(r"(?:add|sum) (.+?) (?:to|onto) (.+)", text):
        return _two("+", m.group(2), m.group(1))  # add A to B is B + A
    if m := re.fullmatch(r"(?:multiply) (.+?) by (.+)", text):
        return _two("*", m.group(1), m.group(2))
    if m := re.fullmatch(r"divide (.+?) by (.+)", text):
        return _two("/", m.group(1), m.group(2))
    if m := re.fullmatch(r"divide (.+?) (?:into|and) (.+)", text):
        return Refusal("'divide A into/and B' does not say which is divided: say 'divide A by B'")
    if m := re.fullmatch(r"raise (.+?) to (?:the power of )?(.+)", text):
        return _two("^", m.group(1), m.group(2))
    for verb, operator in (("add", "+"), ("sum", "+"), ("multiply", "*")):
        if m := re.fullmatch(rf"{verb} (?:up )?(.+)", text):
            values = _operands(m.group(1))
            return values if isinstance(values, Refusal) else _fold(operator, values)
    if re.match(r"(?:subtract|divide|raise)\b", text):
        return Refusal("it does not say which value is taken from (or divided by) which")
    return None


def _noun_form(text: str) -> Op | Refusal | None:
    for noun, operator in (("sum", "+"), ("total", "+"), ("product", "*")):
        if m := re.fullmatch(rf"(?:the )?{noun} of (.+)", text):
            values = _operands(m.group(1))
            return values if isinstance(values, Refusal) else _fold(operator, values)
    if m := re.fullmatch(r"(?:the )?difference (?:between|of) (.+?) and (.+)", text):
        return _two("-", m.group(1), m.group(2))
    if m := re.fullmatch(r"(?:the )?quotient of (.+?) (?:and|by) (.+)", text):
        return _two("/", m.group(1), m.group(2))
    return None


def _tokens(text: str) -> list[str] | Refusal:
    for pattern, symbol in _WORD_OPERATORS:
        text = re.sub(pattern, f" {symbol} ", text)
    text = _REFERENCE.sub(" @ ", text)
    tokens: list[str] = []
    position = 0
    token = re.compile(rf"\s*(?:({_NUMBER})|([-+*/^()@]))")
    while position < len(text):
        if not text[position:].strip():
            break
        match = token.match(text, position)
        if match is None:
            word = text[position:].split()[0]
            return Refusal(f"it reads {word!r} where a number or an operator should be")
        number, symbol = match.groups()
        # "3 -4" is 3 - 4; "-4" after an operator or at the start is negative four
        if number and number.startswith("-") and tokens and tokens[-1] not in "+-*/^(":
            tokens += ["-", number[1:]]
        else:
            tokens.append(number or symbol)
        position = match.end()
    return tokens


def _infix(text: str) -> Operand | Refusal | None:
    """Shunting-yard over the tokens: numbers, ``@`` (the previous value), + - * / ^ and parentheses."""
    tokens = _tokens(text)
    if isinstance(tokens, Refusal):
        return tokens
    if not tokens:
        return None
    output: list[Operand] = []
    stack: list[str] = []

    def reduce() -> Refusal | None:
        operator = stack.pop()
        if len(output) < 2:
            return Refusal(f"'{operator}' is missing a value")
        right, left = output.pop(), output.pop()
        output.append(Op(operator, left, right))
        return None

    expect_value = True
    for token in tokens:
        if token == "(":
            if not expect_value:
                return Refusal("a value is followed by '(' with no operator between")
            stack.append(token)
        elif token == ")":
            if expect_value:
                return Refusal("')' comes where a value should be")
            while stack and stack[-1] != "(":
                if (refused := reduce()) is not None:
                    return refused
            if not stack:
                return Refusal("unbalanced parentheses")
            stack.pop()
        elif token in _PRECEDENCE:
            if expect_value:
                return Refusal(f"'{token}' comes where a value should be")
            while (
                stack
                and stack[-1] != "("
                and (
                    _PRECEDENCE[stack[-1]] > _PRECEDENCE[token]
                    or (_PRECEDENCE[stack[-1]] == _PRECEDENCE[token] and token != "^")
                )
            ):
                if (refused := reduce()) is not None:
                    return refused
            stack.append(token)
            expect_value = True
            continue
        else:
            if not expect_value:
                return Refusal("two values follow each other with no operator between them")
            output.append(Previous() if token == "@" else float(token))
        expect_value = token in ("(",)
    if expect_value:
        return Refusal("it ends with an operator")
    while stack:
        if stack[-1] == "(":
            return Refusal("unbalanced parentheses")
        if (refused := reduce()) is not None:
            return refused
    if len(output) != 1:
        return Refusal("values are left over")
    return output[0]


def render(operand: Operand) -> str:
    """The expression as a person writes it (for messages)."""
    if isinstance(operand, Previous):
        return "the previous result"
    if isinstance(operand, Op):
        return f"({render(operand.left)} {operand.operator} {render(operand.right)})"
    return f"{operand:g}"
