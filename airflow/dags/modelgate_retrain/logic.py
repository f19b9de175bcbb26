"""Pure rules of the retraining DAG: no Airflow, no MLflow, standard library only.

Everything here is a function of its arguments (environment mappings are
passed in), so the tests call it directly.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from typing import Any, Mapping

DAG_ID = "modelgate_retrain"
DEFAULT_MODEL_NAME = "iris-classifier"
DEFAULT_ALIAS = "champion"
DEFAULT_EXPERIMENT = "modelgate-retrain"
DEFAULT_C = 1.0
DEFAULT_MAX_ITER = 1000
DEFAULT_METRIC = "accuracy"
# Metrics the training step logs; for both, higher is better.
METRICS = ("accuracy", "f1_macro")
# How the trained model is logged: "onnx" (converted by skl2onnx, served in
# process by the API's ONNX runtime) or "sklearn" (MLflow's sklearn flavor
# as is, served by the API's Python workers through its pyfunc flavor).
FLAVORS = ("onnx", "sklearn")
DEFAULT_FLAVOR = "onnx"

# Airflow retries of every task (the callback above all: the API may be
# restarting). The issue asks for 3 retries 10 s apart by default.
DEFAULT_RETRIES = 3
DEFAULT_RETRY_DELAY_SECONDS = 10.0
# Seconds to wait for the API's answer to the callback (connect, read).
DEFAULT_CALLBACK_TIMEOUT_SECONDS = 30.0

# MLflow's registered-model names may hold almost anything, but the API takes
# them from URLs and model URIs (models:/name@alias), so "/" and "@" are out;
# the API's callback DTO rejects them too.
MODEL_NAME_PATTERN = r"^[^/@\s]+$"
# MLflow alias rule: letters, digits, "_" and "-" (and not v<digits>).
ALIAS_PATTERN = r"^[A-Za-z0-9_-]+$"

# Tags written on a model version to record the promotion decision.
TAG_PREFIX = "modelgate."
TAG_PROMOTED = TAG_PREFIX + "promoted"
TAG_REASON = TAG_PREFIX + "promotion_reason"
TAG_METRIC = TAG_PREFIX + "metric"
TAG_VALUE = TAG_PREFIX + "metric_value"
TAG_PREVIOUS = TAG_PREFIX + "previous_metric_value"
TAG_PREVIOUS_VERSION = TAG_PREFIX + "previous_version"
TAG_ALIAS = TAG_PREFIX + "alias"
TAG_DAG_ID = TAG_PREFIX + "dag_id"
TAG_DAG_RUN_ID = TAG_PREFIX + "dag_run_id"


class RetrainConfigError(ValueError):
    """A bad run conf or environment; retrying the task cannot fix it."""


# --- settings -------------------------------------------------------------


@dataclass(frozen=True)
class RetrainSettings:
    model_name: str
    alias: str
    C: float
    max_iter: int
    metric: str
    force: bool
    experiment: str
    flavor: str = DEFAULT_FLAVOR


def default_params(env: Mapping[str, str]) -> dict[str, Any]:
    """The DAG's params with their defaults (the run's conf overrides them)."""
    return {
        "model_name": env.get("MODELGATE_MODEL_NAME") or DEFAULT_MODEL_NAME,
        "alias": DEFAULT_ALIAS,
        "C": DEFAULT_C,
        "max_iter": DEFAULT_MAX_ITER,
        "metric": DEFAULT_METRIC,
        "force": False,
        "experiment": env.get("MODELGATE_EXPERIMENT") or DEFAULT_EXPERIMENT,
        "flavor": DEFAULT_FLAVOR,
    }


def settings_from_params(params: Mapping[str, Any]) -> RetrainSettings:
    """Validates the run's params (Airflow's defaults merged with the run's conf).

    Airflow checks types against the Param schemas when a run is triggered;
    this check is the one that also holds when the DAG's code is called
    directly, and its message names every bad key at once.
    """
    errors: list[str] = []

    def text(key: str, pattern: str, rule: str) -> str:
        value = params.get(key)
        if not isinstance(value, str) or not re.match(pattern, value):
            errors.append(f"{key} must be {rule}")
            return ""
        return value

    model_name = text("model_name", MODEL_NAME_PATTERN, 'a model name without "/", "@" or spaces')
    alias = text("alias", ALIAS_PATTERN, 'an alias (letters, digits, "_", "-")')
    experiment = text("experiment", r"^\S.*$", "a non-empty experiment name")

    c = params.get("C")
    if isinstance(c, bool) or not isinstance(c, (int, float)) or not math.isfinite(c) or c <= 0:
        errors.append("C must be a positive number")
        c = DEFAULT_C

    max_iter = params.get("max_iter")
    if isinstance(max_iter, float) and max_iter.is_integer():
        max_iter = int(max_iter)
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
        errors.append("max_iter must be a positive integer")
        max_iter = DEFAULT_MAX_ITER

    metric = params.get("metric")
    if metric not in METRICS:
        errors.append(f"metric must be one of {', '.join(METRICS)}")
        metric = DEFAULT_METRIC

    flavor = params.get("flavor", DEFAULT_FLAVOR)
    if flavor not in FLAVORS:
        errors.append(f"flavor must be one of {', '.join(FLAVORS)}")
        flavor = DEFAULT_FLAVOR

    try:
        force = parse_bool(params.get("force", False))
    except ValueError:
        errors.append("force must be true or false")
        force = False

    if errors:
        raise RetrainConfigError("bad retraining params: " + "; ".join(errors))
    return RetrainSettings(
        model_name=model_name,
        alias=alias,
        C=float(c),
        max_iter=max_iter,
        metric=metric,
        force=force,
        experiment=experiment,
        flavor=flavor,
    )


def parse_bool(value: Any) -> bool:
    """A boolean from JSON or from text (a conf typed by hand in the UI)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes", "on"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "0", "no", "off", ""):
        return False
    if value is None:
        return False
    raise ValueError(f"not a boolean: {value!r}")


def retry_policy(env: Mapping[str, str]) -> tuple[int, float]:
    """(retries, seconds between them) for the DAG's tasks, from
    MODELGATE_RETRAIN_RETRIES and MODELGATE_RETRAIN_RETRY_DELAY."""
    retries = _env_number(env, "MODELGATE_RETRAIN_RETRIES", DEFAULT_RETRIES, int)
    delay = _env_number(env, "MODELGATE_RETRAIN_RETRY_DELAY", DEFAULT_RETRY_DELAY_SECONDS, float)
    return retries, delay


def tracking_uri(env: Mapping[str, str]) -> str:
    """MLFLOW_TRACKING_URI, required: without it mlflow would quietly write to a
    local ./mlflow.db inside the Airflow worker, and nobody would ever see the model."""
    uri = (env.get("MLFLOW_TRACKING_URI") or "").strip()
    if not uri:
        raise RetrainConfigError("MLFLOW_TRACKING_URI is not set in the Airflow environment")
    return uri


@dataclass(frozen=True)
class CallbackSettings:
    url: str
    token: str
    timeout_seconds: float


def callback_settings(env: Mapping[str, str]) -> CallbackSettings:
    """Where and how to call the API back: API_SERVER_URL, API_CALLBACK_TOKEN
    (both required; the message names every one missing) and
    MODELGATE_CALLBACK_TIMEOUT (seconds)."""
    base = (env.get("API_SERVER_URL") or "").strip()
    token = (env.get("API_CALLBACK_TOKEN") or "").strip()
    missing = [name for name, value in (("API_SERVER_URL", base), ("API_CALLBACK_TOKEN", token)) if not value]
    if missing:
        raise RetrainConfigError(f"{' and '.join(missing)} not set in the Airflow environment")
    if not re.match(r"^https?://[^/\s]+", base):
        raise RetrainConfigError("API_SERVER_URL must be an http(s) URL such as http://api-host:8000")
    timeout = _env_number(env, "MODELGATE_CALLBACK_TIMEOUT", DEFAULT_CALLBACK_TIMEOUT_SECONDS, float)
    return CallbackSettings(url=callback_url(base), token=token, timeout_seconds=timeout)


# W3C Trace Context, level 1 (https://www.w3.org/TR/trace-context/#traceparent-header):
# version 00, 32 hex trace id, 16 hex parent id, 2 hex flags; all-zero ids are invalid.
TRACEPARENT_PATTERN = re.compile(r"^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$")
# tracestate: printable ASCII, up to the 512 characters the spec asks every vendor to pass on.
TRACESTATE_PATTERN = re.compile(r"^[\x20-\x7e]{1,512}$")


def trace_headers(conf: Mapping[str, Any] | None) -> dict[str, str]:
    """The W3C trace-context headers the API put into the run's conf when it
    triggered it (``traceparent``, ``tracestate``), for the callback to send
    back, so the API's callback span continues the trace of the trigger.
    Anything malformed is dropped, not sent: a new trace beats a refused call."""
    conf = conf or {}
    parent = conf.get("traceparent")
    if not isinstance(parent, str) or not TRACEPARENT_PATTERN.match(parent):
        return {}
    headers = {"traceparent": parent}
    state = conf.get("tracestate")
    if isinstance(state, str) and TRACESTATE_PATTERN.match(state):
        headers["tracestate"] = state
    return headers


def callback_url(api_server_url: str) -> str:
    """The API's DAG-callback endpoint under API_SERVER_URL (which may carry a
    path prefix, e.g. behind a reverse proxy)."""
    return api_server_url.strip().rstrip("/") + "/v1/hooks/airflow"


def _env_number(env: Mapping[str, str], name: str, default, kind):
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        rule = "a whole number" if kind is int else "a number"
        raise RetrainConfigError(f"{name} must be {rule}") from None
    if value < 0 or (kind is float and not math.isfinite(value)):
        raise RetrainConfigError(f"{name} must not be negative")
    return value


# --- promotion --------------------------------------------------------------


@dataclass(frozen=True)
class CurrentHolder:
    """The version the alias points at before the decision, and its metric
    (None when its run did not log that metric, or it has no run)."""

    version: str
    value: float | None


@dataclass(frozen=True)
class Decision:
    promoted: bool
    reason: str
    metric: str
    value: float
    previous: float | None
    previous_version: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def decide_promotion(
    metric: str, value: float, holder: CurrentHolder | None, force: bool, version: str | None = None
) -> Decision:
    """Moves the alias only when the new version is strictly better (higher
    metric) than the current holder, when nothing holds the alias yet, or when
    forced. A holder without the metric is not beaten by default: replacing a
    hand-registered champion needs force. ``version`` is the new version's
    number: if it already holds the alias (set by hand meanwhile) it stays."""
    previous = holder.value if holder is not None else None
    if previous is not None and not math.isfinite(previous):
        previous = None
    previous_version = holder.version if holder is not None else None

    def decision(promoted: bool, reason: str) -> Decision:
        return Decision(promoted, reason, metric, value, previous, previous_version)

    if holder is not None and version is not None and holder.version == str(version):
        return decision(True, "already holds the alias")
    if force:
        return decision(True, "forced")
    if holder is None:
        return decision(True, "no version held the alias")
    if previous is None:
        return decision(False, f"version {holder.version} holds the alias but has no {metric}; force to replace it")
    if value > previous:
        return decision(True, f"{metric} {value:.6g} beats {previous:.6g} of version {holder.version}")
    return decision(False, f"{metric} {value:.6g} does not beat {previous:.6g} of version {holder.version}")


def decision_tags(decision: Decision, alias: str) -> dict[str, str]:
    """The decision as model-version tags (MLflow tag values are strings)."""
    tags = {
        TAG_PROMOTED: "true" if decision.promoted else "false",
        TAG_REASON: decision.reason,
        TAG_ALIAS: alias,
        TAG_METRIC: decision.metric,
        TAG_VALUE: repr(float(decision.value)),
    }
    if decision.previous is not None:
        tags[TAG_PREVIOUS] = repr(float(decision.previous))
    if decision.previous_version is not None:
        tags[TAG_PREVIOUS_VERSION] = decision.previous_version
    return tags


def decision_from_tags(tags: Mapping[str, str], alias: str) -> Decision | None:
    """A decision recorded earlier for the same alias (a retried promote task
    finds it and keeps it), or None."""
    if tags.get(TAG_PROMOTED) not in ("true", "false") or tags.get(TAG_ALIAS) != alias:
        return None
    try:
        value = float(tags[TAG_VALUE])
        previous = float(tags[TAG_PREVIOUS]) if TAG_PREVIOUS in tags else None
    except (KeyError, ValueError):
        return None
    return Decision(
        promoted=tags[TAG_PROMOTED] == "true",
        reason=tags.get(TAG_REASON, ""),
        metric=tags.get(TAG_METRIC, ""),
        value=value,
        previous=previous,
        previous_version=tags.get(TAG_PREVIOUS_VERSION),
    )


# --- callback -----------------------------------------------------------------


def build_callback_payload(
    *,
    dag_id: str,
    dag_run_id: str,
    model_name: str,
    version: str | int,
    alias: str,
    decision: Decision,
) -> dict[str, Any]:
    """The body of POST /v1/hooks/airflow (the API's AirflowCallbackDto)."""
    return {
        "event": "model_version_ready",
        "dag_id": dag_id,
        "dag_run_id": dag_run_id,
        "model_name": model_name,
        "version": str(version),
        "alias": alias,
        "promoted": bool(decision.promoted),
        "metric": {
            "name": decision.metric,
            "value": float(decision.value),
            "previous": None if decision.previous is None else float(decision.previous),
        },
    }
