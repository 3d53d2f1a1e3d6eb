# syntax=docker/dockerfile:1.7
# The operator image: Node 26 (LTS) running the TypeScript sources directly (type stripping),
# production dependencies only; onnxruntime-node is not needed by the operator, so its install
# script (a NuGet download) is skipped.
#
#   docker build -f deploy/images/operator.Dockerfile -t zimage-operator:dev .
ARG NODE_BUILD=node:26.10.0-bookworm-slim

FROM ${NODE_BUILD} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN ONNXRUNTIME_NODE_INSTALL=skip npm ci --omit=dev --no-audit --no-fund
COPY src/contract src/contract
COPY src/operator src/operator

FROM ${NODE_BUILD}
COPY --from=build /app /app
WORKDIR /app
# Non-root (the Deployment also sets runAsNonRoot and a read-only root filesystem).
USER 65532:65532
ENV NODE_ENV=production
EXPOSE 8081
ENTRYPOINT ["node", "src/operator/main.ts"]
