"""Local tools: plain LangChain tools that run in the agent process."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from langchain_core.tools import BaseTool, ToolException, tool

MAX_FIBONACCI_INDEX = 10_000


@tool
async def calculate_fibonacci(n: int) -> int:
    """Calculate the n-th Fibonacci number (F(0)=0, F(1)=1, F(12)=144)."""
    if n < 0 or n > MAX_FIBONACCI_INDEX:
        raise ToolException(f"n must be between 0 and {MAX_FIBONACCI_INDEX}")
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


_STYLES = {
    "bold": lambda t: f"**{t}**",
    "italic": lambda t: f"*{t}*",
    "code": lambda t: f"`{t}`",
    "upper": str.upper,
    "lower": str.lower,
    "title": str.title,
}


@tool
async def format_text(text: str, style: str = "bold") -> str:
    """Format text in a style: bold, italic, code, upper, lower or title."""
    formatter = _STYLES.get(style.lower())
    if formatter is None:
        raise ToolException(f"unknown style {style!r}: use one of {', '.join(_STYLES)}")
    return formatter(text)


@tool
async def current_time(timezone: str = "UTC") -> str:
    """Get the current date and time in a timezone (IANA name such as Europe/London; default UTC)."""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ToolException(f"unknown timezone {timezone!r}: use an IANA name like Europe/London") from None
    return dt.datetime.now(zone).isoformat(timespec="seconds")


for _tool in (calculate_fibonacci, format_text, current_time):
    _tool.handle_tool_error = True


def local_tools() -> list[BaseTool]:
    return [calculate_fibonacci, format_text, current_time]
