#!/usr/bin/env bash
# Sets everything up, installs the benchmark peers (PyPI, bench-only), and runs a benchmark.
#   bash bench/run.sh flat [args for bench_flat.py]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python -m pip install -q "faiss-cpu>=1.8" "matplotlib>=3.8" hnswlib usearch onnxruntime onnx 2>&1 | grep -v "^WARNING: Location" || true
which=${1:-flat}
shift || true
exec .venv/bin/python "bench/bench_$which.py" "$@"
