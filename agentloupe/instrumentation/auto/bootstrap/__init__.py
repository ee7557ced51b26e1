"""The folder put first on ``PYTHONPATH`` so that Python runs its ``sitecustomize`` at start-up."""

from pathlib import Path

#: Put on ``PYTHONPATH`` (with ``AGENTLOUPE_AUTO=1``) to instrument a Python process with no code change.
BOOTSTRAP_DIR = str(Path(__file__).resolve().parent)
