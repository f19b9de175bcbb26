#!/usr/bin/env bash
# Sets up everything the tests need, on a fresh machine or an old one: the
# container engine and the MLflow/Airflow images (scripts/build-images.sh,
# which writes .images.env), the cluster compose test's Redis, nginx and slim
# API images (scripts/cluster-images.sh: content-hashed, reused while the
# lockfile and Dockerfiles are unchanged), Debian's Chromium for the status page's browser
# test, nginx for the load-balancer tests, the build (the cluster tests run
# `node dist/main.js`) and the Python environments (.venv, .venv-clients). Each step is
# idempotent and quick when its result is already there. The first failure
# stops it: tests run without their set-up would fail for the wrong reason.
#
# Used by `npm test` (scripts/test.sh) and `npm run test:integration`.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
stamp() { echo "== [$(( $(date +%s) - started ))s] $*"; }

stamp "container engine and the MLflow/Airflow/PostgreSQL images"
bash scripts/build-images.sh
stamp "docker-compose, for the production Airflow layout's test (Debian's 1.29)"
command -v docker-compose >/dev/null || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends docker-compose >/dev/null
}
stamp "images of the cluster compose test: Redis, nginx, the slim API (scripts/cluster-images.sh)"
bash scripts/cluster-images.sh --api-slim >/dev/null
stamp "Chromium, for the status page's browser test"
bash scripts/browser.sh
stamp "nginx, for the load-balancer tests"
bash scripts/nginx.sh
stamp "build"
npm run build --silent
stamp "Python environments (.venv, and .venv-clients for the client tests)"
bash scripts/python-env.sh >/dev/null
bash scripts/python-env.sh clients >/dev/null
