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
    """Wraps the loader of ``name`` so ``callback`` runs after the module's code, once.

    It stays on ``sys.meta_path`` until the module is really executed: a library that only
    probes for ``name`` (``importlib.util.find_spec``) must not use the hook up.
    """

    def __init__(self, name: str, callback: Callable[[], None]) -> None:
        self.name, self.callback = name, callback
        self._finding = False

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != self.name or self._finding:
            return None
        self._finding = True
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            self._finding = False
        loader = getattr(spec, "loader", None)
        if spec is None or loader is None or not hasattr(loader, "exec_module"):
            return spec  # a namespace package has no code to run after: hook a real module instead
        exec_module, hook = loader.exec_module, self

        def exec_then_callback(module: Any) -> None:
            exec_module(module)
            if hook in sys.meta_path:
                sys.meta_path.remove(hook)
                with contextlib.suppress(Exception):
                    hook.callback()

        loader.exec_module = exec_then_callback
        return spec


def when_imported(name: str, callback: Callable[[], None]) -> None:
    """``callback()`` once ``name`` is imported: now if it is, else right after its import."""
    if name in sys.modules:
        callback()
    else:
        sys.meta_path.insert(0, _AfterImport(name, callback))
