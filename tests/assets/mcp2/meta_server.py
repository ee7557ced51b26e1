"""A FastMCP 4 server that echoes the `_meta` a request carried (the caller's keys and the trace context)."""

import json

from fastmcp import Context, FastMCP

mcp = FastMCP("meta")


@mcp.tool
async def echo_meta(ctx: Context) -> str:
    """Echo the request's _meta."""
    meta = ctx.request_context.meta if ctx.request_context is not None else None
    return json.dumps(dict(meta or {}), sort_keys=True, default=str)


if __name__ == "__main__":
    mcp.run(show_banner=False)
