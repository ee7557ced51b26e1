"""A checkpointer whose storage survives the process, as a database-backed one would: a second
``loupe run --resume`` continues a thread the first one left at an interrupt."""

import pickle
from pathlib import Path

from langgraph.checkpoint.memory import InMemorySaver


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
