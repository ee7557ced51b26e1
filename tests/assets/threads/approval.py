"""A graph that stops at interrupt() for a human's approval, compiled with a checkpointer that
persists to a file ($APPROVAL_STATE), as a user's graph with a database-backed one would: a second
process continues the thread."""

import os
import pickle
from collections import defaultdict
from pathlib import Path
from typing import TypedDict

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt


class FileSaver(InMemorySaver):
    """InMemorySaver whose storage survives the process (pickled after every write)."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = Path(path)
        if self.path.exists():
            storage, writes, blobs = pickle.loads(self.path.read_bytes())
            for thread, namespaces in storage.items():
                for namespace, checkpoints in namespaces.items():
                    self.storage[thread][namespace].update(checkpoints)
            self.writes.update(writes)
            self.blobs.update(blobs)

    def _save(self) -> None:
        storage = {t: {ns: dict(c) for ns, c in n.items()} for t, n in self.storage.items()}
        self.path.write_bytes(pickle.dumps((storage, dict(self.writes), dict(self.blobs))))

    def put(self, *args, **kwargs):
        result = super().put(*args, **kwargs)
        self._save()
        return result

    def put_writes(self, *args, **kwargs):
        super().put_writes(*args, **kwargs)
        self._save()


class State(TypedDict):
    request: str
    decision: str


async def ask(state: State) -> State:
    answer = interrupt({"question": f"approve {state['request']}?"})
    return {"request": state["request"], "decision": answer}


builder = StateGraph(State)
builder.add_node("ask", ask)
builder.add_edge(START, "ask")
builder.add_edge("ask", END)
graph = builder.compile(checkpointer=FileSaver(os.environ.get("APPROVAL_STATE", "approval.pickle")))
