"""Run a callback right after a module is first imported (or now, if it already is).

So an instrumentation costs nothing in a process that never imports what it instruments,
and can patch a module as soon as it exists, whoever imports it first.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import sys
from collections.abc import Callable
from typing import Any


class _AfterImport(importlib.abc.MetaPathFinder):
    """A one-shot finder: wraps the loader of ``name`` so ``callback`` runs after the module's code."""

    def __init__(self, name: str, callback: Callable[[], None]) -> None:
        self.name, self.callback = name, callback

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != self.name:
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        loader = getattr(spec, "loader", None)
        if spec is None or loader is None or not hasattr(loader, "exec_module"):
            return spec  # a namespace package has no code to run after: hook a real module instead
        exec_module, callback = loader.exec_module, self.callback

        def exec_then_callback(module: Any) -> None:
            exec_module(module)
            with contextlib.suppress(Exception):
                callback()

        loader.exec_module = exec_then_callback
        return spec


def when_imported(name: str, callback: Callable[[], None]) -> None:
    """``callback()`` once ``name`` is imported: now if it is, else right after its import."""
    if name in sys.modules:
        callback()
    else:
        sys.meta_path.insert(0, _AfterImport(name, callback))
