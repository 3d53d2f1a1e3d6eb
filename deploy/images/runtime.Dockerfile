# syntax=docker/dockerfile:1.7
# The Z-Image runtime image: CUDA 12 + cuDNN 9 runtime, Node 26 (LTS), onnxruntime-node with its
# CUDA EP (installed at build time: the npm package carries only the CPU and WebGPU EPs; its
# install script fetches Microsoft.ML.OnnxRuntime.Gpu.Linux from NuGet for CUDA 12 + cuDNN 9).
#
#   docker build -f deploy/images/runtime.Dockerfile -t zimage-runtime:dev .
#
# The base digest was copied from a public Dockerfile (nvidia/cuda 12.9.2 cudnn runtime, ubuntu
# 24.04); it could not be checked against the registry from our build hosts. Check it with
# `docker buildx imagetools inspect nvidia/cuda:12.9.2-cudnn-runtime-ubuntu24.04` before a release.
ARG CUDA_BASE=nvidia/cuda:12.9.2-cudnn-runtime-ubuntu24.04@sha256:070f8f2672df1b05b84c0409a5fd1d54ddfd646e5b9d8dee7878131271b563fc
ARG NODE_BUILD=node:26.10.0-bookworm-slim

FROM ${NODE_BUILD} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Our package.json holds onnxruntime-node's install script back (CI has no NuGet); run it here,
# on purpose, with the CUDA 12 flavour.
RUN npm ci --omit=dev --no-audit --no-fund \
 && cd node_modules/onnxruntime-node \
 && ONNXRUNTIME_NODE_INSTALL=cuda12 node ./script/install \
 && test -e bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so \
 && cd /app \
 # Only the Linux x64 binaries of onnxruntime-node (as dev/images builds it): 288 MB -> ~40 MB.
 && find node_modules/onnxruntime-node/bin/napi-v6 -mindepth 1 -maxdepth 1 ! -name linux -exec rm -rf {} + \
 && find node_modules/onnxruntime-node/bin/napi-v6/linux -mindepth 1 -maxdepth 1 ! -name x64 -exec rm -rf {} +
COPY src/contract src/contract
COPY src/formats src/formats
COPY src/image-api src/image-api
COPY src/runtime src/runtime

FROM ${CUDA_BASE}
# The Node binary the build stage ran with: one Node for build and run, no apt repository.
COPY --from=build /usr/local/bin/node /usr/local/bin/node
COPY --from=build --chown=0:0 /app /app
WORKDIR /app
# 65532 = runtimeUid in src/contract/runtime.ts (distroless "nonroot"); the pod's
# securityContext sets the same and a read-only root filesystem, with /tmp and
# /var/cache/zimage as emptyDirs and /models as the read-only model volume.
RUN groupadd -g 65532 nonroot && useradd -u 65532 -g 65532 -M -s /usr/sbin/nologin nonroot \
 && mkdir -p /models /var/cache/zimage && chown 65532:65532 /var/cache/zimage
USER 65532:65532
ENV NODE_ENV=production \
    ZIMAGE_MODEL_DIR=/models \
    ZIMAGE_EXECUTION_PROVIDER=cuda \
    ZIMAGE_PORT=8080
EXPOSE 8080
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/node", "src/runtime/main.ts"]
