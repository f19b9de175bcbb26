#!/usr/bin/env bash
# One command from a clone to a prediction from a freshly trained model:
#
#   scripts/quickstart.sh          build the images, start MLflow (on PostgreSQL),
#                                  Airflow (API server, scheduler, DAG processor,
#                                  triggerer on PostgreSQL), Redis and the API
#                                  (docker-compose.yml), train through
#                                  the API, wait until the API serves the new
#                                  version, print a prediction
#   scripts/quickstart.sh --cluster
#                                  the same with three API instances in distributed
#                                  mode behind nginx, Redis with a password
#                                  (deployment/compose/cluster.yml over
#                                  docker-compose.yml); waits until every instance
#                                  serves the new version and shows /v1/cluster
#   scripts/quickstart.sh down     stop and remove the containers of either layout
#                                  (MLflow's and Airflow's databases, MLflow's artifacts
#                                  and the API's model cache are kept)
#   scripts/quickstart.sh down -v  ... and remove those volumes too
#
# Needs root on a machine without a Docker engine (it sets up Podman, see
# scripts/container-engine.sh). Everything runs in containers, the API too
# (deployment/Dockerfile's full image, with the Python that serves sklearn,
# xgboost and lightgbm models); the host needs bash, curl and python3 only.
# Published on 127.0.0.1: API :8000, MLflow :5000, Airflow :8080 (airflow /
# airflow), Redis :16379; see docker-compose.yml to change them.
#
# Environment (all optional):
#   MODELGATE_API_PORT, MODELGATE_MLFLOW_PORT, MODELGATE_AIRFLOW_PORT,
#   MODELGATE_REDIS_PORT   host ports [8000, 5000, 8080, 16379]
#   API_CALLBACK_TOKEN     shared by Airflow and the API [a development value]
#   QUICKSTART_API_KEY     the API key to call the API with [made on the first run,
#                          kept in .cache/quickstart-api-key; its hash goes to
#                          the API's API_KEYS with the admin scope]
#   QUICKSTART_CONF        conf of the training run [{"force": true}];
#                          {"force": true, "flavor": "sklearn"} registers the
#                          model unconverted, served by the API's Python workers
#   QUICKSTART_TIMEOUT     seconds to wait for each step [600]
#   QUICKSTART_PROJECT     the compose project name [modelgate]
#   QUICKSTART_API_IMAGE   an API image to run as it is, instead of building one with
#                          scripts/build-api-image.sh (e.g. a --slim build, for ONNX models)
# With --cluster also:
#   MODELGATE_HTTPS_PORT   nginx's HTTPS port [8443] (HTTP stays MODELGATE_API_PORT,
#                          gRPC over TLS MODELGATE_GRPC_PORT)
#   MODELGATE_API1_PORT, MODELGATE_API2_PORT, MODELGATE_API3_PORT
#                          each instance's own HTTP port [8101, 8102, 8103]
#   API_REDIS_PASSWORD, API_CLUSTER_SECRET
#                          [made on the first run, kept in .cache/quickstart-cluster.env]
#   MODELGATE_IMAGES_ENV   where scripts/build-images.sh writes the image names
#                          [.images.env]
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROJECT=${QUICKSTART_PROJECT:-modelgate}
MODEL_NAME=iris-classifier
ALIAS=champion
API=http://127.0.0.1:${MODELGATE_API_PORT:-8000}
MLFLOW=http://127.0.0.1:${MODELGATE_MLFLOW_PORT:-5000}
AIRFLOW=http://127.0.0.1:${MODELGATE_AIRFLOW_PORT:-8080}
CONF=${QUICKSTART_CONF:-'{"force": true}'}
TIMEOUT=${QUICKSTART_TIMEOUT:-600}
REDIS_IMAGE=localhost/modelgate-redis:latest
CLUSTER=false
INSTANCES=(api1 api2 api3)

started=$(date +%s)
log() { printf '[quickstart %4ss] %s\n' "$(( $(date +%s) - started ))" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# JSON field from stdin: json_get 'expression over d' (python3, always on Debian).
json_get() { python3 -c "import json, sys; d = json.load(sys.stdin); print($1)"; }

# The API key the quick start calls with (authentication is on by default):
# QUICKSTART_API_KEY, else the one an earlier run made, else a new one in the
# format `npm run key` makes (mg_ + 32 random bytes, base64url). The API gets
# only its SHA-256, in API_KEYS (docker-compose.yml passes it through).
api_key_setup() {
  local file=$repo/.cache/quickstart-api-key
  if [ -n "${QUICKSTART_API_KEY:-}" ]; then
    API_KEY=$QUICKSTART_API_KEY
  elif [ -s "$file" ]; then
    API_KEY=$(cat "$file")
  else
    mkdir -p "$repo/.cache"
    API_KEY=$(python3 -c 'import secrets; print("mg_" + secrets.token_urlsafe(32))')
    (umask 077 && printf '%s\n' "$API_KEY" >"$file")
    log "made an API key (admin scope), kept in $file"
  fi
  export API_KEYS="quickstart:admin=sha256:$(printf '%s' "$API_KEY" | sha256sum | cut -d' ' -f1)"
}

# The compose command: docker-compose 1.29 (Debian's package) or the docker
# compose plugin; installs Debian's docker-compose when neither is there.
compose_cmd() {
  if command -v docker-compose >/dev/null; then
    compose=(docker-compose)
  elif docker compose version >/dev/null 2>&1; then
    compose=(docker compose)
  else
    log "installing docker-compose (Debian package)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        docker-compose >/dev/null; } || die "could not install docker-compose"
    compose=(docker-compose)
  fi
  compose+=(-p "$PROJECT" -f "$repo/docker-compose.yml")
  # Both layouts' services, in both directions: `down` then stops either.
  if $CLUSTER || [ "${1:-}" = all ]; then
    compose+=(-f "$repo/deployment/compose/cluster.yml")
  fi
  if [ "${1:-}" = all ]; then compose+=(--profile single); fi
}

# The cluster's secrets (Redis password, the instances' signing key): the
# environment's, else those an earlier run made, else new random ones, kept in
# .cache/quickstart-cluster.env for the next runs.
cluster_secrets_setup() {
  local file=$repo/.cache/quickstart-cluster.env
  if [ ! -s "$file" ]; then
    mkdir -p "$repo/.cache"
    (umask 077 && printf 'API_REDIS_PASSWORD=%s\nAPI_CLUSTER_SECRET=%s\n' \
      "$(python3 -c 'import secrets; print(secrets.token_hex(24))')" \
      "$(python3 -c 'import secrets; print(secrets.token_hex(32))')" >"$file")
    log "made a Redis password and a cluster secret, kept in $file"
  fi
  local redis_password cluster_secret
  redis_password=$(sed -n 's/^API_REDIS_PASSWORD=//p' "$file")
  cluster_secret=$(sed -n 's/^API_CLUSTER_SECRET=//p' "$file")
  export API_REDIS_PASSWORD=${API_REDIS_PASSWORD:-$redis_password}
  export API_CLUSTER_SECRET=${API_CLUSTER_SECRET:-$cluster_secret}
}

instance_url() {
  local port_var
  port_var="MODELGATE_$(tr '[:lower:]' '[:upper:]' <<<"$1")_PORT"
  case "$1" in
    api1) echo "http://127.0.0.1:${!port_var:-8101}" ;;
    api2) echo "http://127.0.0.1:${!port_var:-8102}" ;;
    api3) echo "http://127.0.0.1:${!port_var:-8103}" ;;
  esac
}

# Runs "$@" every 2 s until it succeeds or $TIMEOUT seconds pass.
wait_for() {
  local what=$1; shift
  local deadline=$(( $(date +%s) + TIMEOUT ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || die "$what did not happen within ${TIMEOUT} s"
    sleep 2
  done
  log "$what"
}

mlflow_ready() {
  # A registry call, not only /health: /health skips MLflow's Host-header check.
  curl -fsS --max-time 5 "$MLFLOW/api/2.0/mlflow/registered-models/search?max_results=1"
}

airflow_ready() {
  # The DAG processor and triggerer report null until their first heartbeat.
  curl -fsS --max-time 5 "$AIRFLOW/api/v2/monitor/health" | json_get '
    all(d[k]["status"] == "healthy" for k in ("metadatabase", "scheduler"))
    and all(d.get(k) is None or d[k].get("status") == "healthy" for k in ("dag_processor", "triggerer"))
    or sys.exit(1)'
}

api_live() { curl -fsS --max-time 5 "${1:-$API}/health/live"; }

# The version the alias points at in MLflow, or nothing.
champion_version() {
  curl -fsS --max-time 5 "$MLFLOW/api/2.0/mlflow/registered-models/alias?name=$MODEL_NAME&alias=$ALIAS" \
    | json_get 'd["model_version"]["version"]' 2>/dev/null || true
}

# True when GET /v1/models (of $2, else $API) shows MODEL_NAME ready at version $1.
api_serves() {
  curl -fsS --max-time 5 -H "X-API-Key: $API_KEY" "${2:-$API}/v1/models" | json_get "
    any(m.get('name') == '$MODEL_NAME' and m.get('state') == 'ready' and str(m.get('version')) == '$1'
        for m in d.get('models', [])) or sys.exit(1)"
}

up() {
  [ "$(id -u)" -eq 0 ] || die "run as root (sets up the container engine; with Docker instead: docker compose up -d --build)"
  local engine_env
  engine_env=$("$repo/scripts/container-engine.sh") || die "scripts/container-engine.sh failed"
  eval "$engine_env"
  compose_cmd
  api_key_setup

  log "images: MLflow, Airflow and PostgreSQL (scripts/build-images.sh)"
  local images_env=${MODELGATE_IMAGES_ENV:-$repo/.images.env}
  MODELGATE_IMAGES_ENV=$images_env bash "$repo/scripts/build-images.sh" >&2 \
    || die "scripts/build-images.sh failed"
  set -a
  # shellcheck disable=SC1090
  . "$images_env"
  set +a
  if [ -n "${QUICKSTART_API_IMAGE:-}" ]; then
    podman image exists "$QUICKSTART_API_IMAGE" || die "QUICKSTART_API_IMAGE: no image $QUICKSTART_API_IMAGE"
    log "image: API $QUICKSTART_API_IMAGE (QUICKSTART_API_IMAGE, not built)"
    MODELGATE_API_IMAGE=$QUICKSTART_API_IMAGE
  else
    log "image: API (scripts/build-api-image.sh)"
    MODELGATE_API_IMAGE=$(bash "$repo/scripts/build-api-image.sh") || die "scripts/build-api-image.sh failed"
  fi
  export MODELGATE_API_IMAGE
  if $CLUSTER; then
    log "images: Redis and nginx for the cluster (scripts/cluster-images.sh)"
    local images
    images=$(bash "$repo/scripts/cluster-images.sh") || die "scripts/cluster-images.sh failed"
    set -a
    eval "$images"
    set +a
    cluster_secrets_setup
  else
    if ! podman image exists "$REDIS_IMAGE"; then
      log "image: Redis (deployment/redis/Dockerfile)"
      podman build --format docker --build-arg BASE_IMAGE=localhost/modelgate-base:bookworm \
        -t "$REDIS_IMAGE" "$repo/deployment/redis" >&2 || die "podman build of deployment/redis failed"
    fi
    export MODELGATE_REDIS_IMAGE=$REDIS_IMAGE
  fi

  log "starting the topology (${compose[*]} up -d)"
  "${compose[@]}" up -d >&2 \
    || die "compose up failed (a host port taken? set MODELGATE_API_PORT etc.); see: ${compose[*]} logs"

  wait_for "MLflow answers on $MLFLOW" mlflow_ready
  wait_for "Airflow is healthy on $AIRFLOW" airflow_ready
  if $CLUSTER; then
    local instance
    for instance in "${INSTANCES[@]}"; do
      wait_for "$instance answers on $(instance_url "$instance")" api_live "$(instance_url "$instance")"
    done
  fi
  wait_for "the API answers on $API" api_live

  # The DAG appears in Airflow a few seconds after the DAG processor starts:
  # until then the API answers the trigger with an error, so try again.
  log "triggering the retraining DAG: POST $API/v1/training/runs {\"conf\": $CONF}"
  local run deadline=$(( $(date +%s) + TIMEOUT ))
  until run=$(curl -fsS --max-time 30 -X POST "$API/v1/training/runs" -H "X-API-Key: $API_KEY" \
                -H 'content-type: application/json' -d "{\"conf\": $CONF}" 2>&1); do
    [ "$(date +%s)" -lt "$deadline" ] || die "could not trigger a run: $run"
    sleep 3
  done
  local dag_id run_id url
  dag_id=$(json_get 'd["dagId"]' <<<"$run")
  run_id=$(json_get 'd["runId"]' <<<"$run")
  url=$(json_get 'd.get("url", "")' <<<"$run")
  log "run $run_id of $dag_id started: $url"

  local state="" last=""
  deadline=$(( $(date +%s) + TIMEOUT ))
  while :; do
    run=$(curl -fsS --max-time 30 -H "X-API-Key: $API_KEY" "$API/v1/training/runs/$dag_id/$run_id") || run='{}'
    state=$(json_get 'd.get("state", "")' <<<"$run")
    local tasks
    tasks=$(json_get '" ".join("%s=%s" % (t["taskId"], t.get("state") or "-") for t in d.get("tasks", []))' <<<"$run")
    [ "$state $tasks" = "$last" ] || log "run $state: $tasks"
    last="$state $tasks"
    case "$state" in
      success) break ;;
      failed) die "the run failed: $url (task logs in Airflow, airflow / airflow)" ;;
    esac
    [ "$(date +%s)" -lt "$deadline" ] || die "the run did not finish within ${TIMEOUT} s: $url"
    sleep 3
  done

  local version
  version=$(champion_version)
  [ -n "$version" ] || die "MLflow has no $MODEL_NAME@$ALIAS after the run"
  if $CLUSTER; then
    for instance in "${INSTANCES[@]}"; do
      wait_for "$instance serves $MODEL_NAME version $version" api_serves "$version" "$(instance_url "$instance")"
    done
    log "the cluster as each instance sees it (GET $API/v1/cluster, through nginx):"
    curl -fsS --max-time 10 -H "X-API-Key: $API_KEY" "$API/v1/cluster" | json_get '
"\n".join("  %-6s %-8s %s" % (i["id"], i.get("status", ""), ", ".join(
    "%s v%s" % (m["reference"], m.get("version", "-")) for m in i.get("models", [])))
    for i in sorted(d["instances"], key=lambda i: i["id"]))' >&2 \
      || log "(could not read /v1/cluster)"
  else
    wait_for "the API serves $MODEL_NAME version $version" api_serves "$version"
  fi

  local body='{"dataframe_split": {"columns": ["sepal_length", "sepal_width", "petal_length", "petal_width"],
    "data": [[5.1, 3.5, 1.4, 0.2], [6.2, 2.9, 4.3, 1.3], [7.7, 3.0, 6.1, 2.3]]}}'
  log "prediction: curl -s -X POST $API/invocations -H \"X-API-Key: \$(cat $repo/.cache/quickstart-api-key)\" -H 'content-type: application/json' -d '$(tr -s ' \n' ' ' <<<"$body" | sed 's/ *$//')'"
  local headers answer served
  headers=$(mktemp)
  answer=$(curl -fsS -D "$headers" -X POST "$API/invocations" -H "X-API-Key: $API_KEY" \
    -H 'content-type: application/json' -d "$body") \
    || { rm -f "$headers"; die "the prediction failed"; }
  served=$(tr -d '\r' <"$headers" | awk -F': ' 'tolower($1) == "x-model-name" { n = $2 } tolower($1) == "x-model-version" { v = $2 } tolower($1) == "x-modelgate-instance" { i = $2 } END { print n " version " v (i ? " on " i : "") }')
  rm -f "$headers"
  log "answered by $served:"
  python3 -m json.tool <<<"$answer"
  log "done in $(( $(date +%s) - started )) s. API $API (docs $API/docs), MLflow $MLFLOW, Airflow $AIRFLOW (airflow / airflow)"
  log "call the API with the key in $repo/.cache/quickstart-api-key (admin scope; make narrower ones with"
  log "  npm run key -- <name> <scopes>), as X-API-Key or a bearer token:"
  log "  curl -H \"X-API-Key: \$(cat $repo/.cache/quickstart-api-key)\" $API/v1/models"
  log "  curl -H \"Authorization: Bearer \$(cat $repo/.cache/quickstart-api-key)\" $API/health/topology"
  if $CLUSTER; then
    log "cluster: nginx on $API (HTTP), https://127.0.0.1:${MODELGATE_HTTPS_PORT:-8443} (self-signed),"
    log "  gRPC over TLS on 127.0.0.1:${MODELGATE_GRPC_PORT:-8001}; instances directly on $(instance_url api1), $(instance_url api2), $(instance_url api3)"
    log "  stop one and watch nginx route around it: docker-compose -p $PROJECT -f docker-compose.yml -f deployment/compose/cluster.yml stop api2"
  fi
  log "stop with: scripts/quickstart.sh down"
}

down() {
  local engine_env
  engine_env=$("$repo/scripts/container-engine.sh") || die "scripts/container-engine.sh failed"
  eval "$engine_env"
  compose_cmd all
  "${compose[@]}" down "$@"
}

case "${1:-up}" in
  up) up ;;
  --cluster) CLUSTER=true; up ;;
  down) shift; down "$@" ;;
  -h|--help|help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' ;;
  *) die "unknown command '$1' (up, --cluster, down [-v])" ;;
esac
