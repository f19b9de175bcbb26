"""Converts one MLflow model version to ONNX, and keeps the result only if it
answers exactly what MLflow's own `pyfunc` predict answers.

Run by Modelgate once per version and settings, at load:
`<python> convert.py` with a JSON request on stdin:
  {"model_dir", "output_dir", "tolerance": {"absolute", "relative"},
   "rows", "seed", "time_limit_seconds"}
It writes `model.onnx` (when converted) and `report.json` into output_dir
(atomically: a staging directory renamed into place) and prints the report as
one JSON line on stdout. The report says `converted: true`, or `false` with
the reason conversion is not used. An exit status other than 0 is a crash of
this script, not a verdict on the model.

The served graph is the converter's, cut down to the output `predict` gives
(a classifier's label, a regressor's value), cast to the dtype the signature
declares for it, reshaped to its shape and named as the signature names it
(`predictions` when unnamed): what onnxruntime answers here is what the
server answers. A classifier's probabilities are not served: MLflow's
`predict` does not give them.
"""

import json
import os
import re
import shutil
import sys
import time
import traceback

import numpy as np

#: Flavors with a converter, in the order a model's flavors are looked at.
CONVERTIBLE_FLAVORS = ("sklearn", "xgboost", "lightgbm")
#: The served output's name when the signature's output has none (as the scoring-server runtime names it).
UNNAMED_OUTPUT = "predictions"
#: The served input's name when the signature's input tensor has none, or the signature is column-based.
UNNAMED_INPUT = "input"

#: MLflow column types → the numpy dtype pandas gives such a column.
COLUMN_DTYPES = {
    "integer": np.int32,
    "long": np.int64,
    "float": np.float32,
    "double": np.float64,
    "boolean": np.bool_,
    "string": np.object_,
}


class Declined(Exception):
    """The model is not served through ONNX, for the reason given (a verdict, not a crash)."""


class Deadline:
    """The request's time limit, checked between steps (a step itself is not interrupted)."""

    def __init__(self, seconds):
        self.ends = time.monotonic() + seconds
        self.seconds = seconds

    def check(self, step):
        if time.monotonic() > self.ends:
            raise Declined(f"conversion took longer than {self.seconds:g} s (stopped before {step})")


def main():
    request = json.load(sys.stdin)
    started = time.monotonic()
    deadline = Deadline(float(request["time_limit_seconds"]))
    settings = {
        "tolerance": request["tolerance"],
        "rows": int(request["rows"]),
        "seed": int(request["seed"]),
    }
    report = {"converted": False, "settings": settings, "versions": package_versions()}
    model_bytes = None
    try:
        model_bytes, details = convert_and_check(request, deadline)
        report.update(details)
        report["converted"] = True
    except Declined as declined:
        report["reason"] = str(declined)
        report["cacheable"] = "longer than" not in str(declined)
    report["durationSeconds"] = round(time.monotonic() - started, 3)
    if report.get("cacheable", True):
        write_result(request["output_dir"], report, model_bytes)
    print(json.dumps(report))


def convert_and_check(request, deadline):
    from mlflow.models import Model

    model_dir = request["model_dir"]
    mlmodel = Model.load(model_dir)
    flavor = next((f for f in mlmodel.flavors if f in CONVERTIBLE_FLAVORS), None)
    if flavor is None:
        raise Declined(f"no converter for its flavors ({', '.join(mlmodel.flavors)})")
    signature = mlmodel.signature
    if signature is None:
        raise Declined("it has no signature, so the ONNX input types are unknown")
    served_input = input_of(signature.inputs)
    served_output = output_of(signature.outputs)

    deadline.check("loading the model")
    native = load_native(flavor, model_dir)
    import mlflow.pyfunc

    pyfunc_model = mlflow.pyfunc.load_model(model_dir)

    deadline.check("converting")
    served_input = onnx_input(flavor, served_input)
    converter, graph = convert(flavor, native, served_input)
    graph = serve_predict_output(graph, served_output)
    model_bytes = graph.SerializeToString()

    deadline.check("checking answers")
    example = input_example(mlmodel, model_dir, served_input)
    generated = generated_rows(served_input, example, request["rows"], request["seed"])
    frames = [f for f in (example, generated) if f is not None and len(f) > 0]
    check = compare(pyfunc_model, model_bytes, frames, served_input, served_output, request["tolerance"])
    return model_bytes, {
        "flavor": flavor,
        "converter": converter,
        "estimator": type(native).__name__,
        "input": {k: served_input[k] for k in ("name", "dtype", "width")},
        "output": {k: served_output[k] for k in ("name", "dtype", "shape", "kind")},
        "rows": {
            "example": 0 if example is None else len(example),
            "generated": 0 if generated is None else len(generated),
        },
        **check,
        "file": "model.onnx",
    }


def input_of(inputs):
    """The one ONNX input a signature's inputs become: columns side by side, or its one tensor."""
    if inputs.is_tensor_spec():
        specs = inputs.inputs
        if len(specs) != 1:
            raise Declined(f"its signature has {len(specs)} input tensors; only one is converted")
        spec = specs[0]
        dtype = np.dtype(spec.type)
        if dtype not in (np.float32, np.float64) or len(spec.shape) != 2 or spec.shape[1] < 0:
            raise Declined(
                f"its input tensor is {dtype} {list(spec.shape)}; only float32/float64 [-1, n] tensors are converted"
            )
        return {"name": spec.name or UNNAMED_INPUT, "dtype": str(dtype), "width": spec.shape[1],
                "columns": None, "column_dtypes": None}
    columns = inputs.inputs
    kinds = [c.type.name for c in columns]
    unsupported = sorted({k for k in kinds if k not in ("integer", "long", "float", "double")})
    if unsupported:
        raise Declined(f"its signature has {', '.join(unsupported)} columns; only numeric columns are converted")
    if any(not c.required for c in columns):
        raise Declined("its signature has optional columns; a missing value has no ONNX equivalent here")
    # scikit-learn reads a frame of float32 columns as float32, anything else as float64.
    dtype = "float32" if all(k == "float" for k in kinds) else "float64"
    return {"name": UNNAMED_INPUT, "dtype": dtype, "width": len(columns),
            "columns": inputs.input_names() if inputs.has_input_names() else None,
            "column_dtypes": [COLUMN_DTYPES[k] for k in kinds]}


def output_of(outputs):
    """The one output predict gives, as the signature declares it."""
    if outputs is None or len(outputs.inputs) != 1:
        count = 0 if outputs is None else len(outputs.inputs)
        raise Declined(f"its signature declares {count} outputs; only a single-output predict is converted")
    spec = outputs.inputs[0]
    if outputs.is_tensor_spec():
        dtype = np.dtype(spec.type)
        shape = list(spec.shape)
    else:
        if spec.type.name not in COLUMN_DTYPES:
            raise Declined(f"its output is a {spec.type.name} column, which is not converted")
        dtype = np.dtype(COLUMN_DTYPES[spec.type.name])
        shape = [-1]
    if not shape or shape[0] != -1 or any(d < 0 for d in shape[1:]):
        raise Declined(f"its output shape {shape} is not [-1] or [-1, n]")
    kind = "scores" if dtype.kind == "f" else "labels"
    return {"name": spec.name or UNNAMED_OUTPUT, "dtype": str(dtype), "shape": shape, "kind": kind,
            "numpy": dtype}


def load_native(flavor, model_dir):
    if flavor == "sklearn":
        import mlflow.sklearn

        return mlflow.sklearn.load_model(model_dir)
    if flavor == "xgboost":
        import mlflow.xgboost

        return mlflow.xgboost.load_model(model_dir)
    import mlflow.lightgbm

    return mlflow.lightgbm.load_model(model_dir)


def convert(flavor, native, served_input):
    """(converter name and version, ONNX ModelProto) with no ZipMap; Declined when the converter refuses."""
    if flavor == "sklearn":
        import skl2onnx
        from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

        tool, version = "skl2onnx", skl2onnx.__version__
        tensor_type = DoubleTensorType if served_input["dtype"] == "float64" else FloatTensorType
    else:
        import onnxmltools
        from onnxmltools.convert.common.data_types import FloatTensorType as tensor_type

        tool, version = "onnxmltools", onnxmltools.__version__
    types = [(served_input["name"], tensor_type([None, served_input["width"]]))]
    try:
        if flavor == "sklearn":
            graph = skl2onnx.convert_sklearn(
                native,
                initial_types=types,
                options={id(e): {"zipmap": False} for e in classifiers_in(native)},
            )
        elif flavor == "xgboost":
            graph = onnxmltools.convert_xgboost(without_feature_names(native), initial_types=types)
        else:
            graph = onnxmltools.convert_lightgbm(native, initial_types=types, zipmap=False)
    except Exception as error:  # the converters raise bare RuntimeError, TypeError, NotImplementedError, …
        raise Declined(refusal(tool, native, error)) from error
    return f"{tool} {version}", graph


def onnx_input(flavor, served_input):
    """The boosters compute in float32 whatever they are given, and their converters take only float32."""
    return served_input if flavor == "sklearn" else dict(served_input, dtype="float32")


def classifiers_in(estimator):
    """The estimator and every estimator inside it (pipelines, ensembles) that is a classifier."""
    from sklearn.base import BaseEstimator, is_classifier

    found = [estimator] if is_classifier(estimator) else []
    if isinstance(estimator, BaseEstimator):
        for value in estimator.get_params(deep=True).values():
            if isinstance(value, BaseEstimator) and is_classifier(value) and value is not estimator:
                found.append(value)
    return found


def without_feature_names(model):
    """onnxmltools reads xgboost features as f0, f1, …: a booster trained on a frame names them otherwise."""
    booster = model.get_booster() if hasattr(model, "get_booster") else model
    booster.feature_names = None
    booster.feature_types = None
    return model


def refusal(tool, native, error):
    """The converter's refusal in one line: which estimator type it cannot convert, and its words why."""
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    first = lines[0] if lines else type(error).__name__
    named = (
        re.search(r"type '<class '(?:[\w.]+\.)?(\w+)'>'", first)
        or re.search(r"<class '(?:[\w.]+\.)?(\w+)'>", first)
        or re.match(r"(\w+) is not supported", first)
    )
    if named and "shape calculator" in first:
        return f"{tool} cannot convert {named.group(1)}"
    # Converters end their messages with where to file an issue: not a reason.
    first = re.sub(r"\s*You may raise an issue.*$", "", first)
    subject = named.group(1) if named else type(native).__name__
    return f"{tool} cannot convert {subject}: {first[:300]}"


def serve_predict_output(graph, served_output):
    """The graph cut to the converter's first output (what predict gives), cast, reshaped and renamed."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    first = graph.graph.output[0].name
    del graph.graph.output[:]
    target = helper.np_dtype_to_tensor_dtype(served_output["numpy"]) if served_output["numpy"] != np.object_ \
        else TensorProto.STRING
    shape = served_output["shape"]
    shape_name = "modelgate_predict_shape"
    graph.graph.initializer.append(numpy_helper.from_array(np.asarray(shape, dtype=np.int64), shape_name))
    cast = helper.make_node("Cast", [first], ["modelgate_predict_cast"], to=target)
    reshape = helper.make_node("Reshape", ["modelgate_predict_cast", shape_name], [served_output["name"]])
    graph.graph.node.extend([cast, reshape])
    if not any(o.domain in ("", "ai.onnx") for o in graph.opset_import):
        # onnxmltools' xgboost graphs use only ai.onnx.ml; Cast and Reshape need the default domain (opset 15: onnxruntime ≥ 1.10).
        graph.opset_import.append(helper.make_opsetid("", 15))
    dims = [None if d < 0 else d for d in shape]
    graph.graph.output.append(helper.make_tensor_value_info(served_output["name"], target, dims))
    onnx.checker.check_model(graph)
    return graph


def input_example(mlmodel, model_dir, served_input):
    """The logged input example as the frame or array predict takes, or None."""
    try:
        example = mlmodel.load_input_example(model_dir)
    except Exception:  # a malformed example is the warm-up's to report, not a reason to decline
        return None
    if example is None:
        return None
    import pandas as pd

    if served_input["columns"] is None and not isinstance(example, pd.DataFrame):
        return np.asarray(example, dtype=served_input["dtype"]).reshape(-1, served_input["width"])
    frame = example if isinstance(example, pd.DataFrame) else pd.DataFrame(example)
    if served_input["columns"] is not None:
        frame = frame[served_input["columns"]]
    return frame


def generated_rows(served_input, example, count, seed):
    """`count` seeded rows of the signature's types, within the example's ranges (±10%) when there is one."""
    if count <= 0:
        return None
    rng = np.random.default_rng(seed)
    width = served_input["width"]
    values = np.asarray(example, dtype=np.float64) if example is not None and len(example) else None
    if values is not None:
        low, high = values.min(axis=0), values.max(axis=0)
        span = np.where(high > low, high - low, np.maximum(np.abs(high), 1.0))
        low, high = low - 0.1 * span, high + 0.1 * span
    else:
        low, high = np.full(width, -1.0), np.full(width, 1.0)
    data = rng.uniform(low, high, size=(count, width))
    if served_input["columns"] is None and served_input["column_dtypes"] is None:
        return data.astype(served_input["dtype"])
    import pandas as pd

    names = served_input["columns"] or list(range(width))
    columns = {}
    for name, dtype, column in zip(names, served_input["column_dtypes"], data.T):
        columns[name] = np.round(column).astype(dtype) if np.dtype(dtype).kind in "iu" else column.astype(dtype)
    return pd.DataFrame(columns)


def compare(pyfunc_model, model_bytes, frames, served_input, served_output, tolerance):
    """Runs both on every row: labels must be equal, scores within tolerance. Declined when they differ."""
    import onnxruntime

    if not frames:
        raise Declined("there are no rows to check the ONNX answers on (no input example, MODEL_ONNX_CHECK_ROWS=0)")
    session = onnxruntime.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    rows = differing = 0
    max_difference = 0.0
    for frame in frames:
        expected = np.asarray(pyfunc_model.predict(frame))
        feed = np.asarray(frame, dtype=served_input["dtype"])
        (got,) = session.run([served_output["name"]], {served_input["name"]: feed})
        rows += len(feed)
        if got.shape != expected.shape:
            raise Declined(f"ONNX answers shape {list(got.shape)} where predict answers {list(expected.shape)}")
        flat_got, flat_expected = got.reshape(len(feed), -1), expected.reshape(len(feed), -1)
        if served_output["kind"] == "labels":
            same = (flat_got == flat_expected.astype(got.dtype)).all(axis=1)
        else:
            a, b = flat_got.astype(np.float64), flat_expected.astype(np.float64)
            diff = np.abs(a - b)
            both_nan = np.isnan(a) & np.isnan(b)
            diff = np.where(both_nan, 0.0, diff)
            max_difference = max(max_difference, float(np.nanmax(diff, initial=0.0)) if diff.size else 0.0)
            allowed = tolerance["absolute"] + tolerance["relative"] * np.abs(b)
            same = ((diff <= allowed) | both_nan).all(axis=1)
        differing += int((~same).sum())
    if differing:
        what = "labels" if served_output["kind"] == "labels" else "scores"
        detail = "" if what == "labels" else (
            f" (max difference {max_difference:.3g}, tolerance {tolerance['absolute']:g} + "
            f"{tolerance['relative']:g}×|value|)"
        )
        raise Declined(f"{what} differ on {differing} of {rows} rows{detail}")
    return {"rowsChecked": rows, "maxDifference": max_difference}


def package_versions():
    from importlib import metadata

    versions = {}
    for package in ("mlflow", "scikit-learn", "skl2onnx", "onnxmltools", "onnx", "onnxruntime", "xgboost", "xgboost-cpu",
                    "lightgbm", "numpy", "pandas"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return versions


def write_result(output_dir, report, model_bytes):
    """Into a staging directory, then renamed into place: a reader sees all of it or none."""
    staging = f"{output_dir}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(staging)
    if model_bytes is not None:
        with open(os.path.join(staging, "model.onnx"), "wb") as f:
            f.write(model_bytes)
    with open(os.path.join(staging, "report.json"), "w") as f:
        json.dump(report, f, indent=2)
    shutil.rmtree(output_dir, ignore_errors=True)
    os.replace(staging, output_dir)


if __name__ == "__main__":
    try:
        main()
    except Exception:
        traceback.print_exc()
        sys.exit(1)
