"""Math over stdio: add, subtract, multiply, divide, power."""

from __future__ import annotations

from agentloupe.servers.runtime import ToolError, new_server, serve

mcp = new_server("math", "Arithmetic on two numbers.")


def _number(value: float) -> int | float:
    """62.0 reads as 62: whole results come back as integers."""
    return int(value) if isinstance(value, float) and value.is_integer() and abs(value) < 2**63 else value


@mcp.tool()
async def add(a: float, b: float) -> int | float:
    """Add two numbers: a + b."""
    return _number(a + b)


@mcp.tool()
async def subtract(a: float, b: float) -> int | float:
    """Subtract b from a: a - b."""
    return _number(a - b)


@mcp.tool()
async def multiply(a: float, b: float) -> int | float:
    """Multiply two numbers: a * b (the product)."""
    return _number(a * b)


@mcp.tool()
async def divide(a: float, b: float) -> int | float:
    """Divide a by b: a / b (the quotient)."""
    if b == 0:
        raise ToolError("division by zero: b must not be 0")
    return _number(a / b)


@mcp.tool()
async def power(base: float, exponent: float) -> int | float:
    """Raise base to the power of exponent: base ** exponent."""
    try:
        return _number(base**exponent)
    except OverflowError:
        raise ToolError("result too large: use a smaller exponent") from None


def main(argv: list[str] | None = None) -> None:
    serve(mcp, transport="stdio", service_name="agentloupe-math", argv=argv)


if __name__ == "__main__":
    main()
