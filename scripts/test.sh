#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh) and runs every test:
#   1. C unit tests (release build)
#   2. the pytest suite twice: with the AVX2 kernels (when the CPU has them) and forced scalar
#   3. mypy --strict over the tests and examples (checks the hand-written stubs)
#   4. C unit tests and the pytest suite again under AddressSanitizer + UndefinedBehaviorSanitizer
# Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PY=.venv/bin/python
export PATH="$PWD/.venv/bin:$PATH"

echo "== C unit tests"
[ -f build/ctest/build.ninja ] || meson setup build/ctest -Dpython=false >/dev/null
ninja -C build/ctest >/dev/null
./build/ctest/tests/c/ruvector_c_tests

run_pytest() { # $1 = label, rest = env assignments
    local label=$1; shift
    echo "== pytest ($label)"
    # Run outside the checkout so `import ruvector` is the installed package, never ./python.
    (cd tests && env "$@" "$PWD/../$PY" -m pytest -q -c ../pyproject.toml --rootdir=.. . )
}

if $PY -c "import ruvector,sys; sys.exit(0 if ruvector.cpu_features()['avx2'] else 1)"; then
    run_pytest "avx2 kernels" RUVECTOR_SIMD=avx2
else
    echo "== (this CPU has no AVX2: the avx2 pass is not possible here)"
fi
run_pytest "scalar kernels" RUVECTOR_SIMD=scalar

echo "== mypy --strict (tests, examples, stubs)"
(cd tests && ../$PY -m mypy --strict --config-file ../pyproject.toml . ../examples)
(cd tests && ../$PY -m mypy --strict --config-file ../pyproject.toml -p ruvector)
(cd tests && ../$PY -m mypy.stubtest ruvector --mypy-config-file ../pyproject.toml \
    --allowlist typing/stubtest-allowlist.txt)

echo "== ASan + UBSan: C unit tests"
[ -f build/asan/build.ninja ] || meson setup build/asan -Dpython=false -Db_sanitize=address,undefined \
    -Dbuildtype=debugoptimized >/dev/null
ninja -C build/asan >/dev/null
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    ./build/asan/tests/c/ruvector_c_tests

echo "== ASan + UBSan: pytest"
$PY -m pip install -q --no-build-isolation --no-deps --upgrade --target build/asan-site \
    -Cbuild-dir=build/asan-py -Csetup-args=-Db_sanitize=address,undefined \
    -Csetup-args=-Dbuildtype=debugoptimized . 2>&1 | grep -v "^WARNING: Location" || true
ASAN_LIB=$(gcc -print-file-name=libasan.so)
(cd tests && PYTHONPATH="$PWD/../build/asan-site" LD_PRELOAD="$ASAN_LIB" HYPOTHESIS_PROFILE=sanitizer \
    ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    RUVECTOR_EXPECT_SANITIZED=1 "$PWD/../$PY" -m pytest -q -c ../pyproject.toml --rootdir=.. .)
