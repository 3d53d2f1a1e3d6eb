# syntax=docker/dockerfile:1.7
# The Z-Image runtime image on ONNX Runtime's CPU EP (no GPU; the local fleet and CI use it with
# the tiny model): Node 26, onnxruntime-node with only its Linux x64 binaries.
#
#   docker build -f deploy/images/runtime-cpu.Dockerfile -t zimage-runtime:dev-cpu .
#
# The same image without a Docker engine or a pulled base: `npm run images:build -- runtime-cpu`
# (docs/images.md); test/unit/images.test.ts keeps the two equivalent.
ARG NODE_BUILD=node:26.10.0-bookworm-slim

FROM ${NODE_BUILD} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN ONNXRUNTIME_NODE_INSTALL=skip npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 # Only the Linux x64 binaries of onnxruntime-node (as dev/images builds it): 288 MB -> ~40 MB.
 && find node_modules/onnxruntime-node/bin/napi-v6 -mindepth 1 -maxdepth 1 ! -name linux -exec rm -rf {} + \
 && find node_modules/onnxruntime-node/bin/napi-v6/linux -mindepth 1 -maxdepth 1 ! -name x64 -exec rm -rf {} +
COPY src/contract src/contract
COPY src/formats src/formats
COPY src/image-api src/image-api
COPY src/runtime src/runtime

FROM ${NODE_BUILD}
COPY --from=build --chown=0:0 /app /app
WORKDIR /app
# 65532 = runtimeUid in src/contract/runtime.ts; read-only root, /tmp and /var/cache/zimage
# writable (emptyDirs in the pod), /models the read-only model volume.
RUN mkdir -p /models /var/cache/zimage && chown 65532:65532 /var/cache/zimage
USER 65532:65532
ENV NODE_ENV=production \
    ZIMAGE_MODEL_DIR=/models \
    ZIMAGE_EXECUTION_PROVIDER=cpu \
    ZIMAGE_PORT=8080
EXPOSE 8080
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/node", "src/runtime/main.ts"]
