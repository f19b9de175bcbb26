#!/usr/bin/env bash
# Images of the cluster compose file (deployment/compose/cluster.yml) that
# scripts/build-images.sh does not make, built with podman under
# content-hashed tags (the shape of build-images.sh: an unchanged input
# reuses its image in seconds, any change builds a new tag once). Prints the
# compose file's variables on stdout:
#
#   MODELGATE_REDIS_IMAGE=localhost/modelgate-redis:<hash>   deployment/redis/
#   MODELGATE_NGINX_IMAGE=localhost/modelgate-nginx:<hash>   deployment/nginx/
#   MODELGATE_API_IMAGE=localhost/modelgate-api:slim-<hash>  with --api-slim only
#
# <hash>: 12 hex digits of sha256 over the directory's files (redis, nginx),
# or over package.json, package-lock.json, .npmrc, deployment/Dockerfile and
# its .dockerignore (the API), each with the base image ID. Redis and nginx:
# apt installs, ~30 s each on a cold machine.
#
# --api-slim: deployment/Dockerfile's slim target for the cluster compose test
# (test/cluster-compose.e2e-spec.ts). Its hash covers what npm ci installs,
# not src/: the test mounts the checkout's dist/ (npm run build) over the
# image's, so editing the code never rebuilds the image. A changed lockfile
# or Dockerfile builds it once (scripts/build-api-image.sh --slim: ~7 min on a
# busy 2-core machine, npm ci most of it). The quick start (--cluster) uses
# the full image of scripts/build-api-image.sh instead, code included.
#
# Environment (optional): BASE_IMAGE [localhost/modelgate-base:bookworm], and
# what scripts/build-api-image.sh reads.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BASE_IMAGE=${BASE_IMAGE:-localhost/modelgate-base:bookworm}
api_slim=false
case "${1:-}" in
  '') ;;
  --api-slim) api_slim=true ;;
  *) printf '[cluster-images] ERROR: unknown option %s (only --api-slim)\n' "$1" >&2; exit 2 ;;
esac
log() { printf '[cluster-images] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

BASE_IMAGE=$BASE_IMAGE "$repo/scripts/container-engine.sh" >/dev/null \
  || die "scripts/container-engine.sh failed"
base_id=$(podman image inspect --format '{{.Id}}' "$BASE_IMAGE") \
  || die "base image $BASE_IMAGE not found"

# hash_of FILE...: 12 hex digits over the files (paths relative to the repo) and the base.
hash_of() {
  { (cd "$repo" && sha256sum "$@"); echo "$base_id"; } | sha256sum | cut -c1-12
}
dir_files() {
  (cd "$repo" && find "$1" -type f -print0 | LC_ALL=C sort -z | xargs -0 printf '%s\n')
}

for name in redis nginx; do
  mapfile -t files < <(dir_files "deployment/$name")
  image=localhost/modelgate-$name:$(hash_of "${files[@]}")
  if podman image exists "$image"; then
    log "$image is up to date"
  else
    log "building $image"
    podman build --format docker --build-arg "BASE_IMAGE=$BASE_IMAGE" -t "$image" \
      "$repo/deployment/$name" >&2 || die "podman build of deployment/$name failed"
  fi
  echo "MODELGATE_$(tr '[:lower:]' '[:upper:]' <<<"$name")_IMAGE=$image"
done

if $api_slim; then
  image=localhost/modelgate-api:slim-$(hash_of package.json package-lock.json .npmrc \
    deployment/Dockerfile deployment/Dockerfile.dockerignore)
  if podman image exists "$image"; then
    log "$image is up to date"
  else
    log "building $image"
    API_IMAGE=$image BASE_IMAGE=$BASE_IMAGE bash "$repo/scripts/build-api-image.sh" --slim >/dev/null \
      || die "scripts/build-api-image.sh --slim failed"
  fi
  echo "MODELGATE_API_IMAGE=$image"
fi
