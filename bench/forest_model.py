#!/usr/bin/env python3
"""The benchmark forest: train it, log it to MLflow, register it.

One RandomForestClassifier (100 trees, fixed seed) on scikit-learn's bundled
breast-cancer data (569 rows, 30 features, no download), the model of the
`flavors` and `protocols` suites of bench/run.sh. Run with the project's venv:

    PY=$(bash scripts/python-env.sh)
    "$PY" bench/forest_model.py --tracking-uri http://127.0.0.1:5000 --flavor sklearn
    "$PY" bench/forest_model.py --tracking-uri http://127.0.0.1:5000 --flavor onnx

--flavor sklearn (name bench-forest): the sklearn flavor (and python_function),
  a column signature of 30 `double` columns (FEATURES) with a 2-row DataFrame
  input example: what a user logs, and what every flavors target serves.
--flavor onnx (name bench-forest-onnx): the same forest converted by skl2onnx
  (no ZipMap), a tensor signature float32 [-1, 30] (input `float_input`),
  outputs `label` int64 [-1] and `probabilities` float32 [-1, 2]: the
  protocols suite's model, which takes a 100x30 FP32 tensor as one input.
Both are the same trees (same seed), so their labels agree.

--dataset-out PATH writes the first rows as {"columns": [...], "data": [[...]]}
for the load generators' bodies (bench/dataset.ts).

Prints one JSON line on stdout (everything else goes to stderr):
  {"name", "version", "flavor", "alias", "model_uri", "features", "trees"}
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys

TREES = 100
RANDOM_STATE = 42
INPUT_NAME = "float_input"
# As scripts/demo_model.py: an opset the Node binding's onnxruntime knows.
TARGET_OPSET = {"": 18, "ai.onnx.ml": 3}
# Rows written by --dataset-out: request bodies cycle through them.
DATASET_ROWS = 128


def feature_names() -> list[str]:
    """sklearn's names ("mean radius") as identifiers ("mean_radius")."""
    from sklearn.datasets import load_breast_cancer

    return [name.replace(" ", "_") for name in load_breast_cancer().feature_names]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Register the benchmark forest in MLflow.")
    parser.add_argument("--tracking-uri", default=os.environ.get("MLFLOW_TRACKING_URI"))
    parser.add_argument("--flavor", choices=["sklearn", "onnx"], default="sklearn")
    parser.add_argument("--name", help="registered model name [bench-forest, bench-forest-onnx]")
    parser.add_argument("--alias", default="champion")
    parser.add_argument("--experiment", default="bench")
    parser.add_argument(
        "--dataset-out",
        help="also write the first DATASET_ROWS rows as {columns, data} JSON here (bench/dataset.ts)",
    )
    args = parser.parse_args(argv)
    if not args.tracking_uri:
        parser.error("no tracking server: pass --tracking-uri or set MLFLOW_TRACKING_URI")
    args.name = args.name or ("bench-forest" if args.flavor == "sklearn" else "bench-forest-onnx")
    return args


def train():
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import RandomForestClassifier

    data = load_breast_cancer(as_frame=True)
    x = data.data.set_axis(feature_names(), axis=1).astype("float64")
    y = data.target.astype("int64")
    model = RandomForestClassifier(n_estimators=TREES, random_state=RANDOM_STATE, n_jobs=1).fit(x, y)
    return model, x


def log_sklearn(model, x):
    import mlflow.sklearn
    from mlflow.models import infer_signature

    example = x.head(2).reset_index(drop=True)
    signature = infer_signature(example, model.predict(example))
    # MLflow 3 saves with skops, which loads tree storage only when trusted by
    # name; this file is our own.
    return mlflow.sklearn.log_model(
        model,
        name="model",
        signature=signature,
        input_example=example,
        skops_trusted_types=["sklearn.tree._tree.Tree"],
    )


def log_onnx(model, x):
    import mlflow.onnx
    import numpy as np
    import onnxruntime
    from mlflow.models.signature import ModelSignature
    from mlflow.types.schema import Schema, TensorSpec
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    features = x.shape[1]
    onx = convert_sklearn(
        model,
        initial_types=[(INPUT_NAME, FloatTensorType([None, features]))],
        options={id(model): {"zipmap": False}},
        target_opset=TARGET_OPSET,
    )
    rows = x.to_numpy(dtype="float32")
    session = onnxruntime.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    labels, _ = session.run(["label", "probabilities"], {INPUT_NAME: rows})
    agree = float(np.mean(labels == model.predict(rows)))
    if agree < 0.99:  # float32 thresholds may move a rare row; more is a broken conversion
        raise RuntimeError(f"ONNX labels agree with scikit-learn on only {agree:.1%} of the rows")
    classes = len(model.classes_)
    signature = ModelSignature(
        inputs=Schema([TensorSpec(np.dtype("float32"), (-1, features))]),
        outputs=Schema(
            [
                TensorSpec(np.dtype("int64"), (-1,), "label"),
                TensorSpec(np.dtype("float32"), (-1, classes), "probabilities"),
            ]
        ),
    )
    return mlflow.onnx.log_model(
        onx,
        name="model",
        signature=signature,
        input_example=rows[:2],
        save_as_external_data=False,
        onnx_execution_providers=["CPUExecutionProvider"],
    )


def run(args) -> dict:
    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(args.tracking_uri)
    mlflow.set_registry_uri(args.tracking_uri)
    mlflow.set_experiment(args.experiment)
    model, x = train()
    with mlflow.start_run(run_name=f"{args.name}-{args.flavor}"):
        mlflow.log_params({"n_estimators": TREES, "random_state": RANDOM_STATE, "flavor": args.flavor})
        info = log_sklearn(model, x) if args.flavor == "sklearn" else log_onnx(model, x)
        version = mlflow.register_model(info.model_uri, args.name)
    MlflowClient().set_registered_model_alias(args.name, args.alias, version.version)
    if args.dataset_out:
        rows = x.head(DATASET_ROWS)
        with open(args.dataset_out, "w") as out:
            json.dump({"columns": list(rows.columns), "data": rows.to_numpy().tolist()}, out)
    return {
        "name": args.name,
        "version": str(version.version),
        "flavor": args.flavor,
        "alias": args.alias,
        "model_uri": info.model_uri,
        "features": x.shape[1],
        "trees": TREES,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    with contextlib.redirect_stdout(sys.stderr):
        result = run(args)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
