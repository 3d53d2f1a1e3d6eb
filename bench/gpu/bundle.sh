#!/usr/bin/env bash
# Bundles the GPU run into .gpubundle/ (git-ignored), with the tiny model and the wheels the
# GPU host lacks for a full-width export (diffusers, onnxscript, onnx-ir: pure Python).
# Then: ../shared/gpu/pack-for-device.sh, and a device run with carry [".device", ".gpubundle"].
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.gpubundle
rm -rf "$out" && mkdir -p "$out/wheels"
grep -qx "/$out/" .git/info/exclude 2>/dev/null || echo "/$out/" >> .git/info/exclude
npx esbuild bench/gpu/runtime-gpu.ts --bundle --platform=node --format=cjs --target=node22 \
  --external:onnxruntime-node --outfile="$out/runtime-gpu.cjs" --log-level=warning
# The tiny model and the exporter travel with the working tree (test/fixtures, tools/export).
pip download -q --no-deps -d "$out/wheels" diffusers==0.42.1 onnxscript==0.7.2 onnx-ir==1.1.0 \
  importlib-metadata zipp 2>/dev/null || true
du -sh "$out"
