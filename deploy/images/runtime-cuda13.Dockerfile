# syntax=docker/dockerfile:1.7
# The Z-Image runtime image for CUDA 13 (driver 580 or later; H100/H200, Blackwell): CUDA 13 +
# cuDNN 9 runtime, Node 26, onnxruntime-node with ONNX Runtime's CUDA EP taken from PyPI's
# onnxruntime-gpu wheel of the same version (install-cuda-ep.sh), no NuGet. This is the image
# measured on an H200 (docs/performance.md); runtime.Dockerfile is the CUDA 12 one (NuGet).
#
#   docker build -f deploy/images/runtime-cuda13.Dockerfile -t zimage-runtime:cuda13 .
#
# The base digest was copied from a public Dockerfile that names it the linux/amd64 manifest of
# nvidia/cuda:13.0.3-cudnn-runtime-ubuntu24.04; it could NOT be checked against the registry from
# our build hosts (no registry access). Check it before a release with
# `docker buildx imagetools inspect nvidia/cuda:13.0.3-cudnn-runtime-ubuntu24.04`.
ARG CUDA_BASE=nvidia/cuda:13.0.3-cudnn-runtime-ubuntu24.04@sha256:af851538a2bb05f587f27b660d61de3643d964e75ef5c04f4086ff2b36f2a12a
ARG NODE_BUILD=node:26.10.0-bookworm-slim
ARG PYTHON_BUILD=python:3.12-slim-bookworm

FROM ${NODE_BUILD} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No NuGet download: the CUDA EP comes from PyPI in the next stage.
RUN ONNXRUNTIME_NODE_INSTALL=skip npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 # Only the Linux x64 binaries of onnxruntime-node (as dev/images builds it): 288 MB -> ~40 MB.
 && find node_modules/onnxruntime-node/bin/napi-v6 -mindepth 1 -maxdepth 1 ! -name linux -exec rm -rf {} + \
 && find node_modules/onnxruntime-node/bin/napi-v6/linux -mindepth 1 -maxdepth 1 ! -name x64 -exec rm -rf {} +
COPY src/contract src/contract
COPY src/formats src/formats
COPY src/image-api src/image-api
COPY src/runtime src/runtime

FROM ${PYTHON_BUILD} AS cuda-ep
COPY deploy/images/install-cuda-ep.sh /install-cuda-ep.sh
COPY --from=build /app/node_modules/onnxruntime-node /app/node_modules/onnxruntime-node
RUN bash /install-cuda-ep.sh --node-modules /app/node_modules

FROM ${CUDA_BASE}
COPY --from=build /usr/local/bin/node /usr/local/bin/node
COPY --from=build --chown=0:0 /app /app
# The two provider libraries (and cuda-ep.json: version and checksums) beside the binding.
COPY --from=cuda-ep /app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/ /app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/
WORKDIR /app
# 65532 = runtimeUid in src/contract/runtime.ts; the pod's securityContext sets the same and a
# read-only root filesystem, with /tmp and /var/cache/zimage as emptyDirs, /models read-only.
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
