#!/usr/bin/env bash
# Builds the MLflow, Airflow and PostgreSQL images the integration tests and
# the compose files start, with podman (see notes/container-engine.md), and
# writes their names to .images.env at the repository root:
#
#   MODELGATE_MLFLOW_IMAGE=localhost/modelgate-mlflow:<hash>
#   MODELGATE_AIRFLOW_IMAGE=localhost/modelgate-airflow:<hash>
#   MODELGATE_POSTGRES_IMAGE=localhost/modelgate-postgres:<hash>
#
# <hash> is a content hash of the image's directory plus the base image ID, so
# an unchanged directory reuses the image already built (the build is skipped)
# and any change gets a new tag. Each image is also tagged :latest.
#
# Environment (all optional):
#   BASE_IMAGE      base for both images [localhost/modelgate-base:bookworm,
#                   made by scripts/container-engine.sh]
#   HOST_CA_BUNDLE  CA bundle mounted into the builds for pip
#                   [/etc/ssl/certs/ca-certificates.crt]; the base image's own CA
#                   list does not trust these machines' TLS path to PyPI
#   MODELGATE_IMAGES_ENV  the file to write [<repo>/.images.env]; the tests and
#                   scripts/quickstart.sh read the same variable
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BASE_IMAGE=${BASE_IMAGE:-localhost/modelgate-base:bookworm}
HOST_CA_BUNDLE=${HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
IMAGES_ENV=${MODELGATE_IMAGES_ENV:-$repo/.images.env}
# name:directory of the repo with its Dockerfile
IMAGES=(mlflow:mlflow airflow:airflow postgres:deployment/postgres)

log() { printf '[build-images] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Idempotent and quick when the engine and base image are already there.
BASE_IMAGE=$BASE_IMAGE "$repo/scripts/container-engine.sh" >/dev/null \
  || die "scripts/container-engine.sh failed"

base_id=$(podman image inspect --format '{{.Id}}' "$BASE_IMAGE") \
  || die "base image $BASE_IMAGE not found"

# 12 hex digits of sha256 over every file's path and content (bytecode
# excluded) and the base image ID.
content_hash() {
  {
    (cd "$repo/$1" && find . -type f ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 \
      | LC_ALL=C sort -z | xargs -0 sha256sum)
    echo "$base_id"
  } | sha256sum | cut -c1-12
}

build_args=(--format docker --build-arg "BASE_IMAGE=$BASE_IMAGE")
if [ -f "$HOST_CA_BUNDLE" ]; then
  build_args+=(--build-arg "PIP_CERT=/etc/ssl/certs/ca-certificates.crt"
               -v "$HOST_CA_BUNDLE:/etc/ssl/certs/ca-certificates.crt:ro")
fi

env_lines=()
built=()
for entry in "${IMAGES[@]}"; do
  name=${entry%%:*} dir=${entry#*:}
  image="localhost/modelgate-$name:$(content_hash "$dir")"
  if podman image exists "$image"; then
    log "$image is up to date"
  else
    log "building $image"
    started=$(date +%s)
    podman build "${build_args[@]}" -t "$image" "$repo/$dir" \
      || die "podman build of $name failed"
    log "built $image in $(( $(date +%s) - started )) s"
  fi
  podman tag "$image" "localhost/modelgate-$name:latest"
  var="MODELGATE_$(tr '[:lower:]' '[:upper:]' <<<"$name")_IMAGE"
  env_lines+=("$var=$image")
  built+=("$image")
done

printf '%s\n' "${env_lines[@]}" >"$IMAGES_ENV"
log "wrote $IMAGES_ENV"
for image in "${built[@]}"; do
  podman image inspect --format "$image {{.Size}}" "$image" \
    | awk '{ printf "%s  %.0f MB\n", $1, $2 / 1e6 }'
done
