#!/usr/bin/env bash
# The API image the cluster compose test (test/cluster-compose.e2e-spec.ts)
# starts: deployment/Dockerfile's slim target, tagged with a content hash of
# what its runtime depends on, and prints that name on stdout:
#
#   localhost/modelgate-api:slim-<hash>
#
# <hash>: 12 hex digits of sha256 over package.json, package-lock.json, .npmrc,
# deployment/Dockerfile, its .dockerignore and the base image ID. The image's
# node_modules (npm ci) are what that hash covers; the code under test is not:
# the test mounts the checkout's dist/ (npm run build) over the image's, so an
# edit of src/ never rebuilds the image. An unchanged hash reuses the image
# (seconds); a changed lockfile or Dockerfile builds it once (scripts/
# build-api-image.sh --slim: npm ci ~4 min cold, then the compile; ~5-8 min on
# a busy 2-core machine). Same shape as scripts/build-images.sh.
#
# Environment (optional): BASE_IMAGE [localhost/modelgate-base:bookworm], and
# whatever scripts/build-api-image.sh reads.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BASE_IMAGE=${BASE_IMAGE:-localhost/modelgate-base:bookworm}
log() { printf '[cluster-test-image] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

BASE_IMAGE=$BASE_IMAGE "$repo/scripts/container-engine.sh" >/dev/null \
  || die "scripts/container-engine.sh failed"
base_id=$(podman image inspect --format '{{.Id}}' "$BASE_IMAGE") \
  || die "base image $BASE_IMAGE not found"

hash=$(
  {
    (cd "$repo" && sha256sum package.json package-lock.json .npmrc \
      deployment/Dockerfile deployment/Dockerfile.dockerignore)
    echo "$base_id"
  } | sha256sum | cut -c1-12
)
image=localhost/modelgate-api:slim-$hash
if podman image exists "$image"; then
  log "$image is up to date"
else
  log "building $image"
  API_IMAGE=$image BASE_IMAGE=$BASE_IMAGE bash "$repo/scripts/build-api-image.sh" --slim >/dev/null \
    || die "scripts/build-api-image.sh --slim failed"
fi
echo "$image"
