"""Run by Python at start-up when agentloupe put this folder first on ``PYTHONPATH``.

With ``AGENTLOUPE_AUTO=1`` (set by ``loupe exec``, ``loupe run --graph`` and the
stdio launches of an instrumented process) the process is instrumented before
its own code runs. A ``sitecustomize`` this one shadows still runs first.
Nothing here may stop the program: a failure is one line on stderr.
"""

import os
import sys


def _chain_to_shadowed() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    ours = sys.modules.pop("sitecustomize", None)
    saved = list(sys.path)
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    try:
        import sitecustomize  # noqa: F401 - the next one on the path, if any
    except ImportError as exc:
        if exc.name != "sitecustomize":
            print(f"agentloupe: the shadowed sitecustomize failed: {exc}", file=sys.stderr)
    finally:
        sys.path[:] = saved
        if ours is not None:
            sys.modules["sitecustomize"] = ours


def _start() -> None:
    if os.environ.get("AGENTLOUPE_AUTO") != "1":
        return
    try:
        from agentloupe.instrumentation.auto import start as auto
    except ImportError as exc:
        # Another interpreter (another venv) without agentloupe: the program runs, untraced, and
        # says so once (its children inherit the setting: only the first process says it).
        if os.environ.get("AGENTLOUPE_UNTRACED_SAID") != "1":
            os.environ["AGENTLOUPE_UNTRACED_SAID"] = "1"
            print(
                f"agentloupe: this program runs untraced: {sys.executable} cannot import agentloupe "
                f"({exc}); install it there: {sys.executable} -m pip install agentloupe",
                file=sys.stderr,
            )
        return
    try:
        auto.start()
    except Exception as exc:
        print(f"agentloupe: instrumentation not started ({type(exc).__name__}: {exc})", file=sys.stderr)


_chain_to_shadowed()
_start()
