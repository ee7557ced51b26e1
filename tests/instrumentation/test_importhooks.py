"""Import hooks: a callback runs once what it needs is whole, whoever imports it and in what order."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


def _run(tmp_path: Path, program: str) -> list[str]:
    (tmp_path / "pkg").mkdir(exist_ok=True)
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "base.py").write_text("VALUE = 1\n")
    # pkg.outer imports pkg.base halfway through its own code: OUTER does not exist yet then
    (tmp_path / "pkg" / "outer.py").write_text("from pkg import base\nOUTER = base.VALUE + 1\n")
    result = subprocess.run([sys.executable, "-c", program], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


HOOKED = textwrap.dedent(
    """
    from agentloupe.instrumentation.importhooks import when_imported, when_whole

    def ready():
        from pkg.outer import OUTER  # fails while pkg.outer is half-done
        print("ready", OUTER)

    when_imported("pkg.base", lambda: when_whole("pkg", ready, but="pkg.base"))
    """
)


def test_a_callback_waits_for_the_module_that_was_halfway(tmp_path):
    assert _run(tmp_path, HOOKED + "import pkg.outer\nprint('after')\n") == ["ready", "2", "after"]


def test_a_callback_runs_at_once_when_nothing_is_halfway(tmp_path):
    assert _run(tmp_path, HOOKED + "import pkg.base\nprint('after')\n") == ["ready", "2", "after"]
    assert _run(tmp_path, "import pkg.base\n" + HOOKED + "print('after')\n") == ["ready", "2", "after"]


def test_a_hook_leaving_during_another_import_skips_no_finder(tmp_path):
    """The import system walks ``sys.meta_path`` itself. A hook that leaves it while a walk is
    past the hook's place (another thread's import, here a finder's own import, which is
    deterministic) must not make that walk skip the next finder: the path finder, so a module
    that is there would be "not found"."""
    (tmp_path / "sought.py").write_text("VALUE = 'found'\n")
    program = textwrap.dedent(
        """
        import sys
        from importlib.machinery import PathFinder
        from agentloupe.instrumentation.importhooks import when_imported

        when_imported("pkg.base", lambda: print("hooked"))

        class ImportsWhileFinding:  # stands where the walk is when the hook leaves
            def find_spec(self, name, path, target=None):
                if name == "sought":
                    import pkg.base  # the hook runs and leaves sys.meta_path
                return None

        at = sys.meta_path.index(PathFinder)
        sys.meta_path[at:at] = [ImportsWhileFinding()]
        import sought
        print(sought.VALUE)
        """
    )
    assert _run(tmp_path, program) == ["hooked", "found"]
