"""Run a callback right after a module is first imported (or now, if it already is).

So an instrumentation costs nothing in a process that never imports what it instruments,
and can patch a module as soon as it exists, whoever imports it first.
"""

from __future__ import annotations

import _imp
import contextlib
import importlib.machinery
import importlib.util
import sys
from collections.abc import Callable
from typing import Any


class _AfterImport:  # a meta path finder (importlib.abc is not imported: a process's start pays for it)
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
            if _replace_meta_path(lambda finders: [f for f in finders if f is not hook]):
                with contextlib.suppress(Exception):
                    hook.callback()

        loader.exec_module = exec_then_callback
        return spec


def _replace_meta_path(change: Callable[[list[Any]], list[Any]]) -> bool:
    """Put ``change(sys.meta_path)`` in its place, as a new list; True if that changed it.

    Never edit the list in place: another thread's import may be walking it (the import system
    iterates ``sys.meta_path`` itself), and a finder removed before its place makes it skip the
    next one, the path finder included: a module that is there is "not found" (the loop monitor
    importing ``structlog`` to report a block while the loop imports ``openai``, seen 1 run in
    25). A new list leaves that walk on the old one. The import lock keeps two writers apart.
    """
    _imp.acquire_lock()
    try:
        before = sys.meta_path
        after = change(list(before))
        if after == before:
            return False
        sys.meta_path = after
        return True
    finally:
        _imp.release_lock()


def when_imported(name: str, callback: Callable[[], None]) -> None:
    """``callback()`` once ``name`` is imported: now if it is, else right after its import."""
    if name in sys.modules:
        callback()
    else:
        hook = _AfterImport(name, callback)
        _replace_meta_path(lambda finders: [hook, *finders])


def importing(prefix: str, *, but: str = "") -> list[str]:
    """Modules under ``prefix`` whose code is running right now (imported, not yet whole), ``but`` one."""
    found = []
    for name, module in list(sys.modules.items()):
        under = name == prefix or name.startswith(prefix + ".")
        if under and name != but and getattr(getattr(module, "__spec__", None), "_initializing", False):
            found.append(name)
    return found


class _Finishing(importlib.machinery.ModuleSpec):
    """A half-imported module's spec that runs callbacks when the import system marks it whole."""

    _agentloupe_callbacks: list[Callable[[], None]]

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if name == "_initializing" and not value:
            object.__setattr__(self, "__class__", importlib.machinery.ModuleSpec)  # once
            for callback in self.__dict__.pop("_agentloupe_callbacks", []):
                with contextlib.suppress(Exception):
                    callback()


def when_whole(prefix: str, callback: Callable[[], None], *, but: str = "") -> None:
    """``callback()`` once no module under ``prefix`` (``but`` one) is half-imported: now, or right
    after the outermost one's code has run.

    A callback that imports from a package must not run while one of the package's modules
    is still running its code (the program's ``from opentelemetry.sdk.trace import ...``
    imports ``opentelemetry.trace`` halfway through): its names are not there yet.
    """
    half = importing(prefix, but=but)
    spec = getattr(sys.modules[half[0]], "__spec__", None) if half else None
    if spec is None or type(spec) not in (importlib.machinery.ModuleSpec, _Finishing):
        callback()
        return
    if type(spec) is importlib.machinery.ModuleSpec:
        spec.__class__ = _Finishing
        spec.__dict__["_agentloupe_callbacks"] = []
    spec.__dict__["_agentloupe_callbacks"].append(callback)
