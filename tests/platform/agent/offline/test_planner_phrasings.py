"""The offline planner on 62 phrasings that are not in the README: right, or honestly refused.

The tools are the real ones (the bundled servers' and the local tools' own schemas); each answered
plan is executed here with the same arithmetic, so the final values are checked, not just the calls.
"""

from __future__ import annotations

import asyncio
import math
import operator

import pytest
from langchain_core.utils.function_calling import convert_to_openai_tool

from agentloupe.platform.agent.offline.planner import Plan, Step, ToolSpec, plan
from agentloupe.platform.agent.tools import local_tools


def _server_specs(module: str) -> list[ToolSpec]:
    import importlib

    server = importlib.import_module(module).mcp
    # the schema's name is the SDK's: inputSchema on mcp 1.x, input_schema on 2.x
    return [
        ToolSpec(t.name, t.description or "", getattr(t, "input_schema", None) or t.inputSchema)
        for t in asyncio.run(server.list_tools())
    ]


TOOLS = (
    _server_specs("agentloupe.servers.math")
    + _server_specs("agentloupe.servers.weather")
    + [ToolSpec(**{k: v for k, v in convert_to_openai_tool(t)["function"].items() if k != "strict"}) for t in local_tools()]
)
MATH = {"add": operator.add, "subtract": operator.sub, "multiply": operator.mul, "divide": operator.truediv, "power": math.pow}


def _run(steps: list[Step]) -> dict[str, object]:
    """Execute a plan: math for real, other tools as their call, inputs from earlier results."""
    results: dict[str, object] = {}
    for step in steps:
        args = {**step.args, **{param: results[source] for param, source in step.inputs.items()}}
        if step.tool in MATH:
            values = [args[name] for name in ("a", "b", "base", "exponent") if name in args]
            results[step.id] = MATH[step.tool](*values)
        else:
            results[step.id] = (step.tool, args)
    return results


def _finals(result: Plan) -> list[object]:
    """The value of each clause: its last call's result."""
    values = _run(result.steps)
    last: dict[str, str] = {}
    for step in result.steps:
        last[step.clause] = step.id
    return [values[step_id] for step_id in last.values()]


ANSWERED = [
    ("subtract 5 from 20", [15]),
    ("what is 3 + 4 + 5", [12]),
    ("add 1 and 2 and 3", [6]),
    ("what is 2 * 3 + 1", [7]),
    ("3 plus 4 and then multiply the result by 10", [7, 70]),
    ("20 minus 8", [12]),
    ("divide 10 by 4", [2.5]),
    ("what is 100 / 5 / 2", [10]),
    ("2 to the power of 10", [1024]),
    ("7 squared", [49]),
    ("(2 + 3) * 4", [20]),
    ("2 + 3 * 4", [14]),
    ("the sum of 4, 5 and 6", [15]),
    ("the product of 3 and 9", [27]),
    ("the difference between 9 and 4", [5]),
    ("multiply 12 by 3", [36]),
    ("add 5 to 7", [12]),
    ("10 - 3 - 2", [5]),
    ("what's 6 x 7?", [42]),
    ("raise 3 to 4", [81]),
    ("what is 1.5 + 2.25", [3.75]),
    ("what is 5 - -3", [8]),
    ("2 ^ 3 ^ 2", [512]),
    ("what is 12 divided by 3 plus 1", [5]),
    ("add 2 and 3, then multiply the result by 4", [5, 20]),
    ("what time is it in New York?", [("current_time", {"timezone": "America/New_York"})]),
    ("the time in London please", [("current_time", {"timezone": "Europe/London"})]),
    ("weather in Paris, Berlin and Rome", [("get_weather", {"city": c}) for c in ("Paris", "Berlin", "Rome")]),
    ("the 10th Fibonacci number", [("calculate_fibonacci", {"n": 10})]),
    ('format "hello" in italic', [("format_text", {"text": "hello", "style": "italic"})]),
    ("how much is 9 times 9 minus 1", [80]),
]

REFUSED = [
    ("sing me a song", "no tool matches"),
    ("what is 3 4", "no tool matches"),
    ("divide 10 into 2", "does not say which is divided"),
    ("1 +", "ends with an operator"),
    ("what time is it in Atlantis", "no IANA timezone"),
    ("multiply the result by 10", "refers to nothing before it"),
    ("what is 2 + two", "where a number or an operator should be"),
    ("subtract 5", "does not say which value"),
    ("(2 + 3", "unbalanced parentheses"),
    ("2 + 3)", "unbalanced parentheses"),
    ("add 1 to banana", "'banana' where a number or an operator should be"),
    ("what is the square root of 16", "no tool matches"),
    ("what is 10 mod 3", "no tool matches"),
    ("call teleport with x 1", "no tool named 'teleport'"),
    ("call add with a 1", "add needs b"),
    ("what is the weather", "get_weather needs city"),
    ("what time is it in Springfield", "no IANA timezone"),
    ("multiply 2 and 3 by 4", "one value on each side"),
    ("what is 5 ÷ 0 ÷", "ends with an operator"),
    ("book a flight to Paris", "no tool matches"),
    ("translate hello into French", "no tool matches"),
    ("what is 3 plus", "ends with an operator"),
    ("times 4", "where a value should be"),
    ("raise 2", "does not say which value"),
    ("the sum of 7", "needs two values or more"),
    ("what's 4 4 + 1", "two values follow each other"),
    ("compute 2 + + 3", "where a value should be"),
    ("add it to 5", "refers to nothing before it"),
    ("what is 2 * y", "where a number or an operator should be"),
    ("send an email to bob", "no tool matches"),
    ("what's the time in Gotham", "no IANA timezone"),
]


@pytest.mark.parametrize(("request_", "expected"), ANSWERED, ids=[r for r, _ in ANSWERED])
def test_answered_right(request_, expected):
    result = plan(request_, TOOLS)
    assert not result.unmapped, result.unmapped
    assert _finals(result) == expected


@pytest.mark.parametrize(("request_", "reason"), REFUSED, ids=[r for r, _ in REFUSED])
def test_refused_with_the_reason_and_no_half_answer(request_, reason):
    result = plan(request_, TOOLS)
    assert not result.steps, [(s.tool, s.args) for s in result.steps]
    assert len(result.unmapped) == 1 and reason in result.unmapped[0], result.unmapped
