"""An MCPServer (mcp 2.x) whose tool asks the person which place was meant: on the 2026-07-28
protocol it answers InputRequiredResult, and the client retries the call with the answer. Knows
nothing of agentloupe."""

from typing import Annotated

from mcp.server.mcpserver import Elicit, MCPServer, Resolve
from pydantic import BaseModel, Field

mcp = MCPServer("places")


class Place(BaseModel):
    city: str = Field(json_schema_extra={"enum": ["Springfield, Illinois", "Springfield, Missouri"]})


def which(city: str) -> Elicit[Place]:
    return Elicit(f"Which {city} did you mean?", Place)


@mcp.tool()
async def forecast(city: str, place: Annotated[Place, Resolve(which)]) -> str:
    """The weather in a city."""
    return f"Sunny in {place.city}"


if __name__ == "__main__":
    mcp.run("stdio")
