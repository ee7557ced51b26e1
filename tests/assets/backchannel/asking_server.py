"""A plain SDK server (FastMCP on mcp 1.x, MCPServer on 2.x) whose tool asks its client: it logs,
reports progress, asks the client's model (sampling), the client's roots and the person
(elicitation), and pings. It knows nothing of agentloupe."""

import warnings

from mcp.types import SamplingMessage, TextContent
from pydantic import BaseModel

try:  # mcp 2.x
    from mcp.server.mcpserver import Context
    from mcp.server.mcpserver import MCPServer as Server
except ImportError:  # mcp 1.x
    from mcp.server.fastmcp import Context
    from mcp.server.fastmcp import FastMCP as Server

# mcp 2.x deprecates sampling, roots and logging on 2026-07-28; this server speaks the handshake protocol
warnings.filterwarnings("ignore", category=DeprecationWarning)

mcp = Server("asking")


class Keep(BaseModel):
    keep: bool


@mcp.tool()
async def summarize(text: str, ctx: Context) -> str:
    """Summarize the text with the client's model, and ask whether to keep the summary."""
    await ctx.info(f"summarizing {len(text)} characters")
    await ctx.report_progress(1, 3, "asking the model")
    sampled = await ctx.session.create_message(
        messages=[SamplingMessage(role="user", content=TextContent(type="text", text=f"Summarize: {text}"))],
        max_tokens=50,
    )
    await ctx.report_progress(2, 3, "asking the user")
    roots = await ctx.session.list_roots()
    await ctx.session.send_ping()
    answer = await ctx.elicit(message="Keep this summary?", schema=Keep)
    summary = sampled.content.text if isinstance(sampled.content, TextContent) else "?"
    kept = answer.action == "accept" and answer.data.keep
    return f"{summary} (roots: {len(roots.roots)}, kept: {kept})"


if __name__ == "__main__":
    mcp.run("stdio")
