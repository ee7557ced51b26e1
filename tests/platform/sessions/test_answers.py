"""A question to the user (elicitation), answered from --answer: a choice by number or text, a
yes/no, a number; a refusal word; what fits no field is declined, and said so in one line."""

from types import SimpleNamespace

import anyio
import pytest

from agentloupe.platform.sessions.answers import Answers, _coerce
from agentloupe.platform.sessions.mcpsdk import types

CHOICE = {"type": "string", "enum": ["Springfield, Illinois", "Springfield, Missouri"]}


@pytest.mark.parametrize(
    ("text", "spec", "value"),
    [
        ("2", CHOICE, "Springfield, Missouri"),
        ("springfield, illinois", CHOICE, "Springfield, Illinois"),
        ("3", CHOICE, None),
        ("yes", {"type": "boolean"}, True),
        ("No", {"type": "boolean"}, False),
        ("maybe", {"type": "boolean"}, None),
        ("42", {"type": "integer"}, 42),
        ("4.5", {"type": "number"}, 4.5),
        ("four", {"type": "number"}, None),
        ("free text", {"type": "string"}, "free text"),
    ],
)
def test_an_answer_is_coerced_to_the_field_or_refused(text, spec, value):
    assert _coerce(text, spec) == value


def _ask(answers: Answers, schema: dict) -> types.ElicitResult:
    params = SimpleNamespace(message="Which one?", requested_schema=schema)  # the SDK's params, as read
    return anyio.run(answers.callback("weather"), None, params)


def test_answers_are_used_in_order_and_a_refusal_word_refuses():
    answers = Answers(["1", "cancel"], interactive=False)
    schema = {"type": "object", "properties": {"place": CHOICE}, "required": ["place"]}
    first = _ask(answers, schema)
    assert first.action == "accept" and first.content == {"place": "Springfield, Illinois"}
    assert _ask(answers, schema).action == "cancel"
    third = _ask(answers, schema)  # none left, no terminal
    assert third.action == "decline"
    assert answers.declined == [
        "MCP server 'weather' asked 'Which one?': declined, no terminal to ask at and no --answer left"
        " (answer with --answer 'Springfield, Illinois')"
    ]
