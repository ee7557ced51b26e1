"""The bundled MCP servers. Each runs as its own process: ``python -m agentloupe.servers.<name>``.

Servers import ``agentloupe.instrumentation`` only: never LangGraph or the platform.
"""
