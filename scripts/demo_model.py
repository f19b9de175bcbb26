#!/usr/bin/env python3
"""Train a small iris classifier, log it to MLflow as an ONNX model, register it.

For benchmarks, manual runs and tests that need a real registered model. Data
comes from scikit-learn's bundled iris set (no download). Run it with the
project's venv (scripts/python-env.sh):

    PY=$(bash scripts/python-env.sh)
    "$PY" scripts/demo_model.py --tracking-uri http://127.0.0.1:5000
    "$PY" scripts/demo_model.py --C 0.05 --no-alias          # a second, different version
    "$PY" scripts/demo_model.py --signature tensor --name iris-tensor
    "$PY" scripts/demo_model.py --broken --name iris-broken   # a version that fails to load

The model, as our ONNX runtime expects it (see shared/notes/mlflow-airflow.md):
  - LogisticRegression on features sepal_length, sepal_width, petal_length,
    petal_width; converted by skl2onnx without ZipMap (onnxruntime-node refuses
    non-tensor outputs);
  - input `float_input` float32 [None, 4]; outputs `label` int64 [N] and
    `probabilities` float32 [N, 3];
  - logged with save_as_external_data=False, so model.onnx is one
    self-contained file.
--signature columns (default) logs a column-based signature (4 `double`
columns) with a DataFrame input example; --signature tensor a tensor-based one
(float32 [-1, 4]) with a numpy input example. The output signature is the ONNX
outputs, as tensors, in both cases. Note: `mlflow models serve` (3.17.2) cannot
answer DataFrame input for the column variant (its ONNX pyfunc flattens the
[N,3] output; MLflow warns "Failed to validate serving input example" while
logging). Serve the tensor variant there; bench/reference/ has the details.

--broken registers a version whose artifacts are a well-formed ONNX-flavor
model directory (MLmodel, model.onnx, ...) except that model.onnx is garbage:
the registry accepts it, every loader fails on it.

Prints one JSON line on stdout at the end (everything else goes to stderr):
  {"name", "version", "run_id", "model_id", "alias", "signature", "broken",
   "metrics", "download_uri"}
model_id is null for --broken (registered from the run's artifacts, not from a
logged model). Exit status 2 on bad arguments, 1 on any other failure.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
from pathlib import Path

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
INPUT_NAME = "float_input"
# Fixed so that a given --C always gives the same model and metrics.
RANDOM_STATE = 42
TEST_SIZE = 0.3
MAX_ITER = 1000
# ONNX opsets the graph is written for. skl2onnx otherwise picks the newest it
# knows (22 for skl2onnx 1.20), which older onnxruntime builds (the Node
# binding may lag the Python one) refuse; 18 is what onnxruntime has supported
# since 1.14 and is all a linear classifier needs.
TARGET_OPSET = {"": 18, "ai.onnx.ml": 3}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Train an iris classifier and register it in MLflow as an ONNX model.",
    )
    parser.add_argument(
        "--tracking-uri",
        default=os.environ.get("MLFLOW_TRACKING_URI"),
        help="MLflow tracking server [env MLFLOW_TRACKING_URI]",
    )
    parser.add_argument("--name", default="iris-classifier", help="registered model name [%(default)s]")
    alias = parser.add_mutually_exclusive_group()
    alias.add_argument("--alias", default="champion", help="alias to point at the new version [%(default)s]")
    alias.add_argument("--no-alias", action="store_true", help="register without moving any alias")
    parser.add_argument(
        "--signature",
        choices=["columns", "tensor"],
        default="columns",
        help="column-based (4 double columns) or tensor-based (float32 [-1,4]) signature [%(default)s]",
    )
    parser.add_argument(
        "--C",
        dest="C",
        type=float,
        default=1.0,
        help="LogisticRegression inverse regularisation strength [%(default)s]. Other values give "
        "other probabilities for every row (setosa [5.1,3.5,1.4,0.2]: 0.977 at C=1, 0.85 at C=0.05) "
        "and other labels for some rows (5 of the 150 iris rows at C=0.05, 17 at C=0.01)",
    )
    parser.add_argument("--experiment", default="modelgate-demo", help="MLflow experiment [%(default)s]")
    parser.add_argument(
        "--broken",
        action="store_true",
        help="register a version whose model.onnx is corrupt (for failed-load tests)",
    )
    args = parser.parse_args(argv)
    if not args.tracking_uri:
        parser.error("no tracking server: pass --tracking-uri or set MLFLOW_TRACKING_URI")
    if args.C <= 0:
        parser.error("--C must be positive")
    if args.no_alias:
        args.alias = None
    return args


def load_data():
    """Iris with our column names, split the same way every time."""
    from sklearn.datasets import load_iris
    from sklearn.model_selection import train_test_split

    iris = load_iris(as_frame=True)
    x = iris.data.set_axis(FEATURES, axis=1).astype("float64")
    y = iris.target.astype("int64")
    return train_test_split(x, y, test_size=TEST_SIZE, random_state=RANDOM_STATE, stratify=y)


def train(x_train, y_train, c: float):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=MAX_ITER, random_state=RANDOM_STATE).fit(x_train, y_train)


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


def signature_and_example(kind: str, x_test):
    import numpy as np
    from mlflow.models.signature import ModelSignature
    from mlflow.types.schema import ColSpec, Schema, TensorSpec

    outputs = Schema(
        [
            TensorSpec(np.dtype("int64"), (-1,), "label"),
            TensorSpec(np.dtype("float32"), (-1, 3), "probabilities"),
        ]
    )
    if kind == "columns":
        inputs = Schema([ColSpec("double", name) for name in FEATURES])
        example = x_test.head(2).reset_index(drop=True)
    else:
        inputs = Schema([TensorSpec(np.dtype("float32"), (-1, len(FEATURES)))])
        example = x_test.head(2).to_numpy(dtype="float32")
    return ModelSignature(inputs=inputs, outputs=outputs), example


def check_onnx_file(path: Path, x_test, expected_labels, expected_proba) -> None:
    """The logged file must load in onnxruntime and agree with scikit-learn."""
    import numpy as np
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    inputs = [(i.name, i.type, i.shape) for i in session.get_inputs()]
    if inputs != [(INPUT_NAME, "tensor(float)", [None, len(FEATURES)])]:
        raise RuntimeError(f"unexpected ONNX inputs {inputs}")
    labels, proba = session.run(["label", "probabilities"], {INPUT_NAME: x_test.to_numpy(dtype="float32")})
    if labels.dtype != np.int64 or proba.dtype != np.float32 or proba.shape != (len(x_test), 3):
        raise RuntimeError(f"unexpected ONNX outputs: {labels.dtype} {proba.dtype} {proba.shape}")
    if not np.array_equal(labels, expected_labels):
        raise RuntimeError("onnxruntime labels differ from scikit-learn's")
    if not np.allclose(proba, expected_proba, atol=1e-4):
        raise RuntimeError("onnxruntime probabilities differ from scikit-learn's")


def check_logged_model(model_uri: str, x_test, expected_labels, expected_proba) -> None:
    """Download what was logged and check it the way a server would load it."""
    import mlflow
    import onnx
    import yaml
    from onnx.external_data_helper import uses_external_data

    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri))
    mlmodel = yaml.safe_load((local / "MLmodel").read_text())
    data = mlmodel.get("flavors", {}).get("onnx", {}).get("data")
    if data != "model.onnx":
        raise RuntimeError(f"logged model has no ONNX flavor with model.onnx (flavors.onnx.data={data!r})")
    # save_as_external_data=False: model.onnx must hold all its weights itself.
    onnx_model = onnx.load(str(local / "model.onnx"), load_external_data=False)
    external = [t.name for t in onnx_model.graph.initializer if uses_external_data(t)]
    if external:
        raise RuntimeError(f"model.onnx keeps initializers in external files: {external}")
    check_onnx_file(local / "model.onnx", x_test, expected_labels, expected_proba)


def pip_requirements() -> list[str]:
    """What mlflow would infer for this model, from the installed versions.
    Inference imports the model in a subprocess and takes ~10 s."""
    from importlib.metadata import version

    return [f"{pkg}=={version(pkg)}" for pkg in ("mlflow", "numpy", "onnx", "onnxruntime", "pandas")]


def register_broken(args, onx, signature, example):
    """A valid ONNX-flavor directory with garbage in model.onnx, logged as run
    artifacts and registered from the runs:/ URI (MLflow then uses the run's
    artifact location as the version's source and download URI)."""
    import mlflow
    import mlflow.onnx

    with tempfile.TemporaryDirectory() as tmp:
        model_dir = Path(tmp) / "model"
        mlflow.onnx.save_model(
            onx,
            str(model_dir),
            signature=signature,
            input_example=example,
            save_as_external_data=False,
            onnx_execution_providers=["CPUExecutionProvider"],
            pip_requirements=pip_requirements(),
        )
        # Not protobuf, not ONNX: onnxruntime fails with INVALID_PROTOBUF.
        garbage = model_dir / "model.onnx"
        garbage.write_bytes(b"\x00\xffthis is not an ONNX model\n" * 64)
        check_fails_to_load(garbage)
        mlflow.log_artifacts(str(model_dir), artifact_path="model")
    run_id = mlflow.active_run().info.run_id
    return mlflow.register_model(f"runs:/{run_id}/model", args.name)


def check_fails_to_load(path: Path) -> None:
    import onnxruntime

    try:
        onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception:  # onnxruntime raises its own pybind exception types
        return
    raise RuntimeError(f"{path} was meant to be corrupt but onnxruntime loads it")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # MLflow 3 reports usage to its vendor unless told not to; nothing here
    # may reach beyond the tracking server.
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

    # MLflow and its dependencies print progress to stdout; keep stdout for the
    # one JSON line callers parse.
    with contextlib.redirect_stdout(sys.stderr):
        result = run(args)
    print(json.dumps(result), flush=True)
    return 0


def run(args) -> dict:
    import mlflow
    import mlflow.onnx
    from mlflow import MlflowClient
    from sklearn.metrics import accuracy_score, f1_score

    mlflow.set_tracking_uri(args.tracking_uri)
    mlflow.set_registry_uri(args.tracking_uri)
    mlflow.set_experiment(args.experiment)
    client = MlflowClient()

    x_train, x_test, y_train, y_test = load_data()
    model = train(x_train, y_train, args.C)
    predicted = model.predict(x_test)
    metrics = {
        "accuracy": float(accuracy_score(y_test, predicted)),
        "f1_macro": float(f1_score(y_test, predicted, average="macro")),
    }
    onx = to_onnx(model)
    signature, example = signature_and_example(args.signature, x_test)

    run_name = f"{args.name}-C{args.C:g}-{args.signature}" + ("-broken" if args.broken else "")
    with mlflow.start_run(run_name=run_name) as active:
        mlflow.log_params(
            {
                "C": args.C,
                "max_iter": MAX_ITER,
                "signature": args.signature,
                "test_size": TEST_SIZE,
                "random_state": RANDOM_STATE,
                "broken": args.broken,
            }
        )
        mlflow.log_metrics(metrics)
        run_id = active.info.run_id

        if args.broken:
            version = register_broken(args, onx, signature, example)
            model_id = None
        else:
            info = mlflow.onnx.log_model(
                onx,
                name="model",
                signature=signature,
                input_example=example,
                save_as_external_data=False,
                # mlflow's default lists CUDA first, which only warns on CPU builds.
                onnx_execution_providers=["CPUExecutionProvider"],
                pip_requirements=pip_requirements(),
            )
            check_logged_model(info.model_uri, x_test, predicted, model.predict_proba(x_test))
            version = mlflow.register_model(info.model_uri, args.name)
            model_id = info.model_id

    if args.alias:
        client.set_registered_model_alias(args.name, args.alias, version.version)

    return {
        "name": args.name,
        "version": str(version.version),
        "run_id": run_id,
        "model_id": model_id,
        "alias": args.alias,
        "signature": args.signature,
        "broken": args.broken,
        "metrics": metrics,
        "download_uri": client.get_model_version_download_uri(args.name, version.version),
    }


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # one readable line for callers; the traceback for people
        import traceback

        traceback.print_exc()
        print(f"demo_model: {type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(1)
