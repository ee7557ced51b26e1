"""Where is it stuck? The steps of an await chain, stacks of threads, as text.

In Python 3.11 ``Task.get_stack()`` shows only the outermost coroutine frame;
walking ``cr_await`` gives the whole chain down to the awaited future.
Everything here may run on a monitor thread while the loop runs, so every
read is defensive: a frame that changes under us is skipped, never raised.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import sys
import traceback
from types import FrameType
from typing import Any

MAX_DEPTH = 64


def frame_of(awaitable: Any) -> FrameType | None:
    for name in ("cr_frame", "gi_frame", "ag_frame"):
        frame = getattr(awaitable, name, None)
        if frame is not None:
            return frame
    return None


def next_of(awaitable: Any) -> Any:
    for name in ("cr_await", "gi_yieldfrom", "ag_await"):
        value = getattr(awaitable, name, None)
        if value is not None:
            return value
    kind = type(awaitable).__name__
    if kind in ("async_generator_asend", "async_generator_athrow"):
        # `async for` over an async generator (LangGraph's astream): the awaitable exposes no
        # attribute for its generator, but holds a reference to it
        return next((ref for ref in gc.get_referents(awaitable) if inspect.isasyncgen(ref)), None)
    if kind == "FutureIter":  # `await future` (a task too): the iterator holds the future
        return next((ref for ref in gc.get_referents(awaitable) if isinstance(ref, asyncio.Future)), None)
    return None


def format_frame(frame: FrameType) -> str:
    code = frame.f_code
    return f"{code.co_filename}:{frame.f_lineno} in {code.co_name}"


def thread_stack(thread_id: int, limit: int = 30) -> list[str]:
    """The current stack of a thread, innermost last."""
    frame = sys._current_frames().get(thread_id)
    if frame is None:
        return []
    return [line.rstrip() for line in traceback.format_stack(frame, limit=limit)]


def importing(thread_id: int) -> str | None:
    """The module a thread is importing now (the outermost import in progress), or None."""
    frame = sys._current_frames().get(thread_id)
    found = None
    try:
        for _ in range(200):
            if frame is None:
                break
            if frame.f_code.co_name == "_find_and_load" and frame.f_code.co_filename.startswith("<frozen"):
                name = frame.f_locals.get("name")
                found = name if isinstance(name, str) else found
            frame = frame.f_back
    except Exception:
        return found
    return found
