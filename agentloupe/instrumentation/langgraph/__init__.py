"""LangGraph and LangChain: callbacks (graph, node, model and tool spans), node context, GenAI attributes.

Nothing here imports LangChain at import time but ``callbacks`` (imported by ``instrument_langgraph()``)."""
