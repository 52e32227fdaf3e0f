# syntax=docker/dockerfile:1
# The webhook image: the sigv4-injector binary on distroless, as UID 65532, nothing else.
#
#   docker build -t ghcr.io/sigv4-injector/sigv4-injector:0.1.0 .
#
# Not built in this repository's CI (no container engine there): see docs/image.md.

# Build on the Debian release the project is developed and tested on, with the same -dev
# packages as scripts/deps.sh, so the image runs the code the tests ran.
FROM debian:bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      cmake pkg-config g++ make \
      libcpp-httplib-dev nlohmann-json3-dev libyaml-cpp-dev libspdlog-dev libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY webhook/ webhook/
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DSIGV4_TESTS=OFF \
 && cmake --build build -j "$(nproc)" \
 && strip build/sigv4-injector
# Collect the shared libraries the binary needs beyond glibc (which the runtime image has):
# yaml-cpp, spdlog, fmt, cpp-httplib, OpenSSL, zlib, brotli, libstdc++, libgcc_s, all from the
# same bookworm as the runtime.
RUN mkdir -p /out/bin /out/lib \
 && cp build/sigv4-injector /out/bin/ \
 && ldd build/sigv4-injector | awk '$3 ~ /^\// { print $3 }' \
    | grep -Ev '/(libc|libm|libpthread|libdl|librt)\.so' \
    | xargs -I{} cp -L {} /out/lib/ \
 && LD_LIBRARY_PATH=/out/lib /out/bin/sigv4-injector version

# distroless/cc: glibc, libstdc++, CA certificates and /etc/passwd with nonroot (65532); no shell,
# no package manager.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/lib/ /usr/local/lib/sigv4-injector/
COPY --from=build /out/bin/sigv4-injector /usr/local/bin/sigv4-injector
ENV LD_LIBRARY_PATH=/usr/local/lib/sigv4-injector
USER 65532:65532
EXPOSE 8443 9090
ENTRYPOINT ["/usr/local/bin/sigv4-injector"]
CMD ["serve"]
