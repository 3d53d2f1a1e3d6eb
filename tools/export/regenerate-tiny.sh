#!/usr/bin/env bash
# Regenerates test/fixtures/zimage-tiny (the committed tiny model + diffusers reference tensors).
# Needs PyPI; the venv is cached under ~/.cache/zimage-operator/venv-export.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv="${ZIMAGE_CACHE_DIR:-$HOME/.cache/zimage-operator}/venv-export"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q -r tools/export/requirements.txt
"$venv/bin/python" tools/export/export_zimage.py --tiny --out test/fixtures/zimage-tiny
