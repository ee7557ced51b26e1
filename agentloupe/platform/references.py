"""References to a developer's objects, loaded as the LangGraph CLI loads them.

``path/to/file.py:NAME`` (the file imported as a script would import its siblings) or
``package.module:NAME`` (from the working folder). ``loupe run --graph`` names a graph this
way (``owngraph/``) and ``--model`` a chat model (``agent/models.py``); a reference that does
not load is a ``ConfigError`` that says why in one line.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

from agentloupe.platform.errors import ConfigError


def _load_file(path: Path, ref: str) -> Any:
    if not path.is_file():
        raise ConfigError(f"{ref!r}: file {path} not found")
    name = path.stem if path.stem not in sys.modules else f"agentloupe_user_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"{ref!r}: {path} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    # Its siblings import as they would when the file runs as a script.
    folder = str(path.resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:
        sys.modules.pop(name, None)
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        raise ConfigError(f"importing {path} failed: {type(exc).__name__}: {first_line(exc)}") from None
    return module


def _load_module(module_name: str, ref: str) -> Any:
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise ConfigError(
                f"{ref!r}: no module named {exc.name!r} (run from the project folder, or use FILE.py:NAME)"
            ) from None
        raise ConfigError(f"importing {module_name} failed: {type(exc).__name__}: {first_line(exc)}") from None
    except Exception as exc:
        raise ConfigError(f"importing {module_name} failed: {type(exc).__name__}: {first_line(exc)}") from None


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "(no message)"


def is_file_reference(source: str) -> bool:
    return source.endswith(".py") or "/" in source


def load_object(ref: str, *, what: str) -> Any:
    """The object ``FILE.py:NAME`` or ``package.module:NAME`` names; a ConfigError otherwise."""
    source, sep, attribute = ref.rpartition(":")
    if not sep or not source or not attribute:
        raise ConfigError(f"{what} {ref!r}: expected FILE.py:NAME or package.module:NAME")
    module = _load_file(Path(source), ref) if is_file_reference(source) else _load_module(source, ref)
    value: Any = module
    for part in attribute.split("."):
        try:
            value = getattr(value, part)
        except AttributeError:
            public = sorted(n for n in vars(module) if not n.startswith("_"))[:12]
            raise ConfigError(
                f"{what} {ref!r}: {source} has no attribute {attribute!r}"
                f" (it has: {', '.join(public) or 'nothing public'})"
            ) from None
    return value
