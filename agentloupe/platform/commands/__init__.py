"""What each ``loupe`` command drives, one module each: ``runner`` (``run`` of the bundled agent and
``call``), ``rungraph`` (``run --graph``), ``targets`` (``call``'s ``SERVER.TOOL``), ``catalog``
(``tools``), ``serve``, ``exec``. The CLI parses flags and calls one function here."""


def require_mcp_stack() -> None:
    """Commands whose tools are MCP servers (``serve``, whose HTTP app also comes with the SDK):
    without an MCP SDK, one line with the install command (``StackError``, exit 2)."""
    from agentloupe.platform.sessions import require_stack

    require_stack()
