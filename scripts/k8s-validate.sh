#!/usr/bin/env bash
# Renders every overlay of deployment/kubernetes/ with `kubectl kustomize` and
# validates the result against the Kubernetes schemas, strictly (unknown
# fields are errors), offline:
#
#   bash scripts/k8s-validate.sh                 # every overlay
#   bash scripts/k8s-validate.sh --out DIR       # and keep DIR/<overlay>.yaml
#
# The overlays read their credentials from secrets/*.env files that users
# write and nobody commits; the render here runs on a copy of the tree in which
# each missing secrets/<name>.env is its <name>.env.example, so the placeholders
# are validated too. The repository's files are never written.
#
# Tools: kubectl from Debian's package (installed through apt when missing, as
# scripts/nginx.sh installs nginx; its kustomize renders without a cluster),
# and kubernetes-validate from requirements-k8s.txt in .venv-k8s/
# (scripts/python-env.sh k8s). test/kubernetes-manifests.int-spec.ts runs this
# and then checks what schemas cannot (probe paths, ports, the drain, keys).
#
# Environment (optional):
#   K8S_VERSION   the Kubernetes version to validate against [1.32.0]: the
#                 oldest the manifests are for (preStop `sleep` needs 1.30+);
#                 Debian's kubectl is 1.32
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
K8S_VERSION=${K8S_VERSION:-1.32.0}
out=

log() { printf '[k8s-validate] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=${2:?--out needs a directory}; shift 2 ;;
    *) die "unknown argument $1 (--out DIR)" ;;
  esac
done

if ! command -v kubectl >/dev/null; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  log "installing kubectl (Debian's package)"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends kubectl >/dev/null
fi

python=$(bash "$repo/scripts/python-env.sh" k8s)
validate=${python%/python}/kubernetes-validate
[ -x "$validate" ] || die "no kubernetes-validate in ${python%/bin/python}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -R "$repo/deployment/kubernetes" "$work/"
[ -n "$out" ] && mkdir -p "$out"

overlays=("$work"/kubernetes/overlays/*/)
[ -d "${overlays[0]}" ] || die "no overlay under deployment/kubernetes/overlays/"

failed=0
for overlay in "${overlays[@]}"; do
  name=$(basename "$overlay")
  for example in "$overlay"secrets/*.example; do
    [ -e "$example" ] || continue
    [ -e "${example%.example}" ] || cp "$example" "${example%.example}"
  done
  rendered=$work/$name.yaml
  if ! kubectl kustomize "$overlay" >"$rendered"; then
    log "overlay $name: kubectl kustomize failed"
    failed=1
    continue
  fi
  if "$validate" --strict --quiet -k "$K8S_VERSION" "$rendered" >&2; then
    log "overlay $name: $(grep -c '^kind:' "$rendered") resources valid for Kubernetes $K8S_VERSION (strict)"
  else
    log "overlay $name: invalid for Kubernetes $K8S_VERSION (above)"
    failed=1
  fi
  [ -n "$out" ] && cp "$rendered" "$out/$name.yaml"
done
exit "$failed"
