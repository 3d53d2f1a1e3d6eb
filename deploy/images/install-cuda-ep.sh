#!/usr/bin/env bash
# Installs ONNX Runtime's CUDA execution provider for CUDA 13 beside onnxruntime-node's binding,
# without NuGet: onnxruntime-node ships only the CPU and WebGPU EPs, and its own installer
# fetches a CUDA 12 build from NuGet. PyPI's onnxruntime-gpu wheel of the SAME version (1.29 and
# later are built for CUDA 13) carries libonnxruntime_providers_cuda.so and
# libonnxruntime_providers_shared.so, which the binding's libonnxruntime.so.1 loads from its own
# folder. Seen working on an H200 with 1.30.0 of both (../shared/gpu/README.md in the project's
# shared docs; docs/performance.md).
#
# Usage: install-cuda-ep.sh [--node-modules DIR] [--wheel FILE] [--dry-run]
#   --node-modules DIR  where onnxruntime-node is installed (default ./node_modules)
#   --wheel FILE        use this onnxruntime-gpu wheel instead of downloading it (offline builds)
#   --dry-run           print the version, the pip command and the target, change nothing
# Needs python3 with pip (download) and its zipfile module (extraction); runs in the runtime
# image's build (deploy/images/runtime-cuda13.Dockerfile) and in the unit tests (--wheel, --dry-run).
set -euo pipefail

node_modules=node_modules
wheel=
dry_run=0
while [ $# -gt 0 ]; do
  case "$1" in
    --node-modules) node_modules=${2:?--node-modules needs a directory}; shift 2 ;;
    --wheel) wheel=${2:?--wheel needs a file}; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    *) echo "install-cuda-ep.sh: unknown argument '$1' (see the usage at the top of the script)" >&2; exit 2 ;;
  esac
done

pkg="$node_modules/onnxruntime-node/package.json"
[ -f "$pkg" ] || { echo "install-cuda-ep.sh: $pkg not found: install onnxruntime-node first (npm ci)" >&2; exit 1; }
version=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$pkg")
case "$version" in
  [0-9]*.[0-9]*.[0-9]*) ;;
  *) echo "install-cuda-ep.sh: $pkg: version '$version' is not MAJOR.MINOR.PATCH" >&2; exit 1 ;;
esac
major=${version%%.*}; rest=${version#*.}; minor=${rest%%.*}
if [ "$major" -lt 1 ] || { [ "$major" -eq 1 ] && [ "$minor" -lt 29 ]; }; then
  echo "install-cuda-ep.sh: onnxruntime-node $version: PyPI's onnxruntime-gpu before 1.29 is built for CUDA 12;" \
    "use deploy/images/runtime.Dockerfile (CUDA 12, NuGet) or onnxruntime-node >= 1.29" >&2
  exit 1
fi

case "$(uname -m)" in
  x86_64) arch=x64; platforms="manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64" ;;
  *) echo "install-cuda-ep.sh: $(uname -m): only x86_64 has onnxruntime-gpu wheels with the CUDA EP" >&2; exit 1 ;;
esac
target="$node_modules/onnxruntime-node/bin/napi-v6/linux/$arch"
[ -e "$target/libonnxruntime.so.1" ] || { echo "install-cuda-ep.sh: $target/libonnxruntime.so.1 missing: not a Linux onnxruntime-node install" >&2; exit 1; }

pip_args=(download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp)
for p in $platforms; do pip_args+=(--platform "$p"); done
pip_args+=("onnxruntime-gpu==$version")

if [ "$dry_run" = 1 ]; then
  echo "onnxruntime-node $version"
  echo "wheel: ${wheel:-python3 -m pip ${pip_args[*]}}"
  echo "target: $target"
  exit 0
fi

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
if [ -z "$wheel" ]; then
  python3 -m pip -q "${pip_args[@]}" -d "$tmp"
  wheel=$(ls "$tmp"/onnxruntime_gpu-*.whl)
fi
# The wheel must be the binding's version: a provider from another ORT version fails to load
# (or worse, loads and crashes) against libonnxruntime.so.1.
python3 - "$wheel" "$version" "$target" <<'EOF'
import hashlib, json, sys, zipfile
wheel, version, target = sys.argv[1:]
names = {"libonnxruntime_providers_cuda.so", "libonnxruntime_providers_shared.so"}
with zipfile.ZipFile(wheel) as z:
    meta = next((n for n in z.namelist() if n.endswith(".dist-info/METADATA")), None)
    fields = dict(l.split(": ", 1) for l in z.read(meta).decode().splitlines() if ": " in l) if meta else {}
    if fields.get("Name") != "onnxruntime-gpu" or fields.get("Version") != version:
        sys.exit(f"install-cuda-ep.sh: {wheel} is {fields.get('Name')} {fields.get('Version')}, not onnxruntime-gpu {version}")
    found = {n.rsplit("/", 1)[-1]: n for n in z.namelist() if n.startswith("onnxruntime/capi/") and n.rsplit("/", 1)[-1] in names}
    if set(found) != names:
        sys.exit(f"install-cuda-ep.sh: {wheel} lacks {sorted(names - set(found))}")
    digests = {}
    for name, member in found.items():
        data = z.read(member)
        with open(f"{target}/{name}", "wb") as f:
            f.write(data)
        digests[name] = hashlib.sha256(data).hexdigest()
with open(f"{target}/cuda-ep.json", "w") as f:
    json.dump({"onnxruntime-gpu": version, "sha256": digests}, f, indent=2)
print(f"CUDA EP {version} installed in {target}")
EOF
