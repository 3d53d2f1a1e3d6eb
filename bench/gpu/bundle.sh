#!/usr/bin/env bash
# Prepares .gpubundle/ (git-ignored) for a run on the lent GPU host, which has no Node and no
# network: the production node_modules without onnxruntime-node (the host gets that from
# ../shared/gpu/pack-for-device.sh's .device/), xz'd (~6 MB), and the Python wheels the host
# lacks for a full-width export (diffusers, onnxscript, onnx-ir: pure Python). The source tree
# travels as it is; Node 26 runs the .ts files directly.
# Then: ../shared/gpu/pack-for-device.sh, and a device run with carry [".device", ".gpubundle"]
# whose command starts with `bash bench/gpu/on-device.sh`.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.gpubundle
rm -rf "$out" && mkdir -p "$out"
git check-ignore -q "$out" || { echo "$out must be git-ignored (.gitignore)" >&2; exit 1; }
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
