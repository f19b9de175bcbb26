#!/usr/bin/env bash
# Sets up everything the tests need, on a fresh machine or an old one: the
# container engine and the MLflow/Airflow/PostgreSQL images
# (scripts/build-images.sh, which writes .images.env), the cluster compose
# test's Redis, nginx and slim API images (scripts/cluster-images.sh:
# content-hashed, reused while the lockfile and Dockerfiles are unchanged),
# Debian's docker-compose, Chromium (the status page's browser test) and nginx
# (the load-balancer tests), the build (the cluster tests run
# `node dist/main.js`) and the Python environments (.venv, .venv-clients).
# Each step is idempotent and quick when its result is already there. The
# first failure stops it: tests run without their set-up would fail for the
# wrong reason.
#
# Two phases. First everything apt installs, one after the other (dpkg takes
# one installer at a time): the engine and its base image, docker-compose,
# Chromium, nginx. Then three jobs at once, each logging to
# .cache/setup/<job>.log: the MLflow/Airflow/PostgreSQL images, the cluster
# images, and the build plus the Python environments. On a fresh 2-core
# machine the image builds wait on downloads as much as on the CPU, so running
# them side by side takes minutes off the ~12 min they took one after the
# other (each job's time is printed).
#
# Used by `npm test` (scripts/test.sh) and `npm run test:integration`.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
stamp() { echo "== [$(( $(date +%s) - started ))s] $*"; }

stamp "container engine and its base image (scripts/container-engine.sh)"
bash scripts/container-engine.sh >/dev/null
stamp "docker-compose, for the production Airflow layout's test (Debian's 1.29)"
command -v docker-compose >/dev/null || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends docker-compose >/dev/null
}
stamp "Chromium, for the status page's browser test"
bash scripts/browser.sh
stamp "nginx, for the load-balancer tests"
bash scripts/nginx.sh

logs=.cache/setup
mkdir -p "$logs"
declare -A pids=() began=()
# job NAME COMMAND...: runs COMMAND in the background, its output in $logs/NAME.log.
job() {
  local name=$1
  shift
  began[$name]=$(date +%s)
  ( set -euo pipefail; "$@" ) >"$logs/$name.log" 2>&1 &
  pids[$name]=$!
}
build_and_venvs() {
  npm run build --silent
  bash scripts/python-env.sh >/dev/null
  bash scripts/python-env.sh clients >/dev/null
}

stamp "at once: images (MLflow, Airflow, PostgreSQL), cluster images (Redis, nginx, slim API), build and Python environments (logs in $logs/)"
job images bash scripts/build-images.sh
job cluster-images bash scripts/cluster-images.sh --api-slim
job build-and-venvs build_and_venvs

failed=()
for name in images cluster-images build-and-venvs; do
  if wait "${pids[$name]}"; then
    stamp "$name done in $(( $(date +%s) - began[$name] ))s"
  else
    stamp "$name FAILED after $(( $(date +%s) - began[$name] ))s; the end of $logs/$name.log:"
    tail -n 40 "$logs/$name.log" | sed 's/^/    /'
    failed+=("$name")
  fi
done
grep -h '^\[build-images\] built\|^\[build-images\] .* up to date' "$logs/images.log" || true
[ ${#failed[@]} -eq 0 ] || { echo "== set-up failed: ${failed[*]}"; exit 1; }
stamp "set-up done"
