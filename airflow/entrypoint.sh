#!/usr/bin/env bash
# Gives the image known credentials, refuses a half-configured CeleryExecutor,
# then runs the command (airflow standalone, or one component of the
# production layout).
#
# Airflow 3's SimpleAuthManager reads users from
# AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS ("name:role,...") and passwords from
# a JSON file; users missing from the file get a random password printed to the
# log. Writing the file before Airflow starts makes the password known.
#
# Environment (defaults in brackets):
#   AIRFLOW_USERNAME   [airflow]  admin user
#   AIRFLOW_PASSWORD   [airflow]  its password (exchanged at POST /auth/token)
#   AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS           [$AIRFLOW_USERNAME:admin]
#   AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE  [$AIRFLOW_HOME/simple_auth_manager_passwords.json]
#   AIRFLOW_PUBLIC_URL [unset]  where people reach Airflow (UI links), e.g.
#                      https://airflow.example.com; becomes AIRFLOW__API__BASE_URL
#   AIRFLOW__API_AUTH__JWT_SECRET, AIRFLOW__API_AUTH__JWT_EXPIRATION_TIME and
#   any other AIRFLOW__SECTION__KEY: see the Dockerfile.
#
# Read by the retraining DAG (airflow/dags/retrain_dag.py), not by this script:
#   MLFLOW_TRACKING_URI  MLflow server, e.g. http://mlflow-host:5000 (required)
#   API_SERVER_URL       Modelgate API the DAG calls back, e.g. http://api-host:8000
#   API_CALLBACK_TOKEN   bearer token of that callback; the API's API_CALLBACK_TOKEN
#   MODELGATE_MODEL_NAME, MODELGATE_EXPERIMENT, MODELGATE_RETRAIN_RETRIES,
#   MODELGATE_RETRAIN_RETRY_DELAY, MODELGATE_CALLBACK_TIMEOUT: see the DAG.
set -euo pipefail

username=${AIRFLOW_USERNAME:-airflow}
password=${AIRFLOW_PASSWORD:-airflow}
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS:-$username:admin}
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE:-$AIRFLOW_HOME/simple_auth_manager_passwords.json}

# Airflow derives the task runners' execution API address from [api] base_url
# ({base_url}/execution/); a public URL behind a proxy or TLS terminator may not
# be reachable from inside this container, so the runners keep the local one.
if [ -n "${AIRFLOW_PUBLIC_URL:-}" ]; then
  export AIRFLOW__API__BASE_URL=${AIRFLOW__API__BASE_URL:-$AIRFLOW_PUBLIC_URL}
  export AIRFLOW__CORE__EXECUTION_API_SERVER_URL=${AIRFLOW__CORE__EXECUTION_API_SERVER_URL:-http://localhost:${AIRFLOW__API__PORT:-8080}/execution/}
fi

# The CeleryExecutor refuses to start half-configured (exit 64, EX_USAGE):
# - without a broker URL in the environment, Airflow would use its built-in
#   default (redis://redis:6379/0): a worker started by hand on another host
#   would retry a host that does not exist, and a scheduler would queue tasks
#   no worker sees, both without an error that says why;
# - `airflow celery ...` (a worker) while the executor is not Celery runs no
#   task: the scheduler keeps them in its own LocalExecutor. That is the
#   compose file's `celery` profile started without AIRFLOW_EXECUTOR.
executor=${AIRFLOW__CORE__EXECUTOR:-}
broker=${AIRFLOW__CELERY__BROKER_URL:-}${AIRFLOW__CELERY__BROKER_URL_CMD:-}${AIRFLOW__CELERY__BROKER_URL_SECRET:-}
if [[ $executor == *CeleryExecutor* && -z $broker ]]; then
  echo "airflow-entrypoint: AIRFLOW__CORE__EXECUTOR=$executor needs a Celery broker:" \
    "set AIRFLOW__CELERY__BROKER_URL (e.g. redis://:<password>@<redis-host>:6379/0)," \
    "the same on the scheduler and every worker" >&2
  exit 64
fi
if [[ ${1:-} == airflow && ${2:-} == celery && $executor != *CeleryExecutor* ]]; then
  echo "airflow-entrypoint: \`airflow celery ${3:-}\` needs AIRFLOW__CORE__EXECUTOR=CeleryExecutor" \
    "(it is '${executor:-unset}'): set AIRFLOW_EXECUTOR=CeleryExecutor in .env" \
    "when starting the compose file's celery profile" >&2
  exit 64
fi

# Written on every start so a changed AIRFLOW_PASSWORD takes effect; python
# does the JSON quoting. umask: the file holds a plaintext password.
(
  umask 077
  python3 -c 'import json, sys; json.dump({sys.argv[1]: sys.argv[2]}, open(sys.argv[3], "w"))' \
    "$username" "$password" "$AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"
)

exec "$@"
