"""A program on the mcp 2 stack, unmodified: create_agent + langchain.mcp.MCPAdapter + a FastMCP 4
server script + a real provider client (langchain-openai) against OPENAI_BASE_URL."""

import asyncio
import sys
import warnings
from pathlib import Path

from langchain.agents import create_agent
from langchain_core._api import LangChainBetaWarning
from langchain_openai import ChatOpenAI

warnings.filterwarnings("ignore", category=LangChainBetaWarning)
from langchain.mcp import MCPAdapter  # noqa: E402

SERVER = Path(__file__).with_name("server.py")


async def main(question: str) -> None:
    async with MCPAdapter(SERVER) as adapter:
        agent = create_agent(ChatOpenAI(model="local-model", api_key="not-needed"), await adapter.list_tools())
        result = await agent.ainvoke({"messages": [{"role": "user", "content": question}]})
    print(result["messages"][-1].content)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "What is 25 + 37?"))
