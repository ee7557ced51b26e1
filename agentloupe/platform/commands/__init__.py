"""What each ``loupe`` command drives, one module each: ``runner`` (``run`` of the bundled agent and
``call``), ``rungraph`` (``run --graph``), ``targets`` (``call``'s ``SERVER.TOOL``), ``catalog``
(``tools``), ``serve``, ``exec``. The CLI parses flags and calls one function here."""
