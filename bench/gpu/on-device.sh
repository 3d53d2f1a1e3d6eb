#!/usr/bin/env bash
# On the GPU host, from the project root: unpack Node + onnxruntime-node (.device) and the
# production node_modules (.gpubundle), so `node bench/gpu/*.ts` and `node src/runtime/main.ts`
# run from the source tree. Then source /tmp/zdev/env.
set -euo pipefail
bash .device/unpack.sh >/dev/null 2>&1
rm -rf node_modules && tar -xJf .gpubundle/node_modules.tar.xz
ln -sfn /tmp/zdev/node_modules/onnxruntime-node node_modules/onnxruntime-node
ln -sfn /tmp/zdev/node_modules/onnxruntime-common node_modules/onnxruntime-common
mkdir -p /tmp/pyx && tar -C /tmp/pyx -xJf .gpubundle/pyx.tar.xz   # PYTHONPATH=/tmp/pyx for the exporter
