"""``langgraph.json``, read the way the LangGraph CLI (``langgraph dev``) reads it.

- ``graphs``: ``NAME`` -> ``./path/file.py:attr``, ``package.module:attr``, or an object
  with a ``path`` holding either;
- ``env``: a file (``.env``) or a mapping, loaded before any graph is imported; a variable
  already in the environment wins, as it does there;
- ``dependencies``: local paths (``"."``, ``"./libs/x"``) become importable, a ``src/``
  layout included, without installing them; package names are left to pip.

Keys it does not use (``image_distro``, ``python_version``, ``dockerfile_lines``, ...) are
ignored, as they are when running locally.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentloupe.platform.errors import ConfigError

LANGGRAPH_JSON = "langgraph.json"


@dataclass(frozen=True)
class Project:
    """What a ``langgraph.json`` says, paths resolved against its folder."""

    path: Path
    graphs: dict[str, str] = field(default_factory=dict)  # NAME -> reference
    env: dict[str, str] = field(default_factory=dict)
    import_paths: list[str] = field(default_factory=list)

    @property
    def folder(self) -> Path:
        return self.path.parent


def find_project(cwd: Path | None = None) -> Project | None:
    """The ``langgraph.json`` of ``cwd`` (the current folder by default), or None."""
    path = (cwd or Path.cwd()) / LANGGRAPH_JSON
    return read_project(path) if path.is_file() else None


def read_project(path: Path) -> Project:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: not a valid langgraph.json ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object")
    folder = path.parent
    return Project(
        path=path,
        graphs=_graphs(path, data.get("graphs")),
        env=_env(path, data.get("env")),
        import_paths=_import_paths(folder, data.get("dependencies")),
    )


def _graphs(path: Path, graphs: Any) -> dict[str, str]:
    if graphs is None:
        return {}
    if not isinstance(graphs, dict):
        raise ConfigError(f'{path}: expected "graphs": {{"NAME": "./file.py:graph"}}')
    resolved = {}
    for name, target in graphs.items():
        if isinstance(target, dict):
            target = target.get("path")
        if not isinstance(target, str) or ":" not in target:
            raise ConfigError(f'{path}: graphs.{name} must be ./file.py:attr, package.module:attr or {{"path": ...}}')
        source, _, attribute = target.rpartition(":")
        if (source.endswith(".py") or "/" in source) and not Path(source).is_absolute():
            source = str((path.parent / source).resolve())
        resolved[name] = f"{source}:{attribute}"
    return resolved


def _env(path: Path, env: Any) -> dict[str, str]:
    if env is None:
        return {}
    if isinstance(env, dict):
        return {str(k): str(v) for k, v in env.items()}
    if isinstance(env, str):
        file = (path.parent / env).resolve()
        if not file.is_file():
            raise ConfigError(f'{path}: "env" names {env}, and {file} does not exist (create it, or drop the key)')
        return parse_env_file(file)
    raise ConfigError(f'{path}: "env" must be a file path or a mapping')


def parse_env_file(file: Path) -> dict[str, str]:
    """``KEY=value`` lines (``export`` prefixes, quotes and comments as python-dotenv takes them)."""
    values: dict[str, str] = {}
    for raw in file.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if value[:1] in ("'", '"') and value.endswith(value[:1]) and len(value) > 1:
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[key.strip()] = value
    return values


def _import_paths(folder: Path, dependencies: Any) -> list[str]:
    paths = []
    for dependency in dependencies or []:
        if not isinstance(dependency, str) or not dependency.startswith((".", "/")):
            continue  # a package name: pip's business
        root = (folder / dependency).resolve()
        for candidate in (root / "src", root):
            if candidate.is_dir() and str(candidate) not in paths:
                paths.append(str(candidate))
    return paths


def apply(project: Project) -> None:
    """Load its env (what is already set wins) and make its local dependencies importable."""
    for key, value in project.env.items():
        os.environ.setdefault(key, value)
    for path in reversed(project.import_paths):
        if path not in sys.path:
            sys.path.insert(0, path)
