"""The agent platform: settings, MCP server lifecycle and sessions, tools, models, the graph, runs.

Imports the instrumentation layer; launches the bundled servers as processes by
module name and never imports them.
"""
