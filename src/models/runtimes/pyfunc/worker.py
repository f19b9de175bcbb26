"""One pyfunc worker: serves one MLflow model version to Modelgate over stdio.

Run as `<python> -u worker.py <model directory>`. Loads the model with
`mlflow.pyfunc.load_model`, answers one `ready` or `error` frame, then one
answer frame per `predict` frame until stdin closes. stdout carries frames
only (model code that prints writes to stderr, which is the worker's log).

A frame is `u32 size | u32 header size | header (JSON) | buffers`, little
endian; `size` counts everything after itself and the header's `buffers`
lists the byte length of each buffer, in order. A tensor is
`{"name", "datatype", "shape", "buffer"}` (Open Inference datatype names; the
buffer index): numbers as raw little-endian values, BOOL as one byte each,
BYTES as `u32 length | UTF-8` per element.
"""

import json
import os
import struct
import sys
import traceback

# The frames' stream, taken before anything can print: fd 1 becomes stderr.
_FRAMES_OUT = os.fdopen(os.dup(1), "wb")
os.dup2(2, 1)
sys.stdout = sys.stderr
_FRAMES_IN = sys.stdin.buffer

_NUMERIC = {
    "BOOL": "|b1",
    "UINT8": "|u1",
    "UINT16": "<u2",
    "UINT32": "<u4",
    "UINT64": "<u8",
    "INT8": "|i1",
    "INT16": "<i2",
    "INT32": "<i4",
    "INT64": "<i8",
    "FP16": "<f2",
    "FP32": "<f4",
    "FP64": "<f8",
}

# MLflow column types -> the datatype their values travel as (as the Node side declares them).
_COLUMN_DATATYPE = {
    "boolean": "BOOL",
    "integer": "INT32",
    "long": "INT64",
    "float": "FP32",
    "double": "FP64",
    "string": "BYTES",
    "binary": "BYTES",
    "datetime": "BYTES",
}


class OutputMismatch(Exception):
    """predict's result does not fit the model's output signature."""


def _die_with_parent():
    """Linux: the kernel kills this worker when the process that started it dies."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # not Linux, or no libc: stdin closing still stops the worker
        pass


def read_exactly(size):
    chunks = []
    while size > 0:
        chunk = _FRAMES_IN.read(size)
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_frame():
    """The next (header, buffers), or None once stdin is closed."""
    prefix = read_exactly(8)
    if prefix is None:
        return None
    size, header_size = struct.unpack("<II", prefix)
    body = read_exactly(size - 4)
    if body is None or header_size > len(body):
        return None
    header = json.loads(body[:header_size].decode("utf-8"))
    buffers, offset = [], header_size
    for length in header.get("buffers", []):
        buffers.append(body[offset : offset + length])
        offset += length
    return header, buffers


def write_frame(header, buffers=()):
    header = dict(header, buffers=[len(b) for b in buffers])
    head = json.dumps(header).encode("utf-8")
    size = 4 + len(head) + sum(len(b) for b in buffers)
    _FRAMES_OUT.write(struct.pack("<II", size, len(head)))
    _FRAMES_OUT.write(head)
    for buffer in buffers:
        _FRAMES_OUT.write(buffer)
    _FRAMES_OUT.flush()


def decode_tensor(spec, buffers):
    import numpy as np

    raw = buffers[spec["buffer"]]
    shape = tuple(spec["shape"])
    if spec["datatype"] == "BYTES":
        values, offset = [], 0
        while offset < len(raw):
            (length,) = struct.unpack_from("<I", raw, offset)
            values.append(raw[offset + 4 : offset + 4 + length].decode("utf-8"))
            offset += 4 + length
        return np.array(values, dtype=object).reshape(shape)
    return np.frombuffer(raw, dtype=_NUMERIC[spec["datatype"]]).reshape(shape)


def encode_tensor(name, datatype, array, buffers):
    import numpy as np

    if datatype == "BYTES":
        parts = []
        for value in array.reshape(-1).tolist():
            data = value if isinstance(value, bytes) else _text(value).encode("utf-8")
            parts.append(struct.pack("<I", len(data)) + data)
        raw = b"".join(parts)
    else:
        raw = np.ascontiguousarray(array, dtype=_NUMERIC[datatype]).tobytes()
    buffers.append(raw)
    return {"name": name, "datatype": datatype, "shape": list(array.shape), "buffer": len(buffers) - 1}


def _text(value):
    if isinstance(value, str):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return json.dumps(value) if isinstance(value, (list, dict)) else str(value)


def model_input(model, tensors):
    """The feeds as the signature describes them: a typed data frame, or arrays."""
    import pandas as pd

    schema = model.metadata.get_input_schema()
    if schema is not None and not schema.is_tensor_spec():
        types = {col.name: col.type.name for col in schema.inputs}
        columns = {}
        for name, values in tensors.items():
            kind = types.get(name)
            if kind == "datetime":
                columns[name] = pd.to_datetime(values)
            elif kind == "binary":
                columns[name] = [v.encode("utf-8") for v in values]
            else:
                columns[name] = values
        return pd.DataFrame(columns)
    if schema is not None and not schema.has_input_names() and len(tensors) == 1:
        return next(iter(tensors.values()))
    if len(tensors) == 1 and schema is None:
        return next(iter(tensors.values()))
    return dict(tensors)


def declared_outputs(model):
    """Output name -> datatype from the output signature, and the datatype of its only output."""
    schema = model.metadata.get_output_schema()
    if schema is None:
        return {}, None
    by_name, datatypes = {}, []
    for spec in schema.inputs:
        if schema.is_tensor_spec():
            datatype = _tensor_datatype(spec.type)
        else:
            datatype = _COLUMN_DATATYPE[spec.type.name]
        datatypes.append(datatype)
        if spec.name is not None:
            by_name[spec.name] = datatype
    return by_name, datatypes[0] if len(datatypes) == 1 else None


def _tensor_datatype(dtype):
    import numpy as np

    dtype = np.dtype(dtype)
    if dtype.kind in "OUS":
        return "BYTES"
    for datatype, code in _NUMERIC.items():
        if np.dtype(code) == dtype.newbyteorder("<") or np.dtype(code) == dtype:
            return datatype
    raise OutputMismatch(f"the output signature's dtype {dtype} has no Open Inference datatype")


def _value_datatype(array):
    """For outputs the signature does not declare: numpy's own dtype (never the values)."""
    if array.dtype.kind in "OUSMm":
        return "BYTES"
    return _tensor_datatype(array.dtype)


def outputs_of(result, declared):
    """predict's result as (form, [(name, array)]); form is how MLflow's server writes it."""
    import numpy as np
    import pandas as pd

    by_name, only = declared
    if isinstance(result, pd.DataFrame):
        return "records", [(str(c), result[c].to_numpy()) for c in result.columns]
    if isinstance(result, pd.Series):
        return "records", [(str(result.name if result.name is not None else 0), result.to_numpy())]
    if isinstance(result, dict):
        return "dict", [(str(k), np.asarray(v)) for k, v in result.items()]
    name = next(iter(by_name)) if len(by_name) == 1 else "predictions"
    return "list", [(name, np.asarray(result))]


def typed(name, array, datatype):
    """The array as `datatype`, or OutputMismatch when its values cannot be that."""
    import numpy as np

    if datatype == "BYTES":
        return array
    target = np.dtype(_NUMERIC[datatype])
    source = array.dtype
    if source.kind == "O":
        try:
            return array.astype(target)
        except (TypeError, ValueError) as error:
            raise OutputMismatch(f"output '{name}' holds values that are not {datatype}: {error}")
    if source.kind not in "biuf" or not np.can_cast(source, target, casting="same_kind"):
        raise OutputMismatch(
            f"output '{name}' is {source} but the model's signature declares {datatype}"
        )
    converted = array.astype(target)
    if source.kind in "iu" and target.kind in "iu" and not np.array_equal(converted, array):
        raise OutputMismatch(f"output '{name}' holds values out of the {datatype} range")
    return converted


def answer(model, declared, header, buffers):
    tensors = {t["name"]: decode_tensor(t, buffers) for t in header["inputs"]}
    data = model_input(model, tensors)
    params = header.get("params")
    if params and model.metadata.get_params_schema() is not None:
        result = model.predict(data, params=params)
    else:
        result = model.predict(data)
    form, arrays = outputs_of(result, declared)
    by_name, only = declared
    out_buffers, outputs = [], []
    for name, array in arrays:
        datatype = by_name.get(name) or (only if len(arrays) == 1 else None)
        array = typed(name, array, datatype) if datatype else array
        outputs.append(encode_tensor(name, datatype or _value_datatype(array), array, out_buffers))
    return {"type": "result", "id": header["id"], "form": form, "outputs": outputs}, out_buffers


def failure(request_id, error):
    from mlflow.exceptions import MlflowException

    if isinstance(error, OutputMismatch):
        kind = "output"
    elif isinstance(error, MlflowException) and error.error_code == "INVALID_PARAMETER_VALUE":
        kind = "input"
    else:
        kind = "model"
    message = error.message if isinstance(error, MlflowException) else f"{type(error).__name__}: {error}"
    return {"type": "error", "id": request_id, "kind": kind, "message": str(message)}


def load(directory):
    try:
        import mlflow.pyfunc

        model = mlflow.pyfunc.load_model(directory)
        return model, declared_outputs(model)
    except ModuleNotFoundError as error:
        traceback.print_exc()
        write_frame({"type": "error", "kind": "import", "module": error.name, "message": str(error)})
    except Exception as error:
        traceback.print_exc()
        write_frame({"type": "error", "kind": "load", "message": f"{type(error).__name__}: {error}"})
    sys.exit(1)


def main(directory):
    _die_with_parent()
    model, declared = load(directory)
    write_frame({"type": "ready", "pid": os.getpid(), "params": model.metadata.get_params_schema() is not None})
    while True:
        frame = read_frame()
        if frame is None:
            return
        header, buffers = frame
        try:
            reply, out = answer(model, declared, header, buffers)
        except Exception as error:
            reply, out = failure(header.get("id"), error), []
        write_frame(reply, out)


if __name__ == "__main__":
    main(sys.argv[1])
