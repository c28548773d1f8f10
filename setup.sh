#!/usr/bin/env bash
# Creates .venv (or $VENV) and installs disco-dock with its test extras.
# torch is installed first and pinned, so that no other package pulls a CUDA build.
set -euo pipefail
cd "$(dirname "$0")"
VENV=${VENV:-.venv}
TORCH_VERSION=${TORCH_VERSION:-2.13.0}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "torch==$TORCH_VERSION"
"$VENV/bin/python" -m pip install --quiet -e ".[test]"
echo "disco-dock installed in $VENV"
