# Thin wrapper over CMake and the scripts in scripts/. Every target installs what it needs.
BUILD_DIR ?= build
ASAN_DIR ?= build-asan
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps build test unit integration asan format format-check tidy demo run static image clean help \
        tools chart-lint chart-test
.PHONY: e2e demo-cluster

all: build

help:
	@echo "make deps          install the Debian packages the build needs (idempotent)"
	@echo "make build         build build/sigv4-injector"
	@echo "make test          build and run every test tier (ctest)"
	@echo "make asan          run the suite under ASan+UBSan"
	@echo "make demo          run the injector on the workshop example"
	@echo "make static        a self-contained binary bundle, checked in a bare chroot"
	@echo "make image         the container image (needs podman or docker)"
	@echo "make run           serve the webhook on 127.0.0.1:8443 (self-signed) and print a curl"
	@echo "make e2e           end-to-end: real etcd + kube-apiserver + controller-manager on loopback"
	@echo "make demo-cluster  the workshop Deployment through the webhook on a loopback control plane"
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

# End-to-end tier (tests/e2e): builds kube-apiserver/controller-manager on first use (~15 min).
e2e: build
	python3 tests/e2e/e2e.py --bin $(BUILD_DIR)/sigv4-injector

# Runs until Ctrl-C; DEMO_ONCE=1 exits after printing the injected pod.
demo-cluster: build
	python3 tests/e2e/e2e.py --bin $(BUILD_DIR)/sigv4-injector --demo

SOURCES = $(shell git ls-files 'webhook/*.cpp' 'webhook/*.h' 'tests/*.cpp' 'tests/*.h')

format: deps
	clang-format -i $(SOURCES)

format-check: deps
	clang-format --dry-run --Werror $(SOURCES)

tidy: build
	clang-tidy -p $(BUILD_DIR) $(filter %.cpp,$(SOURCES))

demo: build
	@echo "== the workshop Deployment, as written =="
	@cat examples/workshop-app1.yaml
	@echo "== injected by: build/sigv4-injector inject -f examples/workshop-app1.yaml =="
	@$(BUILD_DIR)/sigv4-injector inject -f examples/workshop-app1.yaml

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
