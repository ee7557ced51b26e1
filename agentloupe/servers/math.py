"""Math over stdio: add, subtract, multiply, divide, power."""

from __future__ import annotations

from mcp.server.fastmcp.exceptions import ToolError

from agentloupe.servers.runtime import new_server, serve

mcp = new_server("math", "Arithmetic on two numbers.")


@mcp.tool()
async def add(a: float, b: float) -> float:
    """Add two numbers: a + b."""
    return a + b


@mcp.tool()
async def subtract(a: float, b: float) -> float:
    """Subtract b from a: a - b."""
    return a - b


@mcp.tool()
async def multiply(a: float, b: float) -> float:
    """Multiply two numbers: a * b (the product)."""
    return a * b


@mcp.tool()
async def divide(a: float, b: float) -> float:
    """Divide a by b: a / b (the quotient)."""
    if b == 0:
        raise ToolError("division by zero: b must not be 0")
    return a / b


@mcp.tool()
async def power(base: float, exponent: float) -> float:
    """Raise base to the power of exponent: base ** exponent."""
    try:
        return base**exponent
    except OverflowError:
        raise ToolError("result too large: use a smaller exponent") from None


def main(argv: list[str] | None = None) -> None:
    serve(mcp, transport="stdio", service_name="agentloupe-math", argv=argv)


if __name__ == "__main__":
    main()
