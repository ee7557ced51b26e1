"""Tools for the agent (the template searches the web; here, a local tool)."""

from typing import Any, Callable, List


async def add(a: float, b: float) -> float:
    """Add two numbers."""
    return a + b


TOOLS: List[Callable[..., Any]] = [add]
