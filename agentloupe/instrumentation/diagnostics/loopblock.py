"""A loop block as found: how long, the stack, and the program's line that blocked.

The heartbeat thread reads the loop thread's formatted stack (innermost last); the C-level alarm
has faulthandler write it (most recent call first). Either way the line named is the program's
innermost own frame: not the standard library's, not agentloupe's hooks; an import is named
from the program's line that led to it.
"""

from __future__ import annotations

import os
import sysconfig
from dataclasses import dataclass


@dataclass
class LoopBlock:
    blocked_s: float
    stack: list[str]
    line: str
    source: str  # "heartbeat" or "c-level"

    @classmethod
    def from_stack(cls, blocked_s: float, stack: list[str]) -> LoopBlock:
        """A block seen by the heartbeat, with the loop thread's formatted stack (innermost last)."""
        return cls(blocked_s, stack, _innermost(stack), "heartbeat")

    @classmethod
    def from_dump(cls, blocked_s: float, dump: str) -> LoopBlock:
        """A block inside C code, from faulthandler's dump (most recent call first)."""
        return cls(blocked_s, dump.splitlines(), _outermost_first(dump), "c-level")


def _parse_file_line(line: str) -> str | None:
    """``File "x.py", line 3 in f`` (faulthandler) or ``File "x.py", line 3, in f`` (traceback)."""
    line = line.strip()
    if not line.startswith('File "') or line.startswith('File "<frozen'):
        return None
    path, _, rest = line[6:].partition('", line ')
    number, _, function = rest.replace(", in ", " in ").partition(" in ")
    return f"{path}:{number.strip()} in {function.strip()}"


_STDLIB = sysconfig.get_paths()["stdlib"]
_OWN = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep  # agentloupe/instrumentation/: the hooks
IMPORTING = "importing "


def _pick(frames: list[str]) -> str:
    """The innermost frame of the program: not the standard library (``time.sleep``'s caller, not
    ``re.match``), not agentloupe's own hooks (a GC callback or an import hook it ran in)."""
    for frame in frames:
        if not frame.startswith(_STDLIB) and not frame.startswith(_OWN):
            return frame
    return frames[0] if frames else "?"


def _innermost(stack: list[str]) -> str:
    """The blocking line of a formatted stack (innermost last); an import says what it imports."""
    frames = [f for entry in reversed(stack) if (f := _parse_file_line(entry.strip().splitlines()[0]))]
    module = next((entry[len(IMPORTING) :] for entry in stack if entry.startswith(IMPORTING)), None)
    if module is None:
        return _pick(frames)
    # an import: named from the program's own line that led to it, not the imported library's
    mine = [f for f in frames if f"{os.sep}site-packages{os.sep}" not in f]
    return f"{IMPORTING}{module} (from {_pick(mine or frames)})"


def _outermost_first(dump: str) -> str:
    """The blocking line of a faulthandler dump (it lists the most recent call first)."""
    return _pick([f for line in dump.splitlines() if (f := _parse_file_line(line))])
