# syntax=docker/dockerfile:1.7
# The operator image: Node 26 (LTS) running the TypeScript sources directly (type stripping),
# production dependencies only; onnxruntime-node is not needed by the operator, so its install
# script (a NuGet download) is skipped.
#
#   docker build -f deploy/images/operator.Dockerfile -t zimage-operator:dev .
#
# The same image without a Docker engine or a pulled base: `npm run images:build -- operator`
# (dev/images: buildah from scratch on a Debian base made by mmdebstrap; docs/images.md). Keep
# the two equivalent: same files under /app, user 65532, entrypoint, env
# (test/unit/images.test.ts compares them).
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
COPY src/operator src/operator
COPY src/image-api src/image-api
COPY src/router src/router

FROM ${NODE_BUILD}
COPY --from=build /app /app
WORKDIR /app
# Non-root (the Deployment also sets runAsNonRoot and a read-only root filesystem).
USER 65532:65532
ENV NODE_ENV=production
EXPOSE 8081
ENTRYPOINT ["/usr/local/bin/node", "src/operator/main.ts"]
