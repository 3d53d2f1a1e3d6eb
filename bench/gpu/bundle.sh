#!/usr/bin/env bash
# Prepares .gpubundle/ (git-ignored) for a run on the lent GPU host, which has no Node and no
# network: the production node_modules without onnxruntime-node, xz'd (~6 MB), and the Python
# wheels the host lacks for a full-width export (diffusers, onnxscript, onnx-ir: pure Python).
# The source tree travels as it is; Node 26 runs the .ts files directly.
# The run also needs .device/, which this repository does not make: an xz'd Node 26 binary, the
# Linux x64 part of onnxruntime-node (+ onnxruntime-common), the Vulkan/GL loader .debs the WebGPU
# EP uses, and a .device/unpack.sh that unpacks them to /tmp/zdev and writes /tmp/zdev/env (the GPU
# host's packing script makes it). Then a device run with carry [".device", ".gpubundle"] whose
# command starts with `bash bench/gpu/on-device.sh`.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.gpubundle
rm -rf "$out" && mkdir -p "$out"
grep -qx "/$out/" .git/info/exclude 2>/dev/null || echo "/$out/" >> .git/info/exclude
tmp=$(mktemp -d)
cp package.json package-lock.json "$tmp/"
(cd "$tmp" && ONNXRUNTIME_NODE_INSTALL=skip npm ci --omit=dev --ignore-scripts --no-audit --no-fund >/dev/null \
  && rm -rf node_modules/onnxruntime-node node_modules/onnxruntime-common)
tar -C "$tmp" -cJf "$out/node_modules.tar.xz" node_modules
rm -rf "$tmp"
# Unpacked and xz'd: 2.4 MB instead of 7.3 MB of wheels (the device's carry limit is 64 MiB,
# of which .device takes 43).
wheels=$(mktemp -d) && pyx=$(mktemp -d)
pip download -q --no-deps -d "$wheels" diffusers==0.42.1 onnxscript==0.7.2 onnx-ir==1.1.0
for w in "$wheels"/*.whl; do (cd "$pyx" && unzip -q -o "$w"); done
tar -C "$pyx" -cJf "$out/pyx.tar.xz" .
rm -rf "$wheels" "$pyx"
du -sh "$out"
