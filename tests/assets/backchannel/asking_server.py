"""A plain FastMCP server (mcp 1.x) whose tool asks its client: it logs, reports progress, asks the
client's model (sampling), the client's roots and the person (elicitation), and pings. It knows
nothing of agentloupe."""

from mcp.server.fastmcp import Context, FastMCP
from mcp.types import SamplingMessage, TextContent
from pydantic import BaseModel

mcp = FastMCP("asking", log_level="WARNING")


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
