# Thin wrapper over CMake and the scripts in scripts/. Every target installs what it needs.
BUILD_DIR ?= build
ASAN_DIR ?= build-asan
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps build test unit integration asan format format-check tidy demo run static image clean help \
        tools chart-lint chart-test
.PHONY: e2e corpus demo-stored demo-cli fuzz dataplane proxy node

all: build

help:
	@echo "make deps          install the Debian packages the build needs (idempotent)"
	@echo "make build         build build/sigv4-injector"
	@echo "make test          build and run every test tier (ctest)"
	@echo "make asan          run the suite under ASan+UBSan"
	@echo "make fuzz          libFuzzer (clang) over each fuzz target for FUZZ_SECONDS (default 60)"
	@echo "make demo          a real one-node cluster: helm install, the workshop pod injected and running, a signed call"
	@echo "make demo-stored   the same through the webhook on a loopback control plane (no kubelet), in ~20 s"
	@echo "make demo-cli      the same injection as an offline dry run"
	@echo "make static        a self-contained binary bundle, checked in a bare chroot"
	@echo "make image         the container image (needs podman or docker)"
	@echo "make run           serve the webhook on 127.0.0.1:8443 (self-signed) and print a curl"
	@echo "make dataplane     the injected pod's data path for real: netns, iptables, the real proxy"
	@echo "make e2e           end-to-end: the stored-pod scenarios on a loopback control plane, then the node tier"
	@echo "make corpus        the e2e corpus tier alone: every manifest of tests/e2e/corpus before and after injection (issue 17)"
	@echo "make node          the node tier alone: a one-node cluster (kubelet, containerd), the chart and injected pods run"
	@echo "make bench         benchmarks (build-bench/, Release): in-process, over TLS vs nginx, pod creates"
	@echo "make format        reformat the sources; make format-check verifies"
	@echo "make chart-lint    helm lint --strict the chart; make chart-test runs every chart check"

deps:
	@scripts/deps.sh

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) $(CMAKE_FLAGS)

build: deps $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

unit: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L unit

integration: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L integration

asan: deps
	cmake -S . -B $(ASAN_DIR) -DSIGV4_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug $(CMAKE_FLAGS)
	cmake --build $(ASAN_DIR) -j $(JOBS)
	cd $(ASAN_DIR) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS)

# Performance figures (docs/benchmarks.md): Release build in build-bench/, loopback only.
.PHONY: bench
bench:
	scripts/bench.sh

# libFuzzer targets (tests/fuzz), built with clang in build-fuzz/; each runs FUZZ_SECONDS from
# the checked-in seeds, new inputs go to build-fuzz/corpus/<target>, findings to build-fuzz/.
FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_FLAGS ?= -max_len=4096
# FUZZ_RUNS=N runs each target for N executions instead of FUZZ_SECONDS; FUZZ_SANITIZERS=undefined
# (in its own FUZZ_DIR) trades ASan for ~3x the speed on long campaigns.
FUZZ_RUNS ?=
FUZZ_SANITIZERS ?= address,undefined
FUZZ_TARGETS ?= review manifests config overrides json http

fuzz: deps
	@scripts/deps.sh clang-14 libclang-rt-14-dev
	cmake -S . -B $(FUZZ_DIR) -DCMAKE_CXX_COMPILER=clang++-14 -DSIGV4_FUZZ=ON \
	  -DSIGV4_FUZZ_SANITIZERS=$(FUZZ_SANITIZERS) $(CMAKE_FLAGS)
	cmake --build $(FUZZ_DIR) -j $(JOBS) --target $(addprefix fuzz_,$(FUZZ_TARGETS))
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_DIR)/corpus/$$t && \
	  $(FUZZ_DIR)/tests/fuzz/fuzz_$$t $(if $(FUZZ_RUNS),-runs=$(FUZZ_RUNS),-max_total_time=$(FUZZ_SECONDS)) \
	    -print_final_stats=1 -rss_limit_mb=1024 \
	    $(FUZZ_FLAGS) -artifact_prefix=$(FUZZ_DIR)/fuzz_$$t- \
	    $(FUZZ_DIR)/corpus/$$t tests/fuzz/corpus/$$t || exit 1; \
	done

# Data-plane tier (tests/dataplane): the injected pod's iptables script, the real aws-sigv4-proxy
# (built once into .cache/proxy by scripts/proxy.sh) and the app, in network namespaces the tier
# makes and tears down itself, against SigV4-verifying AWS stand-ins. Needs root.
dataplane: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L dataplane

# The real-node tier (docs/node.md): a one-node cluster in private namespaces, helm
# install, injected pods running, signed calls. Part of make test and make e2e. NODE_ONLY=app1,job
# runs a subset (node, helm and app1 always run: the rest build on them).
node: build
	python3 tests/node/node.py

# The real aws-sigv4-proxy 1.11.1, built offline from ../shared/third_party into .cache/proxy.
proxy:
	@scripts/proxy.sh

# End-to-end: the stored-pod scenarios (tests/e2e, a loopback control plane and the built webhook),
# then the real-node tier. Builds the Kubernetes binaries on first use (~15 min).
e2e: build
	python3 tests/e2e/e2e.py --bin $(BUILD_DIR)/sigv4-injector
	python3 tests/node/node.py

# The corpus tier alone (issue 17, docs/corpus.md): tests/e2e/corpus/ dry-run applied before and
# after injection under four namespace policies. CORPUS_TABLE=path writes the markdown table.
corpus: build
	E2E_ONLY=corpus python3 tests/e2e/e2e.py --bin $(BUILD_DIR)/sigv4-injector

# The README's "run it": the one-node cluster of the node tier. helm install of the chart, namespace
# app1 labelled, the workshop Deployment applied; prints the pod Running with its containers ready,
# the iptables rules read inside the pod and the app's request signed by the real proxy and
# accepted. Keeps the node until Ctrl-C; DEMO_ONCE=1 exits after printing. The first run builds
# the Kubernetes binaries from the Go module proxy (~15 min) and make static's bundle (~90 s),
# printing progress.
demo: build
	python3 tests/node/node.py --demo

# The earlier demo: the same through the webhook on a loopback control plane without a kubelet
# (the stored pod, then its data path in network namespaces); Ctrl-C or DEMO_ONCE=1.
demo-stored: build
	python3 tests/e2e/e2e.py --bin $(BUILD_DIR)/sigv4-injector --demo

# The offline dry run of the same injection, in a second.
demo-cli: build
	@echo "== the workshop Deployment, as written =="
	@cat examples/workshop-app1.yaml
	@echo "== injected by: build/sigv4-injector inject -f examples/workshop-app1.yaml =="
	@$(BUILD_DIR)/sigv4-injector inject -f examples/workshop-app1.yaml

SOURCES = $(shell git ls-files 'webhook/*.cpp' 'webhook/*.h' 'tests/*.cpp' 'tests/*.h')

format: deps
	clang-format -i $(SOURCES)

format-check: deps
	clang-format --dry-run --Werror $(SOURCES)

tidy: build
	scripts/deps.sh clang-tidy
	clang-tidy -p $(BUILD_DIR) $(filter %.cpp,$(SOURCES))

RUN_LISTEN ?= 127.0.0.1:8443
RUN_METRICS ?= 127.0.0.1:9090

run: build
	@echo "== sigv4-injector serve on https://$(RUN_LISTEN) (self-signed), metrics on http://$(RUN_METRICS)"
	@echo "== in another shell:"
	@echo "curl -sk https://$(RUN_LISTEN)/mutate -H 'Content-Type: application/json' --data @examples/admission-review.json"
	@echo "curl -s http://$(RUN_METRICS)/metrics"
	$(BUILD_DIR)/sigv4-injector serve --listen $(RUN_LISTEN) --metrics-listen $(RUN_METRICS) \
	  --self-signed --config examples/config.yaml

# Pinned Go test tools (helm, kubecheck) in .cache/tools/bin, built on first use.
tools:
	@scripts/tools.sh helm >/dev/null
	@scripts/tools.sh kubecheck >/dev/null

chart-lint:
	"$$(scripts/tools.sh helm)" lint --strict charts/sigv4-injector --set region=us-west-2

chart-test:
	python3 tests/chart/test_chart.py all

# A self-contained binary bundle, checked in a chroot holding nothing else (scripts/static.sh).
static: deps
	@scripts/static.sh

# The container image (Dockerfile; docs/image.md). Needs a container engine, which CI lacks:
# without one, says so and checks the bundle the image is made of instead.
IMAGE ?= ghcr.io/sigv4-injector/sigv4-injector:$(shell sed -n 's/^appVersion: *"*\([^"]*\)"*/\1/p' charts/sigv4-injector/Chart.yaml)

image: deps
	@engine=$$(command -v podman || { docker info >/dev/null 2>&1 && command -v docker; }); \
	if [ -n "$$engine" ]; then \
	  $$engine build -t $(IMAGE) . ; \
	else \
	  echo "image: no container engine here (podman/docker); checking the bundle the image holds"; \
	  scripts/static.sh; \
	fi

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR)
