#!/usr/bin/env bash
# Regenerate this wrapper's go.mod/go.sum for another Kubernetes release:
#   KV=v1.37.2 tools/go/kubernetes/update.sh
# k8s.io/kubernetes requires its staging modules (k8s.io/api, k8s.io/client-go, ...) at
# v0.0.0 and replaces them with ./staging/src/... paths that exist only in its own repo; each
# is replaced here with the published release of the same minor (v1.37.2 -> v0.37.2).
# Then update goTools.kubernetes in dev/tools.ts (a unit test checks they agree).
set -euo pipefail
cd "$(dirname "$0")"
KV=${KV:-v1.37.2}
SV="v0.${KV#v1.}"
export GOTOOLCHAIN=go1.26.8 GOFLAGS=-mod=mod
upstream=$(mktemp)
trap 'rm -f "$upstream"' EXIT
go mod download -json "k8s.io/kubernetes@$KV" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p' | xargs cat > "$upstream"
go_line=$(grep -m1 '^go ' "$upstream")
godebug_line=$(grep -m1 '^godebug ' "$upstream" || true)
{
  echo "// Wrapper module: builds the Kubernetes control plane from the Go module proxy."
  echo "// k8s.io/kubernetes requires its staging modules at v0.0.0 and points them at ./staging"
  echo "// with replace lines, which only work inside its own repo; here each one is replaced by"
  echo "// its published $SV release. Regenerate with tools/go/kubernetes/update.sh."
  echo "module zimage.dev/tools/kubernetes"
  echo
  echo "$go_line"
  echo
  [ -n "$godebug_line" ] && printf '%s\n\n' "$godebug_line"
  echo "require k8s.io/kubernetes $KV"
  echo
  echo "replace ("
  sed -n '/^replace (/,/^)/p' "$upstream" | awk -v sv="$SV" '/=>/ {print "\t" $1 " => " $1 " " sv}'
  echo ")"
} > go.mod
rm -f go.sum
go get -tool k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
echo "updated to k8s.io/kubernetes $KV (staging $SV)"
