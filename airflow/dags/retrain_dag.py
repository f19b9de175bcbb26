"""Retrain the iris classifier, register it in MLflow, promote it if it is better, tell the API.

``train_model`` → ``register_model`` → ``promote`` → ``notify_api``

1. **train_model** trains a LogisticRegression on scikit-learn's iris (fixed
   split), converts it to ONNX (or, with ``flavor`` ``sklearn``, keeps MLflow's
   sklearn flavor, which the API serves with Python workers), and logs params,
   metrics (accuracy, f1_macro) and the model to MLflow in one run.
2. **register_model** registers that model as a new version of ``model_name``.
3. **promote** compares the new version's ``metric`` with the version the
   ``alias`` points at (its run's metric) and moves the alias only if the new
   one is strictly better, nothing holds the alias yet, or ``force`` is set.
   The decision is recorded as ``modelgate.*`` tags on the new version.
4. **notify_api** POSTs ``{API_SERVER_URL}/v1/hooks/airflow`` (bearer
   ``API_CALLBACK_TOKEN``) so the API reloads. If the API does not answer 2xx
   the task is retried, and the run ends failed; the version stays registered.

Params (the run's conf overrides them): ``model_name``, ``alias``, ``C``,
``max_iter``, ``metric`` (``accuracy`` or ``f1_macro``, higher is better),
``force``, ``experiment``, ``flavor`` (``onnx`` or ``sklearn``).

Environment of the Airflow server: ``MLFLOW_TRACKING_URI`` (required),
``API_SERVER_URL`` and ``API_CALLBACK_TOKEN`` (required by notify_api),
``MODELGATE_MODEL_NAME`` [iris-classifier], ``MODELGATE_EXPERIMENT``
[modelgate-retrain], ``MODELGATE_RETRAIN_RETRIES`` [3],
``MODELGATE_RETRAIN_RETRY_DELAY`` [10 s], ``MODELGATE_CALLBACK_TIMEOUT`` [30 s].
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from datetime import timedelta

from airflow.sdk import Param, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

# Light on purpose: the DAG processor parses this file every few seconds.
# mlflow, scikit-learn and requests are imported inside the tasks.
from modelgate_retrain import logic

_defaults = logic.default_params(os.environ)
_retries, _retry_delay = logic.retry_policy(os.environ)


@contextmanager
def _no_retry_on_bad_config():
    """A bad conf or a missing variable fails the task at once: retrying
    cannot fix it, and the message says what to set."""
    try:
        yield
    except logic.RetrainConfigError as exc:
        raise AirflowFailException(str(exc)) from exc


def _run_ids() -> tuple[str, str]:
    context = get_current_context()
    return context["dag"].dag_id, context["run_id"]


def _settings() -> logic.RetrainSettings:
    with _no_retry_on_bad_config():
        return logic.settings_from_params(dict(get_current_context()["params"]))


def _tracking_uri() -> str:
    with _no_retry_on_bad_config():
        return logic.tracking_uri(os.environ)


@dag(
    dag_id=logic.DAG_ID,
    schedule=None,
    catchup=False,
    # One run at a time: two runs promoting at once would both compare against
    # the same champion.
    max_active_runs=1,
    tags=["modelgate", "training"],
    doc_md=__doc__,
    default_args={
        "owner": "modelgate",
        "retries": _retries,
        "retry_delay": timedelta(seconds=_retry_delay),
    },
    params={
        "model_name": Param(
            _defaults["model_name"],
            type="string",
            pattern=logic.MODEL_NAME_PATTERN,
            description="Registered model name in MLflow",
        ),
        "alias": Param(
            _defaults["alias"], type="string", pattern=logic.ALIAS_PATTERN, description="Alias to move when better"
        ),
        "C": Param(
            _defaults["C"],
            type="number",
            exclusiveMinimum=0,
            description="LogisticRegression inverse regularisation strength",
        ),
        "max_iter": Param(_defaults["max_iter"], type="integer", minimum=1, description="Solver iterations"),
        "metric": Param(
            _defaults["metric"], type="string", enum=list(logic.METRICS), description="Compared metric (higher wins)"
        ),
        "force": Param(_defaults["force"], type="boolean", description="Move the alias even if not better"),
        "experiment": Param(_defaults["experiment"], type="string", minLength=1, description="MLflow experiment"),
        "flavor": Param(
            _defaults["flavor"],
            type="string",
            enum=list(logic.FLAVORS),
            description="onnx: converted, served in process; sklearn: as trained, served by Python workers",
        ),
    },
)
def modelgate_retrain():
    @task(execution_timeout=timedelta(minutes=15))
    def train_model() -> dict:
        from modelgate_retrain import pipeline

        settings = _settings()
        dag_id, run_id = _run_ids()
        return pipeline.train_and_log(
            settings,
            _tracking_uri(),
            run_tags={logic.TAG_DAG_ID: dag_id, logic.TAG_DAG_RUN_ID: run_id},
        )

    @task(execution_timeout=timedelta(minutes=10))
    def register_model(trained: dict) -> str:
        from modelgate_retrain import pipeline

        settings = _settings()
        dag_id, run_id = _run_ids()
        return pipeline.register_version(
            _tracking_uri(),
            settings.model_name,
            trained["model_uri"],
            trained["run_id"],
            tags={logic.TAG_DAG_ID: dag_id, logic.TAG_DAG_RUN_ID: run_id},
        )

    @task(execution_timeout=timedelta(minutes=5))
    def promote(version: str) -> dict:
        from modelgate_retrain import pipeline

        settings = _settings()
        decision = pipeline.promote_version(
            _tracking_uri(),
            settings.model_name,
            version,
            settings.alias,
            settings.metric,
            settings.force,
        )
        return {"version": version, **decision.as_dict()}

    @task(execution_timeout=timedelta(minutes=5))
    def notify_api(promotion: dict) -> dict:
        from modelgate_retrain import callback

        settings = _settings()
        dag_id, run_id = _run_ids()
        payload = logic.build_callback_payload(
            dag_id=dag_id,
            dag_run_id=run_id,
            model_name=settings.model_name,
            version=promotion["version"],
            alias=settings.alias,
            decision=logic.Decision(**{k: v for k, v in promotion.items() if k != "version"}),
        )
        with _no_retry_on_bad_config():
            target = logic.callback_settings(os.environ)
        # The trigger's trace context, from the run's conf: the callback continues its trace.
        conf = get_current_context()["dag_run"].conf
        callback.post_callback(target, payload, logic.trace_headers(conf))
        return payload

    notify_api(promote(register_model(train_model())))


modelgate_retrain()
