"""The bundled agent: a LangGraph model -> tools loop (``graph``), its models (``models``: the
offline planner or any ``init_chat_model`` spec), its local tools (``tools``) and the cap on a
tool's output (``output``). The offline model lives in ``offline/``."""
