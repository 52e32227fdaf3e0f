#!/usr/bin/env bash
# `make bench`: builds the Release benchmark tree in build-bench/ and prints every performance
# figure of SPEC section 9 as a table (scripts/bench.py), then pod creates through a real
# kube-apiserver with and without the webhook and against nginx's floor (scripts/bench_creates.py;
# the first run builds Kubernetes, ~15 min), then create -> Ready of an injected and an uninjected
# pod on the node tier's one-node cluster (tests/node/node.py --bench). Loopback and private
# namespaces only; about 6 minutes once built.
#   BENCH_SECONDS=10 BENCH_REPEATS=3   length of each hey run, runs per figure (medians)
#   BENCH_ARGS="--skip-wire"           extra arguments for scripts/bench.py
#   BENCH_CREATES_ARGS="--creates 300" extra arguments for scripts/bench_creates.py
#   BENCH_SKIP_CREATES=1               skip the pod-create figures
#   BENCH_SKIP_NODE=1                  skip create -> Ready on the one-node cluster (tests/node)
#   BENCH_NODE_COUNT=10                pods of each kind for create -> Ready
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BENCH_BUILD_DIR:-build-bench}
scripts/deps.sh libbenchmark-dev hey nginx gnuplot-nox
# No -Werror here: GCC 12 at -O3 reports a false -Wrestrict inside std::string (address.cpp).
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DSIGV4_BENCH=ON -DSIGV4_TESTS=OFF \
  -DSIGV4_WERROR=OFF >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)" --target sigv4-injector review_bench
# shellcheck disable=SC2086
python3 scripts/bench.py --build-dir "$BUILD_DIR" --json "$BUILD_DIR/bench.json" \
  --plot "$BUILD_DIR/bench-review-time.png" ${BENCH_ARGS:-}
if [[ -z ${BENCH_SKIP_CREATES:-} ]]; then
  # shellcheck disable=SC2086
  python3 scripts/bench_creates.py --bin "$BUILD_DIR/sigv4-injector" \
    --json "$BUILD_DIR/bench-creates.json" ${BENCH_CREATES_ARGS:-}
fi
if [[ -z ${BENCH_SKIP_NODE:-} ]]; then
  python3 tests/node/node.py --bench --count "${BENCH_NODE_COUNT:-10}" --json "$BUILD_DIR/bench-node.json"
fi
