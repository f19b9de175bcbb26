#!/usr/bin/env bash
# `npm test`: everything, against real servers, from a fresh machine. First the
# lint (the type check, ESLint, Prettier, the dependency rule), then scripts/test-setup.sh
# sets up everything the tests need, then it runs
#   1. jest: unit specs, and integration/e2e tests against real MLflow,
#      Airflow and scoring servers, headless Chromium and nginx (extra
#      arguments go to jest);
#   2. the DAG tests with pytest: the pure rules, the callback and a real
#      MLflow server in .venv; DagBag checks inside the Airflow image.
# A failed set-up step stops the run (the tests would fail for the wrong
# reason); the lint and every runner run even if an earlier one failed.
# Results land in .cache/ (lint.status, jest-results.json, pytest-*.xml) for
# .ci/run's summary.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .cache
started=$(date +%s)
stamp() { echo "== [$(( $(date +%s) - started ))s] $*"; }

status=0
# No result of an earlier run may stand in for one this run did not produce.
rm -f .cache/lint.status .cache/jest-results.json .cache/pytest-venv.xml .cache/pytest-image.xml

stamp "lint (npm run lint: type check, ESLint, Prettier, dependency rule)"
npm run lint --silent
lint=$?
echo "$lint" >.cache/lint.status
[ "$lint" -eq 0 ] || { echo "== lint failed (exit $lint)"; status=1; }

bash scripts/test-setup.sh || exit 1
PY=$(bash scripts/python-env.sh) || exit 1  # set up above: prints the path at once

stamp "jest"
npx jest --runInBand --json --outputFile=.cache/jest-results.json "$@" || status=1

stamp "DAG tests (pytest in .venv)"
"$PY" -m pytest airflow/tests -q --junitxml=.cache/pytest-venv.xml || status=1

stamp "DAG tests (pytest in the Airflow image)"
# The container writes its JUnit report into a mounted, writable directory.
rm -rf .cache/pytest-image && mkdir -p .cache/pytest-image && chmod 777 .cache/pytest-image
CONTAINER_EXTRA_VOLUME="$PWD/.cache/pytest-image:/opt/results" \
  bash airflow/tests/run-in-image.sh -q --junitxml=/opt/results/pytest-image.xml || status=1
cp .cache/pytest-image/pytest-image.xml .cache/ 2>/dev/null || true

exit "$status"
