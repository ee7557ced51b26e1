#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh machine, then run it.
#   .venv           agentloupe (editable) on the mcp 1.x stack (langchain-mcp-adapters) + test tools
#   .venv-mcp2      a user's mcp 2.x stack (langchain[mcp] 1.5: FastMCP 4, langchain.mcp) and a provider
#                   client, then agentloupe installed into it plain: it must keep that stack as it is
#   .venv-phoenix   Arize Phoenix, the real trace backend the integration tests read back from
#   FastMCP's sdist its own telemetry tests, run under `loupe exec` (cached outside the checkout)
#   .venv-nomcp     the wheel built from this checkout, installed plain into a LangGraph project with
#                   no MCP SDK at all (test_any_install.py)
#   .venv-py3.N     the wheel with the mcp 1.x stack, on every other CPython from 3.12 up that the
#                   machine has (pyenv's included): the end-to-end core runs on each (test_pythons.py)
#   apt             prometheus, chromium
# The whole suite runs on the mcp 1.x venv; then it runs again on .venv-mcp2 (mcp 2.x, MCPServer,
# FastMCP 4, langchain.mcp), leaving out only what names no MCP generation: the config-file
# validators (deploy/, compose.yaml, dashboards) and the benchmarks (the first pass runs them, and
# they measure both stacks). What only one generation has skips itself on the other, saying why:
# mcp 1.x's patches (test_mcp_patches.py) and mcp 2.x's own spans in one process (test_mcp_v2.py).
# Re-running reuses the virtualenvs. Extra arguments go to pytest, and then only the first pass runs.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
PHOENIX_VERSION="${PHOENIX_VERSION:-20.26.1}"

# Debian packages the tests run for real: Prometheus (every dashboard query runs against it)
# Chromium (the HTML trace view is rendered headless) and nginx (a load balancer in front of
# two MCP server replicas).
missing=()
command -v prometheus >/dev/null || missing+=(prometheus)
command -v chromium >/dev/null || missing+=(chromium)
command -v nginx >/dev/null || missing+=(nginx)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  # The packages' services must not start at install (the tests start their own, on their own
  # ports): Debian's policy-rc.d says so for this install only. Nothing already running is touched.
  policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null && $SUDO chmod +x "$policy"
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [ -n "$policy" ]; then $SUDO rm -f "$policy"; fi
fi

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[mcp1,test]'

if [ ! -x .venv-mcp2/bin/python ]; then
  "$PYTHON" -m venv .venv-mcp2
  .venv-mcp2/bin/python -m pip install --quiet --upgrade pip
fi
.venv-mcp2/bin/python -m pip install --quiet 'langchain[mcp]>=1.5,<2' langchain-openai
.venv-mcp2/bin/python -m pip install --quiet -e .
# the test runner only (and what tests run beside agentloupe: the httpx instrumentation a test's own
# graph uses, the rotel collector), after agentloupe: the user's stack stays as it is (a test checks)
.venv-mcp2/bin/python -m pip install --quiet 'pytest>=8' 'pytest-asyncio>=0.24' 'pytest-timeout>=2' 'hypothesis>=6' 'pyyaml>=6' \
  'opentelemetry-instrumentation-httpx>=0.57b0' 'rotel>=0.0.1a15'

# FastMCP's own telemetry tests (test_peer_telemetry.py runs them plainly and under `loupe exec`):
# from the source distribution of the version .venv-mcp2 has, fetched once into a cache outside
# the checkout
fastmcp_version="$(.venv-mcp2/bin/python -c 'import importlib.metadata as m; print(m.version("fastmcp"))')"
sources="${XDG_CACHE_HOME:-$HOME/.cache}/agentloupe-tests"
export AGENTLOUPE_FASTMCP_SOURCE="$sources/fastmcp-$fastmcp_version"
if [ ! -d "$AGENTLOUPE_FASTMCP_SOURCE/tests/telemetry" ]; then
  mkdir -p "$sources"
  download="$(mktemp -d)"
  .venv/bin/python -m pip download --quiet --no-deps --no-binary :all: --dest "$download" "fastmcp==$fastmcp_version"
  tar xzf "$download/fastmcp-$fastmcp_version.tar.gz" -C "$sources"
  rm -rf "$download"
fi

if [ ! -x .venv-phoenix/bin/phoenix ]; then
  "$PYTHON" -m venv .venv-phoenix
  .venv-phoenix/bin/python -m pip install --quiet --upgrade pip
  .venv-phoenix/bin/python -m pip install --quiet "arize-phoenix==${PHOENIX_VERSION}"
fi

# The wheel a user installs (not the editable checkout): into a venv with no MCP SDK, and with the
# mcp 1.x stack into one venv per other CPython the machine has
wheels="$(mktemp -d)"
.venv/bin/python -m pip wheel --quiet --no-deps --wheel-dir "$wheels" . 2>/dev/null
rm -rf build
wheel="$(ls "$wheels"/agentloupe-*.whl)"
if [ ! -x .venv-nomcp/bin/python ]; then
  "$PYTHON" -m venv .venv-nomcp
  .venv-nomcp/bin/python -m pip install --quiet --upgrade pip
fi
.venv-nomcp/bin/python -m pip install --quiet "$wheel"
.venv-nomcp/bin/python -m pip install --quiet --force-reinstall --no-deps "$wheel"
pythons=()
pyenv_root="$(pyenv root 2>/dev/null || true)"
for version in 3.12 3.13 3.14 3.15; do
  # on PATH, else pyenv's (its shim answers only for the version pyenv has selected)
  interpreter=""
  for candidate in "$(command -v "python$version" || true)" "$pyenv_root"/versions/"$version".*/bin/"python$version"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] && "$candidate" -c 'import sys' 2>/dev/null; then
      interpreter="$candidate"
      break
    fi
  done
  [ -n "$interpreter" ] || continue
  venv=".venv-py$version"
  if [ ! -x "$venv/bin/python" ]; then
    "$interpreter" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
  fi
  "$venv/bin/python" -m pip install --quiet "$wheel[mcp1]"
  "$venv/bin/python" -m pip install --quiet --force-reinstall --no-deps "$wheel"
  pythons+=("$PWD/$venv")
done
rm -rf "$wheels"
echo "--- CPythons: $("$PYTHON" --version) (the suite); the wheel's end-to-end core also on: ${pythons[*]:-none}"
export AGENTLOUPE_NOMCP_VENV="$PWD/.venv-nomcp"
export AGENTLOUPE_PYTHON_VENVS="$(IFS=:; echo "${pythons[*]:-}")"

# The house rules, checked before the tests: layering, lint, format, types.
.venv/bin/lint-imports --no-cache >/dev/null || .venv/bin/lint-imports --no-cache
.venv/bin/ruff check agentloupe
.venv/bin/ruff format --check agentloupe
.venv/bin/mypy

export AGENTLOUPE_PHOENIX="$PWD/.venv-phoenix/bin/phoenix"
export AGENTLOUPE_MCP2_VENV="$PWD/.venv-mcp2"
if [ $# -gt 0 ]; then
  exec .venv/bin/python -m pytest "$@"
fi
status=0
.venv/bin/python -m pytest || status=$?
echo "--- the suite again, on the mcp 2.x stack (.venv-mcp2)"
# test_mcp2_stack.py, test_any_install.py and test_pythons.py are left out too: the first pass already
# runs them against the venvs they name (.venv-mcp2, .venv-nomcp, .venv-py3.N); and so is
# test_own_telemetry.py (Logfire, Phoenix's and Langfuse's SDKs are in the first pass's venv)
.venv-mcp2/bin/python -m pytest -p no:cacheprovider -rs \
  --ignore=tests/integration/test_deploy.py --ignore=tests/integration/test_viewing_stack.py \
  --ignore=tests/test_benchmarks.py --ignore=tests/e2e/test_mcp2_stack.py \
  --ignore=tests/e2e/test_any_install.py --ignore=tests/e2e/test_pythons.py \
  --ignore=tests/integration/test_own_telemetry.py || status=$?
exit $status
