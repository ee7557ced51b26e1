"""An MCPServer (mcp 2.x) whose tool needs the client's model and then the person: on the
2026-07-28 protocol it answers InputRequiredResult twice (a Sample, then an Elicit that depends on
what was sampled) and the client retries the call with the answers. Knows nothing of agentloupe."""

from typing import Annotated

from mcp.server.mcpserver import Context, Elicit, MCPServer, Resolve, Sample
from mcp.types import CreateMessageResult, SamplingMessage, TextContent
from pydantic import BaseModel

mcp = MCPServer("rounds")


class Keep(BaseModel):
    keep: bool


def draft(text: str) -> Sample:
    return Sample(
        [SamplingMessage(role="user", content=TextContent(type="text", text=f"Summarize: {text}"))], max_tokens=50
    )


def keep(summary: Annotated[CreateMessageResult, Resolve(draft)]) -> Elicit[Keep]:
    return Elicit(f"Keep '{summary.content.text}'?", Keep)


@mcp.tool()
async def summarize(
    text: str,
    summary: Annotated[CreateMessageResult, Resolve(draft)],
    kept: Annotated[Keep, Resolve(keep)],
    ctx: Context,
) -> str:
    """Summarize the text with the client's model, and ask whether to keep the summary."""
    return f"{summary.content.text} (kept: {kept.keep})"


if __name__ == "__main__":
    mcp.run("stdio")
