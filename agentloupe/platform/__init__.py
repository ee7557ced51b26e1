"""The agent platform: what the commands run, in rooms by job. Arrows only go down.

- ``commands/``: what each command drives: ``loupe run`` and ``call`` (``runner``), ``--graph``
  (``rungraph``), ``tools`` (``catalog``), ``serve``, ``exec``. The CLI calls only these (and the
  ground floor).
- ``agent/``: the bundled agent: its graph, models, local tools, output capping; its offline model
  in ``agent/offline/`` (planner, arithmetic).
- ``owngraph/``: a developer's own graph as LangGraph runs it: loading references and factories,
  ``langgraph.json``, the run, threads and interrupts. ``agent/`` and ``owngraph/`` never import
  each other.
- ``sessions/``: MCP sessions on either generation: launcher, transports, pool, breaker.
- the ground floor: settings (``config``), one command's life (``lifecycle``), one run's life
  (``runs``), references to a developer's objects (``references``), ``errors``.

Imports the instrumentation layer; launches the bundled servers as processes by module name and
never imports them.
"""
