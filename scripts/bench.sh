#!/usr/bin/env bash
# `make bench`: builds the Release benchmark tree in build-bench/ and prints every performance
# figure of SPEC section 9 as a table (scripts/bench.py). Loopback only; about 3 minutes.
#   BENCH_SECONDS=10 BENCH_REPEATS=3   length of each hey run, runs per figure (medians)
#   BENCH_ARGS="--skip-wire"           extra arguments for scripts/bench.py
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BENCH_BUILD_DIR:-build-bench}
scripts/deps.sh libbenchmark-dev hey nginx gnuplot-nox
# No -Werror here: GCC 12 at -O3 reports a false -Wrestrict inside std::string (address.cpp).
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DSIGV4_BENCH=ON -DSIGV4_TESTS=OFF \
  -DSIGV4_WERROR=OFF >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)" --target sigv4-injector review_bench
# shellcheck disable=SC2086
exec python3 scripts/bench.py --build-dir "$BUILD_DIR" --json "$BUILD_DIR/bench.json" \
  --plot "$BUILD_DIR/bench-review-time.png" ${BENCH_ARGS:-}
