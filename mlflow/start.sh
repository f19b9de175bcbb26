#!/usr/bin/env bash
# Starts the MLflow tracking server with the model registry and the artifact
# proxy on. Used as the image's entrypoint and usable as is on a plain host
# (with mlflow installed); extra arguments go to `mlflow server`.
#
# Environment (defaults in brackets):
#   MLFLOW_HOST                   bind address [0.0.0.0]
#   MLFLOW_PORT                   port [5000]
#   MLFLOW_BACKEND_STORE_URI      [sqlite:////mlflow/mlflow.db]; PostgreSQL:
#                                 postgresql+psycopg2://user:pass@host:5432/mlflow
#                                 (+psycopg2: the driver the image has; plain
#                                 postgresql:// makes SQLAlchemy look for psycopg 3)
#   MLFLOW_ARTIFACTS_DESTINATION  where proxied artifacts are stored [/mlflow/artifacts]
#   MLFLOW_WORKERS                server worker processes [2]
#   MLFLOW_SERVER_ALLOWED_HOSTS   Host headers to accept, comma-separated, matched
#                                 exactly (port included) or as globs. Unset: MLflow's
#                                 default, localhost and private IPs only, so a name
#                                 such as a compose service gets 403 on API calls.
#                                 Setting it replaces that default, so list loopback
#                                 too: "mlflow,mlflow:*,localhost,localhost:*,127.0.0.1:*"
#   MLFLOW_SERVER_ENABLE_JOB_EXECUTION  [false] MLflow's GenAI job runner
set -euo pipefail

host=${MLFLOW_HOST:-0.0.0.0}
port=${MLFLOW_PORT:-5000}
backend=${MLFLOW_BACKEND_STORE_URI:-sqlite:////mlflow/mlflow.db}
artifacts=${MLFLOW_ARTIFACTS_DESTINATION:-/mlflow/artifacts}
# 2, not MLflow's 4: each worker holds a full copy of mlflow in memory and the
# test machines have 2 cores.
workers=${MLFLOW_WORKERS:-2}

# The job runner (GenAI scorers, prompt optimisation) starts seven extra
# processes; the model registry does not need it.
export MLFLOW_SERVER_ENABLE_JOB_EXECUTION=${MLFLOW_SERVER_ENABLE_JOB_EXECUTION:-false}

# Local stores need their directories; remote ones (postgresql://, s3://) do not.
case "$backend" in
  sqlite:///*) mkdir -p "$(dirname "${backend#sqlite:///}")" ;;
esac
case "$artifacts" in
  *://*) ;;
  *) mkdir -p "$artifacts" ;;
esac

args=(
  server
  --host "$host"
  --port "$port"
  --workers "$workers"
  --backend-store-uri "$backend"
  --serve-artifacts
  --artifacts-destination "$artifacts"
)
# Passed only when set, so an unset variable keeps MLflow's own default.
if [ -n "${MLFLOW_SERVER_ALLOWED_HOSTS:-}" ]; then
  args+=(--allowed-hosts "$MLFLOW_SERVER_ALLOWED_HOSTS")
fi

# exec: mlflow replaces this shell, so a container stop's SIGTERM reaches it.
exec mlflow "${args[@]}" "$@"
