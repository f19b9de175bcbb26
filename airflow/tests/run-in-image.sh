#!/usr/bin/env bash
# Runs the DAG checks that need Airflow (dagbag_checks.py) and the pure-logic
# tests (test_logic.py) with pytest inside the Airflow image, against this
# working copy's airflow/dags and airflow/tests (mounted read-only).
#
#   airflow/tests/run-in-image.sh [pytest args...]
#
# The image is $MODELGATE_AIRFLOW_IMAGE when set; otherwise this runs
# scripts/build-images.sh (seconds when the images are up to date) and uses the
# Airflow image it names in .images.env. The other tests (HTTP callback,
# pipeline against a real MLflow) run on the host:
#   .venv/bin/python -m pytest airflow/tests
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
engine=${CONTAINER_ENGINE:-podman}

if [ -z "${MODELGATE_AIRFLOW_IMAGE:-}" ]; then
  bash "$repo/scripts/build-images.sh" >/dev/null
  MODELGATE_AIRFLOW_IMAGE=$(sed -n 's/^MODELGATE_AIRFLOW_IMAGE=//p' "$repo/.images.env")
fi
[ -n "$MODELGATE_AIRFLOW_IMAGE" ] || { echo "run-in-image: no MODELGATE_AIRFLOW_IMAGE" >&2; exit 1; }

# PYTHONDONTWRITEBYTECODE: the mounts are read-only. No network: parsing DAGs
# must not need one.
exec "$engine" run --rm --network none \
  -e PYTHONDONTWRITEBYTECODE=1 \
  -v "$repo/airflow/dags:/opt/airflow/dags:ro" \
  -v "$repo/airflow/tests:/opt/airflow/tests:ro" \
  ${CONTAINER_EXTRA_VOLUME:+-v "$CONTAINER_EXTRA_VOLUME"} \
  --entrypoint python \
  "$MODELGATE_AIRFLOW_IMAGE" \
  -m pytest /opt/airflow/tests/dagbag_checks.py /opt/airflow/tests/test_logic.py "$@"
