# syntax=docker/dockerfile:1
# The project's image, used twice: the webhook (`sigv4-injector serve`, as UID 65532) and the
# injected iptables-init container (`/bin/sh -c SCRIPT`, as root with NET_ADMIN and NET_RAW
# only), which is why it carries a shell and iptables with both backends.
#
#   docker build -t ghcr.io/sigv4-injector/sigv4-injector:0.1.0 .
#
# Not built in this repository's CI (no container engine there): see docs/image.md.

# Build on the Debian release the project is developed and tested on, with the same -dev
# packages as scripts/deps.sh, so the image runs the code the tests ran.
FROM debian:bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      cmake g++ make \
      nlohmann-json3-dev libyaml-cpp-dev libspdlog-dev libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY webhook/ webhook/
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DSIGV4_TESTS=OFF \
 && cmake --build build -j "$(nproc)" \
 && strip build/sigv4-injector
# Collect the shared libraries the binary needs beyond glibc (which the runtime image has):
# yaml-cpp, spdlog, fmt, OpenSSL, libstdc++, libgcc_s, all from the same bookworm as the runtime.
RUN mkdir -p /out/bin /out/lib \
 && cp build/sigv4-injector /out/bin/ \
 && ldd build/sigv4-injector | awk '$3 ~ /^\// { print $3 }' \
    | grep -Ev '/(libc|libm|libpthread|libdl|librt)\.so' \
    | xargs -I{} cp -L {} /out/lib/ \
 && LD_LIBRARY_PATH=/out/lib /out/bin/sigv4-injector version

# bookworm-slim rather than distroless: the init container needs /bin/sh and iptables. Debian's
# iptables package brings both backends, iptables-legacy and iptables-nft (and ip6tables-*); the
# init script picks the one the node uses. No recommends: the nft CLI is not needed.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends iptables \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/lib/ /usr/local/lib/sigv4-injector/
COPY --from=build /out/bin/sigv4-injector /usr/local/bin/sigv4-injector
ENV LD_LIBRARY_PATH=/usr/local/lib/sigv4-injector
# LD_LIBRARY_PATH reaches the init container's programs too: check, with it set, that none of
# them (sh, grep, both iptables backends and their extensions) loads a library of the bundle,
# that each backend runs, and that the binary runs.
RUN ! ldd /bin/sh /bin/grep /usr/sbin/xtables-legacy-multi /usr/sbin/xtables-nft-multi \
        /usr/lib/*/xtables/*.so | grep -F /usr/local/lib/sigv4-injector/ \
 && for ipt in iptables-legacy iptables-nft ip6tables-legacy ip6tables-nft; do \
      "$ipt" --version || exit 1; \
    done \
 && sigv4-injector version
# The webhook runs as 65532 (the chart's runAsUser too); the injected init container overrides it
# with runAsUser: 0 in its securityContext.
USER 65532:65532
EXPOSE 8443 9090
ENTRYPOINT ["/usr/local/bin/sigv4-injector"]
CMD ["serve"]
