"""A developer's own FastMCP server: plain mcp, no agentloupe anywhere."""

import json

try:  # the SDK's own server class, on whichever mcp generation the developer is on
    from mcp.server.mcpserver import Context
    from mcp.server.mcpserver import MCPServer as Server
except ImportError:
    from mcp.server.fastmcp import Context
    from mcp.server.fastmcp import FastMCP as Server

mcp = Server("own", log_level="WARNING")


@mcp.tool()
async def shout(text: str) -> str:
    """Upper-case the text."""
    return text.upper() + "!"


@mcp.tool()
async def double(n: int) -> int:
    """Twice n."""
    return 2 * n


@mcp.tool()
async def echo_meta(text: str, ctx: Context) -> str:
    """Echo what this request carried in params._meta besides the usual: the trace context, any custom key."""
    meta = ctx.request_context.meta
    if isinstance(meta, dict):  # mcp 2: the whole _meta, the protocol's own keys too
        meta = {key: value for key, value in meta.items() if "/" not in key and key != "progressToken"}
        return json.dumps(meta, sort_keys=True)
    return json.dumps(meta.model_extra or {} if meta is not None else None, sort_keys=True)


if __name__ == "__main__":
    mcp.run("stdio")
