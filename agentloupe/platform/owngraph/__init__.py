"""A developer's own graph, as LangGraph runs it: found and built from a reference or a factory
(``loading``), through ``langgraph.json`` (``project``), run with the platform's sessions and
watchdog (``run``), continued across invocations (``threads``: checkpoints and interrupts)."""
