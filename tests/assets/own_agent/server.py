"""A developer's own FastMCP server: plain mcp, no agentloupe anywhere."""

import json

from mcp.server.fastmcp import FastMCP

mcp = FastMCP("own", log_level="WARNING")


@mcp.tool()
async def shout(text: str) -> str:
    """Upper-case the text."""
    return text.upper() + "!"


@mcp.tool()
async def double(n: int) -> int:
    """Twice n."""
    return 2 * n


@mcp.tool()
async def echo_meta(text: str) -> str:
    """Echo what this request carried in params._meta besides the usual: the trace context, any custom key."""
    context = mcp.get_context()
    meta = context.request_context.meta
    return json.dumps(meta.model_extra or {} if meta is not None else None, sort_keys=True)


if __name__ == "__main__":
    mcp.run("stdio")
