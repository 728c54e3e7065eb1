#!/usr/bin/env bash
# The dev loop: an editable, incremental build of nndl in the active virtual environment, then the tests.
#
#   tools/dev.sh                      # build what changed, run the whole suite
#   tools/dev.sh tests/test_io.py -x  # arguments go to pytest
#
# The build directory is build/editable-<python tag> in this checkout (git-ignored) and persists, so
# ninja recompiles only what changed. It needs --no-build-isolation: in an isolated build the paths of
# pybind11 and CMake change on every pip call and scikit-build-core starts the build directory afresh.
# With editable.rebuild, `import nndl` also rebuilds the extension when cpp/ changed, so plain
# `python -m pytest ...` keeps working between runs of this script. Re-run the script after adding
# or removing a Python file (the editable install maps the package's files).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${VIRTUAL_ENV:-}" ]; then
    echo "tools/dev.sh: activate a virtual environment first (python3 -m venv .venv-dev && . .venv-dev/bin/activate)" >&2
    exit 2
fi
# `pip install --group` (the test dependencies below) needs pip 25.1 or newer; a new venv may have an older one.
python -m pip install --quiet --upgrade "pip>=25.1"
# The build backend and its tools in this environment (no build isolation), as pyproject.toml asks.
python -m pip install --quiet "scikit-build-core>=0.10" "pybind11>=2.13" cmake ninja
tag=$(python -c 'import sys; print(sys.implementation.cache_tag)')
python -m pip install --quiet --no-build-isolation \
    -Ceditable.rebuild=true -Ceditable.verbose=false -Cbuild-dir="build/editable-$tag" \
    -e ".[lint]"
python -m pip install --quiet --group test
python -m pytest "$@"
