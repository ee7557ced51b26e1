"""The offline planner plans from the tool list it is given, not from demo sentences."""

import pytest

from agentloupe.platform.agent.offline.planner import ToolSpec, plan, split_clauses

NUM2 = {"properties": {"a": {"type": "number"}, "b": {"type": "number"}}, "required": ["a", "b"]}
TOOLS = [
    ToolSpec("add", "Add two numbers: a + b.", NUM2),
    ToolSpec("multiply", "Multiply two numbers: a * b (the product).", NUM2),
    ToolSpec("calculate_fibonacci", "Calculate the n-th Fibonacci number.", {"properties": {"n": {"type": "integer"}}, "required": ["n"]}),
    ToolSpec("format_text", "Format text in a style: bold, italic, code.", {"properties": {"text": {"type": "string"}, "style": {"type": "string", "default": "bold"}}, "required": ["text"]}),
    ToolSpec("get_weather", "Get the current weather for a city.", {"properties": {"city": {"type": "string"}}, "required": ["city"]}),
    ToolSpec("current_time", "Get the current date and time in a timezone.", {"properties": {"timezone": {"type": "string", "default": "UTC"}}}),
]


def calls(request, tools=TOOLS):
    return [(s.tool, s.args, next(iter(s.inputs.values()), None)) for s in plan(request, tools).steps]


def test_independent_calls_in_one_turn():
    assert calls("What is 25 + 37, the 12th Fibonacci number, and the weather in Tokyo?") == [
        ("add", {"a": 25, "b": 37}, None),
        ("calculate_fibonacci", {"n": 12}, None),
        ("get_weather", {"city": "Tokyo"}, None),
    ]


def test_dependent_call_waits_for_its_input():
    steps = plan("Format the 12th Fibonacci number in bold", TOOLS).steps
    assert [(s.tool, s.args) for s in steps] == [("calculate_fibonacci", {"n": 12}), ("format_text", {"style": "bold"})]
    assert steps[1].inputs == {"text": steps[0].id}


def test_seed_mixed_query():
    tools = [c[0] for c in calls("Format the 12th Fibonacci number in bold, add 25 and 30, get the weather in London, and tell me the current time")]
    assert tools == ["calculate_fibonacci", "format_text", "add", "get_weather", "current_time"]


@pytest.mark.parametrize(("request_", "expected"), [
    ("What's 25 + 37?", ("add", {"a": 25, "b": 37})),
    ("Weather in Tokyo?", ("get_weather", {"city": "Tokyo"})),
    ("multiply 6 by 7", ("multiply", {"a": 6, "b": 7})),
    ("call current_time with timezone Europe/London", ("current_time", {"timezone": "Europe/London"})),
    ('call add {"a": 2, "b": 3}', ("add", {"a": 2, "b": 3})),
])
def test_single_requests(request_, expected):
    assert [c[:2] for c in calls(request_)] == [expected]


def test_any_tool_by_name_even_an_unknown_kind():
    tools = [ToolSpec("lookup_stock", "Look up a ticker.", {"properties": {"ticker": {"type": "string"}}, "required": ["ticker"]})]
    assert calls("call lookup_stock with ticker ACME", tools) == [("lookup_stock", {"ticker": "ACME"}, None)]


def test_what_it_cannot_map_it_says():
    result = plan("sing me a song", TOOLS)
    assert not result.steps and "no tool matches" in result.unmapped[0]
    result = plan("call teleport with x 1", TOOLS)
    assert "no tool named 'teleport'" in result.unmapped[0]


def test_clauses_keep_json_and_number_pairs_whole():
    assert split_clauses('add 25 and 30, call add {"a": 1, "b": 2}') == ["add 25 and 30", 'call add {"a": 1, "b": 2}']
