#!/usr/bin/env bash
# `npm test`: everything, against real servers. Sets up what it needs (the
# container engine and images, nginx, the Python environment), then runs
#   1. jest: unit specs, and integration/e2e tests against real MLflow,
#      Airflow and scoring servers (extra arguments go to jest);
#   2. the DAG tests with pytest: the pure rules, the callback and a real
#      MLflow server in .venv; DagBag checks inside the Airflow image.
# Every runner runs even if an earlier one failed; results land in .cache/
# (jest-results.json, pytest-*.xml) for .ci/run's summary.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .cache

bash scripts/build-images.sh || exit 1
bash scripts/nginx.sh || exit 1
# The cluster tests run the server as `node dist/main.js` processes: build what is tested.
npm run build --silent || exit 1
PY=$(bash scripts/python-env.sh) || exit 1

status=0
npx jest --runInBand --json --outputFile=.cache/jest-results.json "$@" || status=1

echo "== DAG tests (pytest in .venv)"
"$PY" -m pytest airflow/tests -q --junitxml=.cache/pytest-venv.xml || status=1

echo "== DAG tests (pytest in the Airflow image)"
# The container writes its JUnit report into a mounted, writable directory.
rm -rf .cache/pytest-image && mkdir -p .cache/pytest-image && chmod 777 .cache/pytest-image
CONTAINER_EXTRA_VOLUME="$PWD/.cache/pytest-image:/opt/results" \
  bash airflow/tests/run-in-image.sh -q --junitxml=/opt/results/pytest-image.xml || status=1
cp .cache/pytest-image/pytest-image.xml .cache/ 2>/dev/null || true

exit "$status"
