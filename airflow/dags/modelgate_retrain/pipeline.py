"""Training, ONNX conversion, MLflow logging, registration and promotion.

No Airflow here: the DAG's tasks call these functions, and so do the tests
(against a throwaway MLflow server). Each function is safe to run again after
a failure (Airflow retries tasks): registering finds the version an earlier
attempt created, promoting keeps a decision an earlier attempt recorded.

The model is what the API's ONNX runtime expects (shared/notes/mlflow-airflow.md):
a LogisticRegression on iris, converted by skl2onnx without ZipMap (onnxruntime-node
refuses non-tensor outputs), input ``float_input`` float32 [None, 4], outputs
``label`` int64 [N] and ``probabilities`` float32 [N, 3], logged with
``save_as_external_data=False`` so model.onnx is one self-contained file, with a
column-based signature (four ``double`` columns) and a DataFrame input example
that the API uses to warm the model up.

With ``flavor="sklearn"`` the same LogisticRegression is logged as MLflow's
sklearn flavor instead, unconverted (its ``python_function`` flavor is what
the API's Python workers serve), output ``label`` int64 [N], with explicit pip
requirements (scikit-learn, skops, numpy, pandas, scipy at the versions that
trained it; mlflow adds itself) so a ``PYFUNC_ENV=uv`` server can rebuild its
environment.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Any

import mlflow
import mlflow.onnx
import numpy as np
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from modelgate_retrain import logic

log = logging.getLogger(__name__)

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
INPUT_NAME = "float_input"
# Fixed so that the same params always give the same model and metrics: the
# promotion rule compares runs, and an unseeded split would make it a lottery.
RANDOM_STATE = 42
TEST_SIZE = 0.3
# Rows of the test split logged as the input example (the API warms up on it).
EXAMPLE_ROWS = 5
# ONNX opsets the graph is written for. skl2onnx otherwise picks the newest it
# knows (22 for skl2onnx 1.20), which older onnxruntime builds (the Node binding
# may lag the Python one) refuse; 18 is supported since onnxruntime 1.14 and is
# all a linear classifier needs. Same as scripts/demo_model.py.
TARGET_OPSET = {"": 18, "ai.onnx.ml": 3}


def _client(tracking_uri: str) -> MlflowClient:
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


# --- train -----------------------------------------------------------------


def load_data():
    """scikit-learn's bundled iris (no download) with our column names, split
    the same way every time."""
    from sklearn.datasets import load_iris
    from sklearn.model_selection import train_test_split

    iris = load_iris(as_frame=True)
    x = iris.data.set_axis(FEATURES, axis=1).astype("float64")
    y = iris.target.astype("int64")
    return train_test_split(x, y, test_size=TEST_SIZE, random_state=RANDOM_STATE, stratify=y)


def fit(x_train, y_train, settings: logic.RetrainSettings):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=settings.C, max_iter=settings.max_iter, random_state=RANDOM_STATE).fit(
        x_train, y_train
    )


def evaluate(y_true, y_pred) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score

    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "f1_macro": float(f1_score(y_true, y_pred, average="macro")),
    }


def to_onnx(model):
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    onx = convert_sklearn(
        model,
        initial_types=[(INPUT_NAME, FloatTensorType([None, len(FEATURES)]))],
        options={id(model): {"zipmap": False}},
        target_opset=TARGET_OPSET,
    )
    outputs = [o.name for o in onx.graph.output]
    if outputs != ["label", "probabilities"]:
        raise RuntimeError(f"unexpected ONNX outputs {outputs}")
    return onx


def check_onnx(onx, x_test, expected_labels, expected_proba) -> None:
    """What gets registered must predict what scikit-learn predicts."""
    import onnxruntime

    session = onnxruntime.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    labels, proba = session.run(["label", "probabilities"], {INPUT_NAME: x_test.to_numpy(dtype="float32")})
    if not np.array_equal(labels, expected_labels):
        raise RuntimeError("onnxruntime labels differ from scikit-learn's")
    if not np.allclose(proba, expected_proba, atol=1e-4):
        raise RuntimeError("onnxruntime probabilities differ from scikit-learn's")


def signature_and_example(x_test):
    from mlflow.models.signature import ModelSignature
    from mlflow.types.schema import ColSpec, Schema, TensorSpec

    signature = ModelSignature(
        inputs=Schema([ColSpec("double", name) for name in FEATURES]),
        outputs=Schema(
            [
                TensorSpec(np.dtype("int64"), (-1,), "label"),
                TensorSpec(np.dtype("float32"), (-1, 3), "probabilities"),
            ]
        ),
    )
    return signature, x_test.head(EXAMPLE_ROWS).reset_index(drop=True)


def _pip_requirements() -> list[str]:
    """What the logged model needs to run as an MLflow pyfunc (mlflow adds itself)."""
    import onnx
    import onnxruntime

    return [f"onnx=={onnx.__version__}", f"onnxruntime=={onnxruntime.__version__}"]


def sklearn_signature():
    """Four double columns in, the predicted class out (what ``predict`` returns)."""
    from mlflow.models.signature import ModelSignature
    from mlflow.types.schema import ColSpec, Schema, TensorSpec

    return ModelSignature(
        inputs=Schema([ColSpec("double", name) for name in FEATURES]),
        outputs=Schema([TensorSpec(np.dtype("int64"), (-1,), "label")]),
    )


def sklearn_pip_requirements() -> list[str]:
    """The packages that unpickle and run the model, at the versions that trained
    it: named, not inferred (inference loads the model in a subprocess, ~4 s),
    and pinned, so a PYFUNC_ENV=uv server builds the same environment."""
    from importlib.metadata import version

    return [f"{package}=={version(package)}" for package in ("scikit-learn", "skops", "numpy", "pandas", "scipy")]


@contextmanager
def _quiet_serving_input_check():
    """log_model checks the input example by predicting through MLflow's ONNX
    pyfunc, which turns the outputs into one DataFrame; a [N, 3] probabilities
    output cannot be one column, so that check always fails with a long
    warning and a traceback ("All arrays must be of the same length"). The
    model is fine (check_onnx ran it in onnxruntime above, and the API serves
    the outputs as tensors), so the warning is hidden; errors still show."""
    model_logger = logging.getLogger("mlflow.models.model")
    level = model_logger.level
    model_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        model_logger.setLevel(level)


def train_and_log(
    settings: logic.RetrainSettings, tracking_uri: str, run_tags: dict[str, str] | None = None
) -> dict[str, Any]:
    """Trains, converts to ONNX (flavor "onnx"), and logs params, metrics and
    the model in one MLflow run. Returns {run_id, experiment_id, model_uri,
    model_id, metrics}."""
    _client(tracking_uri)
    mlflow.set_experiment(settings.experiment)

    x_train, x_test, y_train, y_test = load_data()
    model = fit(x_train, y_train, settings)
    predicted = model.predict(x_test)
    metrics = evaluate(y_test, predicted)
    signature, example = signature_and_example(x_test)

    with mlflow.start_run(run_name=f"{settings.model_name}-C{settings.C:g}", tags=run_tags or {}) as run:
        mlflow.log_params(
            {
                "C": settings.C,
                "max_iter": settings.max_iter,
                "test_size": TEST_SIZE,
                "random_state": RANDOM_STATE,
                "metric": settings.metric,
                "force": settings.force,
                "alias": settings.alias,
                "flavor": settings.flavor,
            }
        )
        mlflow.log_metrics(metrics)
        if settings.flavor == "sklearn":
            info = log_sklearn(model, example)
        else:
            onx = to_onnx(model)
            check_onnx(onx, x_test, predicted, model.predict_proba(x_test))
            info = log_onnx(onx, signature, example)
    log.info("run %s logged %s with %s", run.info.run_id, info.model_uri, metrics)
    return {
        "run_id": run.info.run_id,
        "experiment_id": run.info.experiment_id,
        "model_uri": info.model_uri,
        "model_id": info.model_id,
        "metrics": metrics,
    }


def log_onnx(onx, signature, example):
    with _quiet_serving_input_check():
        return mlflow.onnx.log_model(
            onx,
            name="model",
            signature=signature,
            input_example=example,
            save_as_external_data=False,
            # mlflow's default lists CUDA first, which only warns on CPU builds.
            onnx_execution_providers=["CPUExecutionProvider"],
            # Named, not inferred: inference loads the model in a subprocess
            # and predicts on the example (~4 s, and the same failing
            # DataFrame conversion as below).
            pip_requirements=_pip_requirements(),
        )


def log_sklearn(model, example):
    import mlflow.sklearn

    return mlflow.sklearn.log_model(
        model,
        name="model",
        signature=sklearn_signature(),
        input_example=example,
        pip_requirements=sklearn_pip_requirements(),
    )


# --- register ----------------------------------------------------------------


def register_version(
    tracking_uri: str, model_name: str, model_uri: str, run_id: str, tags: dict[str, str] | None = None
) -> str:
    """Registers the logged model as a new version of model_name and returns the
    version number. A version already registered from the same run (an earlier
    attempt of this task that failed after registering) is returned instead of
    registering a second one."""
    client = _client(tracking_uri)
    # Filter by run only (run ids are hex) and match the name here: quoting a
    # free-form model name inside MLflow's filter syntax is fragile.
    for existing in client.search_model_versions(f"run_id='{run_id}'"):
        if existing.name == model_name:
            log.info("run %s is already registered as %s version %s", run_id, model_name, existing.version)
            return str(existing.version)
    version = mlflow.register_model(model_uri, model_name, tags=tags or {})
    log.info("registered %s version %s from %s", model_name, version.version, model_uri)
    return str(version.version)


# --- promote -----------------------------------------------------------------


def run_metric(client: MlflowClient, run_id: str | None, metric: str) -> float | None:
    """The metric a version's run logged, or None (no run, or not logged)."""
    if not run_id:
        return None
    value = client.get_run(run_id).data.metrics.get(metric)
    return None if value is None else float(value)


def current_holder(client: MlflowClient, model_name: str, alias: str, metric: str) -> logic.CurrentHolder | None:
    """The version the alias points at, read from the registered model's alias
    map: asking for the alias itself answers a missing one with a generic
    INVALID_PARAMETER_VALUE, indistinguishable from a real bad request."""
    try:
        aliases = client.get_registered_model(model_name).aliases or {}
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise
    if alias not in aliases:
        return None
    holder = client.get_model_version(model_name, str(aliases[alias]))
    return logic.CurrentHolder(version=str(holder.version), value=run_metric(client, holder.run_id, metric))


def promote_version(
    tracking_uri: str, model_name: str, version: str, alias: str, metric: str, force: bool
) -> logic.Decision:
    """Compares the version's metric with the alias holder's, records the
    decision as tags on the version, and moves the alias if the decision says so."""
    client = _client(tracking_uri)
    new = client.get_model_version(model_name, version)
    decision = logic.decision_from_tags(new.tags or {}, alias)
    if decision is not None:
        log.info("%s version %s: keeping the decision recorded earlier (%s)", model_name, version, decision.reason)
    else:
        value = run_metric(client, new.run_id, metric)
        if value is None:
            raise RuntimeError(f"{model_name} version {version} has no {metric} in run {new.run_id!r}")
        holder = current_holder(client, model_name, alias, metric)
        decision = logic.decide_promotion(metric, value, holder, force, version=str(version))
        tags = logic.decision_tags(decision, alias)
        # The promoted flag last: a retry only trusts a decision whose every tag
        # was written (decision_from_tags needs it).
        for key in sorted(tags, key=lambda k: k == logic.TAG_PROMOTED):
            client.set_model_version_tag(model_name, version, key, tags[key])
    if decision.promoted:
        client.set_registered_model_alias(model_name, alias, version)
    log.info(
        "%s version %s: %s (%s)",
        model_name,
        version,
        f"alias {alias!r} moved" if decision.promoted else f"alias {alias!r} left where it was",
        decision.reason,
    )
    return decision
