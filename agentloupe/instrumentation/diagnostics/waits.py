"""Where a task waits, across the tasks it waits for: the user's stuck line.

A graph run's task waits on LangGraph's runner, which waits on a task per node,
which may wait on ``asyncio.gather``, a ``TaskGroup``, an anyio task group or a
``Send`` branch. Python 3.14 records who awaits whom (``asyncio.capture_call_graph``);
on 3.11-3.13 this module finds it itself:

- an ``await task`` is followed into the task (its ``FutureIter`` holds the task);
- a future that several tasks complete (``gather``'s outer future, ``asyncio.wait``'s
  waiter, a task group's completion future) is found in the done-callbacks of those
  tasks: a callback's closure, or the object its bound method belongs to, holds it;
- ``async for`` over an async generator is followed into the generator.

Each path from the watched task down to a future nobody completes is one *wait*.
Its headline names the innermost frames of the program (agentloupe, LangGraph,
LangChain, asyncio, anyio and the standard library are folded out), and the graph
node it runs in, read from the ``config`` LangGraph hands each node. Everything
runs on the watchdog's thread while the loop runs: every read is defensive.
"""

from __future__ import annotations

import asyncio
import os
import sysconfig
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from agentloupe.instrumentation.diagnostics.stacks import MAX_DEPTH, format_frame, frame_of, next_of

_AGENTLOUPE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))) + os.sep
_BUNDLED_SERVERS = _AGENTLOUPE + "servers" + os.sep
_STDLIB = sysconfig.get_paths()["stdlib"] + os.sep
_FOLDED_PARTS = (
    f"{os.sep}langgraph{os.sep}",
    f"{os.sep}langchain",
    f"{os.sep}langsmith{os.sep}",
    f"{os.sep}anyio{os.sep}",
    f"{os.sep}asyncio{os.sep}",
    f"{os.sep}fastmcp{os.sep}",
    f"{os.sep}mcp{os.sep}",
)
#: Set by the LangGraph instrumentation: the span of the node a ``config`` belongs to.
node_span: Callable[[dict[str, Any]], Any] | None = None
_PRIMITIVES = {"Event", "Lock", "Condition", "Semaphore", "BoundedSemaphore", "Barrier", "Queue"}


def folded(filename: str) -> bool:
    """Library or runtime code, not the program's: left out of the headline (kept in the dump).
    agentloupe's bundled servers are the program of their own processes."""
    return (
        (filename.startswith(_AGENTLOUPE) and not filename.startswith(_BUNDLED_SERVERS))
        or filename.startswith((_STDLIB, "<"))
        or any(part in filename for part in _FOLDED_PARTS)
        or filename.endswith(f"{os.sep}threading.py")
    )


@dataclass
class Wait:
    """One path from the watched task down to where it waits (frames outermost first)."""

    frames: list[FrameType] = field(default_factory=list)
    awaiting: str = ""  # what the innermost frame awaits: "Event", "Lock", "Future", ...

    @property
    def node_config(self) -> dict[str, Any] | None:
        """The ``config`` LangGraph handed the node this wait runs in (the innermost that names one)."""
        for frame in reversed(self.frames):
            try:
                config = frame.f_locals.get("config")
                if isinstance(config, dict) and isinstance(config.get("metadata", {}).get("langgraph_node"), str):
                    return config
            except Exception:
                continue
        return None

    @property
    def node(self) -> str | None:
        """The LangGraph node this wait runs in."""
        config = self.node_config
        return config["metadata"]["langgraph_node"] if config is not None else None

    def user_frames(self) -> list[str]:
        """The program's own frames, innermost first."""
        return [format_frame(f) for f in reversed(self.frames) if not folded(f.f_code.co_filename)]

    def headline(self) -> str:
        """``hang.py:20 in wait_for_result <- hang.py:15 in stuck (node stuck)``."""
        mine = self.user_frames()[:2]
        if not mine:  # nothing of the program's own: the innermost frame that is not loop machinery
            machinery = (f"{os.sep}asyncio{os.sep}", f"{os.sep}anyio{os.sep}", f"{os.sep}concurrent{os.sep}")
            outside = [f for f in reversed(self.frames) if not any(m in f.f_code.co_filename for m in machinery)]
            mine = [format_frame((outside or list(reversed(self.frames)))[0])] if self.frames else ["?"]
        node = self.node
        return " <- ".join(mine) + (f" (node {node})" if node else "")

    def chain(self) -> list[str]:
        """The whole path, outermost first, for the full dump."""
        return [format_frame(f) for f in self.frames] + ([f"awaiting {self.awaiting}"] if self.awaiting else [])


def _holds(candidate: Any, future: Any) -> bool:
    if candidate is future:
        return True
    try:
        return any(value is future for value in vars(candidate).values())
    except TypeError:  # no __dict__
        return False


def _completes(task: Any, future: asyncio.Future[Any]) -> bool:
    """Does a done-callback of ``task`` (a task, or a thread's future) complete ``future``?"""
    callbacks = getattr(task, "_callbacks", None) or getattr(task, "_done_callbacks", None) or ()  # asyncio, threads
    for entry in list(callbacks):
        callback = entry[0] if isinstance(entry, tuple) else entry
        bound = list(getattr(callback, "args", ()))  # functools.partial: asyncio.wait_for's waiter
        callback = getattr(callback, "func", callback)
        candidates = [getattr(callback, "__self__", None), *bound]
        candidates += [cell.cell_contents for cell in (getattr(callback, "__closure__", None) or ()) if _filled(cell)]
        if any(c is not None and _holds(c, future) for c in candidates):
            return True
    return False


def _worker_frames(future: asyncio.Future[Any]) -> list[FrameType]:
    """The stack (outermost first) of the worker thread running what ``future`` waits for
    (``run_in_executor``, ``asyncio.to_thread``, LangGraph's sync nodes), when one does."""
    import sys

    for frame in list(sys._current_frames().values()):
        stack: list[FrameType] = []
        runs_it = False
        current: FrameType | None = frame
        while current is not None:
            stack.append(current)
            if current.f_code.co_name == "run" and current.f_code.co_filename.endswith(f"futures{os.sep}thread.py"):
                work = current.f_locals.get("self")
                runs_it = work is not None and _completes(getattr(work, "future", None), future)
                break
            current = current.f_back
        if runs_it:
            return list(reversed(stack))
    return []


def _filled(cell: Any) -> bool:
    try:
        cell.cell_contents  # noqa: B018 - an empty cell raises
    except ValueError:
        return False
    return True


def _awaiting(frames: list[FrameType], future: Any) -> str:
    """What the innermost frame waits for: the primitive it is a method of, else the future's type."""
    if frames:
        owner = frames[-1].f_locals.get("self")
        if owner is not None and type(owner).__name__ in _PRIMITIVES:
            return type(owner).__name__
    return type(future).__name__


def waits_of(task: asyncio.Task[Any], tasks: list[asyncio.Task[Any]] | None = None) -> list[Wait]:
    """Every path from ``task`` down to where it waits, across the tasks it waits for."""
    if tasks is None:
        try:
            tasks = list(asyncio.all_tasks(task.get_loop()))
        except RuntimeError:
            tasks = []
    found: list[Wait] = []
    _walk(task, Wait(), found, tasks, {id(task)})
    if any(not wait.user_frames() for wait in found) and (above := _waiting_for(task, tasks)):
        for wait in found:  # a library awaits it in a task of its own: the program's line is above
            if not wait.user_frames():
                wait.frames[:0] = above
    return found


def _waiting_for(task: asyncio.Task[Any], tasks: list[asyncio.Task[Any]]) -> list[FrameType]:
    """The frames (outermost first) of the tasks that wait for ``task``, up to the one nothing
    waits for: where a library runs the program's await in a task of its own (FastMCP's client
    does, to watch its session beside it), the program's own line is in a task above."""
    frames: list[FrameType] = []
    seen, current = {id(task)}, task
    try:
        for _ in range(MAX_DEPTH):
            waiter = next((t for t in tasks if id(t) not in seen and not t.done() and _awaits(t, current)), None)
            if waiter is None:
                break
            seen.add(id(waiter))
            frames[:0] = _own_frames(waiter)
            current = waiter
    except Exception:
        pass  # the tasks moved while read: what was found so far
    return frames


def _awaits(waiter: asyncio.Task[Any], task: asyncio.Task[Any]) -> bool:
    """Does ``waiter`` wait for ``task``: awaits it, or a future one of its done-callbacks completes
    (``asyncio.wait``, ``gather``, a task group)?"""
    pending = getattr(waiter, "_fut_waiter", None)
    return pending is task or (pending is not None and _completes(task, pending))


def _walk(task: asyncio.Task[Any], path: Wait, found: list[Wait], tasks: list[Any], seen: set[int]) -> None:
    current: Any = task.get_coro()
    try:
        for _ in range(MAX_DEPTH):
            frame = frame_of(current)
            if frame is not None:
                path.frames.append(frame)
            following = next_of(current)
            if following is None:
                break
            if isinstance(following, asyncio.Future):
                if isinstance(following, asyncio.Task) and id(following) not in seen:
                    seen.add(id(following))
                    current = following.get_coro()
                    continue
                children = [t for t in tasks if id(t) not in seen and not t.done() and _completes(t, following)]
                if not children:
                    worker = _worker_frames(following)
                    if worker:  # a sync node or tool in a worker thread: where that thread is
                        path.frames.extend(worker)
                        path.awaiting = "thread"
                    else:
                        path.awaiting = _awaiting(path.frames, following)
                    break
                for child in children:
                    seen.add(id(child))
                    _walk(child, Wait(list(path.frames)), found, tasks, seen)
                return
            current = following
    except Exception:
        path.awaiting = path.awaiting or "(changed while read)"
    found.append(path)


def span_of_node(wait: Wait) -> Any:
    """The span of the graph node ``wait`` runs in, when the LangGraph instrumentation knows it."""
    config, resolve = wait.node_config, node_span
    if config is None or resolve is None:
        return None
    try:
        return resolve(config)
    except Exception:
        return None


def deadlocked(waits: list[Wait]) -> bool:
    """Several branches, each waiting on a lock, an event or the like, and nothing else."""
    return len(waits) > 1 and all(w.awaiting in _PRIMITIVES for w in waits)


def headline(waits: list[Wait]) -> str:
    """One line: where the program waits, each branch named; a lock cycle said as such."""
    if not waits:
        return "?"
    lines = list(dict.fromkeys(w.headline() for w in waits))
    text = " | ".join(lines)
    if len(lines) > 1 and deadlocked(waits):
        text += " — these wait on each other"
    return text


def _own_frames(task: asyncio.Task[Any]) -> list[FrameType]:
    """The task's own coroutine frames, outermost first (not the tasks it awaits)."""
    frames: list[FrameType] = []
    current: Any = task.get_coro()
    for _ in range(MAX_DEPTH):
        if current is None or isinstance(current, asyncio.Future):
            break
        frame = frame_of(current)
        if frame is not None:
            frames.append(frame)
        current = next_of(current)
    return frames


def task_tree(loop: asyncio.AbstractEventLoop) -> list[str]:
    """Every task of ``loop`` as a tree of who awaits whom, each with its frames and its graph node."""
    try:
        tasks = list(asyncio.all_tasks(loop))
    except RuntimeError:
        return []
    children: dict[int, list[asyncio.Task[Any]]] = {}
    awaited: set[int] = set()
    for task in tasks:
        if getattr(task, "_fut_waiter", None) is None:
            continue
        kids = [t for t in tasks if t is not task and not t.done() and _awaits(task, t)]
        children[id(task)] = kids
        awaited.update(id(kid) for kid in kids)
    lines: list[str] = []

    def show(task: asyncio.Task[Any], depth: int, seen: set[int]) -> None:
        indent = "  " * depth
        try:
            frames = _own_frames(task)
        except Exception:
            frames = []
        node = Wait(frames).node
        lines.append(f"{indent}Task {task.get_name()}" + (f" (node {node})" if node else ""))
        lines.extend(f"{indent}  {format_frame(frame)}" for frame in frames)
        for kid in children.get(id(task), []):
            if id(kid) not in seen:
                seen.add(id(kid))
                show(kid, depth + 1, seen)

    seen = {id(t) for t in tasks if id(t) not in awaited}
    for root in [t for t in tasks if id(t) not in awaited]:
        show(root, 0, seen)
    return lines


def all_stacks(loop: asyncio.AbstractEventLoop | None = None) -> str:
    """The task tree of ``loop`` and every thread's stack, as one text (the SIGUSR1 dump)."""
    import sys
    import threading

    from agentloupe.instrumentation.diagnostics.stacks import thread_stack

    parts: list[str] = task_tree(loop) if loop is not None else []
    names = {t.ident: t.name for t in threading.enumerate()}
    for ident, _ in list(sys._current_frames().items()):
        parts.append(f"Thread {names.get(ident, ident)}:")
        parts.extend(f"  {line}" for line in thread_stack(ident))
    return "\n".join(parts)
