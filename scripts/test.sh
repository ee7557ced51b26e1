#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh machine, then run it.
#   .venv           agentloupe (editable) + test tools
#   .venv-phoenix   Arize Phoenix, the real trace backend the integration tests read back from
# Re-running reuses both virtualenvs. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
PHOENIX_VERSION="${PHOENIX_VERSION:-20.26.1}"

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'

if [ ! -x .venv-phoenix/bin/phoenix ]; then
  "$PYTHON" -m venv .venv-phoenix
  .venv-phoenix/bin/python -m pip install --quiet --upgrade pip
  .venv-phoenix/bin/python -m pip install --quiet "arize-phoenix==${PHOENIX_VERSION}"
fi

export AGENTLOUPE_PHOENIX="$PWD/.venv-phoenix/bin/phoenix"
exec .venv/bin/python -m pytest "$@"
