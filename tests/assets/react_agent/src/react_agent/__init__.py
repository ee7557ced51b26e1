"""React Agent (the template's shape)."""

from react_agent.graph import graph

__all__ = ["graph"]
