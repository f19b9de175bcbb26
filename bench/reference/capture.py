#!/usr/bin/env python3
"""Record what `mlflow models serve` answers, byte for byte, for every request
form of the MLflow scoring protocol and for the error cases our encoder must
mirror. Writes mlflow-scoring-responses.json (complete) beside this file; the
Markdown reference (mlflow-scoring-responses.md) is written from it by
--markdown.

Not a test and not part of the benchmark: run it by hand when MLflow's version
changes. How the servers were started is in the Markdown's header; in short,
with the project venv's bin/ on PATH (the serve command execs `uvicorn` from
PATH):

    mlflow models serve -m models:/iris-classifier@champion --env-manager local -p 15700
    mlflow models serve -m models:/iris-tensor@champion     --env-manager local -p 15701
    mlflow models serve -m <label-only dir>                  --env-manager local -p 15703
    python bench/reference/capture.py \\
        --target columns=http://127.0.0.1:15700 --target tensor=http://127.0.0.1:15701 \\
        --target columns-label-only=http://127.0.0.1:15703
    python bench/reference/capture.py --markdown

--make-label-only DIR saves the iris model with a column signature and only its
`label` output (see the Markdown for why) as a local MLflow model directory.
"""

from __future__ import annotations

import argparse
import http.client
import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
JSON_OUT = HERE / "mlflow-scoring-responses.json"
MD_OUT = HERE / "mlflow-scoring-responses.md"

COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
ROW_A = [5.1, 3.5, 1.4, 0.2]  # a setosa (label 0)
ROW_B = [6.7, 3.0, 5.2, 2.3]  # a virginica (label 2)
JSON_CT = "application/json"


def j(obj) -> bytes:
    return json.dumps(obj).encode()


def split(rows, columns=COLUMNS, **extra):
    return {"dataframe_split": {"columns": columns, "data": rows, **extra}}


def records(rows, columns=COLUMNS):
    return {"dataframe_records": [dict(zip(columns, r)) for r in rows]}


def csv(rows, columns=COLUMNS) -> bytes:
    lines = [",".join(columns)] + [",".join(str(v) for v in r) for r in rows]
    return ("\n".join(lines) + "\n").encode()


# (id, group, description, method, path, content-type or None, body bytes)
CASES = [
    # --- request forms that should succeed
    ("split-1", "ok", "dataframe_split, 1 row", "POST", "/invocations", JSON_CT, j(split([ROW_A]))),
    ("split-2", "ok", "dataframe_split, 2 rows", "POST", "/invocations", JSON_CT, j(split([ROW_A, ROW_B]))),
    ("split-2-index", "ok", "dataframe_split, 2 rows, with index [10, 11]", "POST", "/invocations", JSON_CT,
     j(split([ROW_A, ROW_B], index=[10, 11]))),
    ("split-2-reordered", "ok", "dataframe_split, 2 rows, columns in another order", "POST", "/invocations",
     JSON_CT, j(split([[r[3], r[2], r[1], r[0]] for r in (ROW_A, ROW_B)], columns=COLUMNS[::-1]))),
    ("records-1", "ok", "dataframe_records, 1 row", "POST", "/invocations", JSON_CT, j(records([ROW_A]))),
    ("records-2", "ok", "dataframe_records, 2 rows", "POST", "/invocations", JSON_CT, j(records([ROW_A, ROW_B]))),
    ("inputs-1", "ok", "inputs (list of rows), 1 row", "POST", "/invocations", JSON_CT, j({"inputs": [ROW_A]})),
    ("inputs-2", "ok", "inputs (list of rows), 2 rows", "POST", "/invocations", JSON_CT,
     j({"inputs": [ROW_A, ROW_B]})),
    ("inputs-columnar-2", "ok", "inputs as a dict of columns, 2 rows", "POST", "/invocations", JSON_CT,
     j({"inputs": {c: [ROW_A[i], ROW_B[i]] for i, c in enumerate(COLUMNS)}})),
    ("instances-1", "ok", "instances (list of rows), 1 row", "POST", "/invocations", JSON_CT,
     j({"instances": [ROW_A]})),
    ("instances-2", "ok", "instances (list of rows), 2 rows", "POST", "/invocations", JSON_CT,
     j({"instances": [ROW_A, ROW_B]})),
    ("instances-records-2", "ok", "instances as a list of objects, 2 rows", "POST", "/invocations", JSON_CT,
     j({"instances": [dict(zip(COLUMNS, r)) for r in (ROW_A, ROW_B)]})),
    ("csv-1", "ok", "text/csv with header row, 1 row", "POST", "/invocations", "text/csv", csv([ROW_A])),
    ("csv-2", "ok", "text/csv with header row, 2 rows", "POST", "/invocations", "text/csv", csv([ROW_A, ROW_B])),
    ("split-1-charset", "ok", "dataframe_split, 1 row, Content-Type: application/json; charset=utf-8", "POST",
     "/invocations", "application/json; charset=utf-8", j(split([ROW_A]))),
    ("split-1-charset-upper", "ok", "dataframe_split, 1 row, Content-Type: application/json; charset=UTF-8",
     "POST", "/invocations", "application/json; charset=UTF-8", j(split([ROW_A]))),
    ("split-1-ints", "ok", "dataframe_split, 1 row, integers in the double columns", "POST", "/invocations",
     JSON_CT, j(split([[5, 3, 1, 0]]))),
    ("split-1-params", "ok", "dataframe_split, 1 row, plus \"params\": {}", "POST", "/invocations", JSON_CT,
     j({**split([ROW_A]), "params": {}})),
    ("split-0", "ok", "dataframe_split, 0 rows", "POST", "/invocations", JSON_CT, j(split([]))),
    # --- errors the brief asks for
    ("err-missing-column", "error", "(a) dataframe_split without petal_width", "POST", "/invocations", JSON_CT,
     j(split([ROW_A[:3]], columns=COLUMNS[:3]))),
    ("err-missing-column-records", "error", "(a) dataframe_records without petal_width", "POST", "/invocations",
     JSON_CT, j(records([ROW_A[:3]], columns=COLUMNS[:3]))),
    ("err-extra-column", "error", "(b) dataframe_split with an extra column `color`", "POST", "/invocations",
     JSON_CT, j(split([ROW_A + [1.0]], columns=COLUMNS + ["color"]))),
    ("err-string-in-double", "error", "(c) dataframe_split with \"abc\" as sepal_length", "POST", "/invocations",
     JSON_CT, j(split([["abc"] + ROW_A[1:]]))),
    ("err-numeric-string-in-double", "error", "(c') dataframe_split with \"5.1\" (a numeric string) as sepal_length",
     "POST", "/invocations", JSON_CT, j(split([["5.1"] + ROW_A[1:]]))),
    ("err-null-in-double", "error", "(c'') dataframe_split with null as sepal_length", "POST", "/invocations",
     JSON_CT, j(split([[None] + ROW_A[1:]]))),
    ("err-tensor-width-3", "error", "(d) inputs with 3 values per row", "POST", "/invocations", JSON_CT,
     j({"inputs": [ROW_A[:3]]})),
    ("err-tensor-width-5", "error", "(d) inputs with 5 values per row", "POST", "/invocations", JSON_CT,
     j({"inputs": [ROW_A + [1.0]]})),
    ("err-tensor-ragged", "error", "(d') inputs with rows of 4 and 3 values", "POST", "/invocations", JSON_CT,
     j({"inputs": [ROW_A, ROW_B[:3]]})),
    ("err-content-type-text", "error", "(e) Content-Type: text/plain", "POST", "/invocations", "text/plain",
     j(split([ROW_A]))),
    ("err-content-type-form", "error", "(e) Content-Type: application/x-www-form-urlencoded", "POST",
     "/invocations", "application/x-www-form-urlencoded", j(split([ROW_A]))),
    ("err-content-type-charset", "error", "(e) Content-Type: application/json; charset=latin-1", "POST",
     "/invocations", "application/json; charset=latin-1", j(split([ROW_A]))),
    ("err-content-type-param", "error", "(e) Content-Type: application/json; format=pandas-split", "POST",
     "/invocations", "application/json; format=pandas-split", j(split([ROW_A]))),
    ("err-content-type-case", "error", "(e) Content-Type: Application/JSON", "POST", "/invocations",
     "Application/JSON", j(split([ROW_A]))),
    ("err-content-type-missing", "error", "(e) no Content-Type header", "POST", "/invocations", None,
     j(split([ROW_A]))),
    ("err-malformed-json", "error", "(f) truncated JSON", "POST", "/invocations", JSON_CT,
     b'{"dataframe_split": {"columns": ["sepal_length"'),
    ("err-empty-body", "error", "(f) empty body", "POST", "/invocations", JSON_CT, b""),
    ("err-json-list", "error", "(f) a JSON array instead of an object", "POST", "/invocations", JSON_CT,
     j([ROW_A])),
    ("err-no-format-key", "error", "(f) an object without any format key", "POST", "/invocations", JSON_CT,
     j({"data": [ROW_A]})),
    ("err-two-format-keys", "error", "(f) both dataframe_split and inputs", "POST", "/invocations", JSON_CT,
     j({**split([ROW_A]), "inputs": [ROW_A]})),
    ("err-csv-missing-column", "error", "(a) text/csv without petal_width", "POST", "/invocations", "text/csv",
     csv([ROW_A[:3]], columns=COLUMNS[:3])),
    ("err-csv-string", "error", "(c) text/csv with abc as sepal_length", "POST", "/invocations", "text/csv",
     csv([["abc"] + ROW_A[1:]])),
    # --- the other routes
    ("get-ping", "route", "GET /ping", "GET", "/ping", None, b""),
    ("get-health", "route", "GET /health", "GET", "/health", None, b""),
    ("get-version", "route", "GET /version", "GET", "/version", None, b""),
    ("get-invocations", "route", "GET /invocations", "GET", "/invocations", None, b""),
    ("post-unknown", "route", "POST /predict (no such route)", "POST", "/predict", JSON_CT, j(split([ROW_A]))),
]

SKIPPED_HEADERS = {"date"}


def send(base: str, method: str, path: str, content_type: str | None, body: bytes) -> dict:
    url = urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    headers = {"Accept": "*/*"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    # http.client adds Content-Length for bytes bodies, and nothing else.
    conn.request(method, path, body=body if method != "GET" else None, headers=headers)
    resp = conn.getresponse()
    raw = resp.read()
    conn.close()
    return {
        "status": resp.status,
        "headers": [[k.lower(), v] for k, v in resp.getheaders() if k.lower() not in SKIPPED_HEADERS],
        "body": raw.decode("utf-8", errors="backslashreplace"),
    }


def capture(targets: dict[str, str]) -> None:
    results = []
    for case_id, group, desc, method, path, ctype, body in CASES:
        entry = {
            "id": case_id,
            "group": group,
            "description": desc,
            "request": {
                "method": method,
                "path": path,
                "content_type": ctype,
                "body": body.decode(),
            },
            "responses": {},
        }
        for name, base in targets.items():
            entry["responses"][name] = send(base, method, path, ctype, body)
        results.append(entry)
        print(f"{case_id}: " + ", ".join(f"{n}={r['status']}" for n, r in entry["responses"].items()),
              file=sys.stderr)
    versions = {}
    for name, base in targets.items():
        versions[name] = send(base, "GET", "/version", None, b"")["body"]
    JSON_OUT.write_text(json.dumps({"targets": targets, "mlflow_versions": versions, "cases": results},
                                   indent=2) + "\n")
    # `npm run lint` runs prettier --check over the repository, JSON included.
    prettier = HERE.parent.parent / "node_modules" / ".bin" / "prettier"
    if prettier.exists():
        subprocess.run([str(prettier), "--write", "--log-level", "warn", str(JSON_OUT)], check=True)
    print(f"wrote {JSON_OUT}", file=sys.stderr)


def make_label_only(directory: str) -> None:
    """The demo iris model (C=1) with a column signature and only the `label`
    output: the one shape of an ONNX classifier that MLflow's ONNX pyfunc can
    answer for a DataFrame input, so the reference shows how the scoring server
    encodes a DataFrame result."""
    import importlib.util

    import mlflow.onnx
    import onnx

    spec = importlib.util.spec_from_file_location("demo_model", HERE.parent.parent / "scripts" / "demo_model.py")
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    x_train, x_test, y_train, _ = demo.load_data()
    onx = demo.to_onnx(demo.train(x_train, y_train, 1.0))
    keep = [o for o in onx.graph.output if o.name == "label"]
    del onx.graph.output[:]
    onx.graph.output.extend(keep)
    onnx.checker.check_model(onx)
    signature, example = demo.signature_and_example("columns", x_test)
    from mlflow.models.signature import ModelSignature

    signature = ModelSignature(inputs=signature.inputs, outputs=None)
    mlflow.onnx.save_model(onx, directory, signature=signature, input_example=example,
                           save_as_external_data=False, onnx_execution_providers=["CPUExecutionProvider"],
                           pip_requirements=demo.pip_requirements())
    print(directory)


HEADER = """# What `mlflow models serve` answers (MLflow 3.17.2)

Real responses, captured by `bench/reference/capture.py` from three
`mlflow models serve --env-manager local` processes (uvicorn, 1 worker) run
from the project venv (`scripts/python-env.sh`: mlflow 3.17.2, onnxruntime
1.31.1, pandas 3.1.1, numpy 2.4.6, fastapi 0.165.0, uvicorn 0.54.0). Every
byte of every body is in `mlflow-scoring-responses.json` beside this file
(requests included); below, bodies are shown exactly as received except that
`stack_trace` values are cut (marked), and a body that is only whitespace is
shown as a JSON string literal. `date` headers are dropped; every response
also carried `server: uvicorn`.

The three models (the same iris LogisticRegression, C=1, converted by skl2onnx
with `zipmap: False`; ONNX input `float_input` float32 [None,4], outputs
`label` int64 [N] and `probabilities` float32 [N,3]):

| target | model | signature inputs |
|---|---|---|
| `columns` | `models:/iris-classifier@champion` (demo_model.py defaults) | 4 `double` columns `sepal_length, sepal_width, petal_length, petal_width` |
| `tensor` | `models:/iris-tensor@champion` (demo_model.py `--signature tensor`) | one unnamed tensor float32 [-1,4] |
| `columns-label-only` | same graph with only the `label` output, column signature (`capture.py --make-label-only`) | 4 `double` columns |

Rows used: `ROW_A = [5.1, 3.5, 1.4, 0.2]` (label 0), `ROW_B = [6.7, 3.0, 5.2, 2.3]` (label 2).

Regenerate (servers on 15700/15701/15703, venv bin/ on PATH):
`python bench/reference/capture.py --target columns=http://127.0.0.1:15700
--target tensor=http://127.0.0.1:15701 --target columns-label-only=http://127.0.0.1:15703`
then `python bench/reference/capture.py --markdown`.

## What an encoder must know

1. **MLflow cannot serve the `columns` model at all.** For any input that
   reaches the model as a DataFrame (dataframe_split, dataframe_records, CSV,
   `inputs` as a dict of columns, `instances` as objects), mlflow's ONNX pyfunc
   builds its answer with `pd.DataFrame.from_dict({output: array.reshape(-1)})`;
   `label` flattens to N values and `probabilities` to 3N, so every request
   fails with 400 `BAD_REQUEST` "Encountered an unexpected error while
   evaluating the model…" (stack trace ends in `ValueError: All arrays must be
   of the same length`). `mlflow.onnx.log_model` already warns about it when it
   validates the serving input example. Only a 0-row frame "works"
   (`{"predictions": []}`). So there is no MLflow reference for the `columns`
   model's success answer; the closest is:
   - a DataFrame result is encoded as **records**: `columns-label-only` gives
     `{"predictions": [{"label": 0}, {"label": 2}]}`;
   - a numpy/dict result (tensor input) is encoded as **a dict of output name
     → nested lists**: `tensor` gives `{"predictions": {"label": [0, 2],
     "probabilities": [[…3 floats…], […]]}}`, also for 1 row (`"label": [0]`).
   Our server must decide what to return for a multi-output model with a
   column signature; MLflow offers only a 400 there. (The benchmark therefore
   points `mlflow models serve` at the tensor variant.)
2. **Body text.** Python `json.dumps` defaults: `", "` and `": "` separators,
   no trailing newline. float32 outputs are widened to float64 and printed
   with Python's shortest round-trip repr — the same digits JavaScript's
   `JSON.stringify(Number(f32))` gives, but exponents differ: Python
   `1.3650365815465193e-07`, JavaScript `1.3650365815465193e-7`. Same JSON
   value, different bytes.
3. **Numerics depend on the batch.** ROW_A's second probability is
   `0.02319280430674553` alone and `0.02319279871881008` when sent with ROW_B
   (onnxruntime's batched kernel). Compare floats with a tolerance.
4. **Tensor signature ignores column names.** dataframe_split with the columns
   in another order is accepted and scored positionally (`split-2-reordered`:
   labels `[2, 2]` instead of `[0, 2]`). A column signature reorders by name
   (`columns-label-only` gives `[0, 2]`).
5. **Leniency.** Extra columns are dropped silently for a column signature
   (`err-extra-column` → 200 on `columns-label-only`), but rejected for a tensor
   signature (width check). Numeric strings (`"5.1"`) are converted; `null`
   becomes NaN and is scored — the tensor model then answers
   `"probabilities": [[NaN, NaN, NaN]]`, which is **not valid JSON** (Python's
   `allow_nan`). Integers in double columns are accepted.
6. **Error envelope** (status 400 unless said otherwise), always
   `application/json`, keys in this order:
   `{"error_code", "message", "sqlstate", "error_class"[, "stack_trace"]}`.
   - decoding/shape problems: `error_code` `BAD_REQUEST`, `sqlstate` `KAM00`,
     `error_class` `INVALID_PARAMETER_VALUE`; messages start `Invalid input. `
     for malformed JSON, a list body, ragged rows and un-convertible values,
     but not for a missing/duplicate format key;
   - schema enforcement: `error_code` `INVALID_PARAMETER_VALUE`, `sqlstate`
     `KAM01`, `error_class` `SCHEMA_ENFORCEMENT_FAILED`, message
     `Failed to predict data '<pandas/numpy repr>'. \\nError: Failed to enforce
     schema of data '<repr>' with schema '<schema repr>'. Error: <reason>`
     (missing column: `Model is missing inputs ['petal_width'].`; wrong width:
     `Shape of input (1, 3) does not match expected shape (-1, 4).`);
   - errors raised inside the model or while parsing CSV carry a
     `stack_trace` (a Python traceback with server paths).
   - set-valued parts of messages (`{'dataframe_split', 'dataframe_records',
     'inputs', 'instances'}`) come out in a different order per process (Python
     hash randomisation): compare messages loosely.
7. **Content types.** `application/json` and `text/csv` (header row
   required) are accepted, compared case-sensitively (`Application/JSON` →
   415), with an optional `charset=utf-8` (the value in any case);
   `application/vnd.apache.parquet` too (from the source; not captured). Anything else → **415**
   `text/plain; charset=utf-8` with a plain sentence (not the JSON envelope):
   other types, other charsets (`The scoring server only supports UTF-8`),
   other parameters (`Unrecognized content type parameters: format. IMPORTANT:
   …`). A request with **no Content-Type** crashes the handler: **500**
   `text/plain` `Internal Server Error`.
8. **Tensor signature and CSV**: every CSV request to `tensor` fails with 400
   ("TensorSpec only supports numpy types…"), before the data is looked at.
9. **Other routes**: `GET /ping` and `GET /health` → 200, body `"\\n"`,
   content-type `application/json`; `GET /version` → 200 `3.17.2` (not
   JSON-quoted, content-type still `application/json`); `GET /invocations` → 405
   `{"detail":"Method Not Allowed"}`; unknown path → 404 `{"detail":"Not Found"}`
   (FastAPI's own answers, compact: no spaces, unlike MLflow's bodies).
10. **Startup failure**: serving a version whose `model.onnx` is corrupt
    (`demo_model.py --broken`) never opens the port: uvicorn exits with
    `onnxruntime…InvalidProtobuf: [ONNXRuntimeError] : 7 : INVALID_PROTOBUF :
    Load model from /tmp/…/model.onnx failed:Protobuf parsing failed.`, and
    `mlflow models serve` exits 1.
11. **Running it**: with `--env-manager local`, `mlflow models serve` runs
    `exec uvicorn …` through bash, so the venv's `bin/` must be on PATH
    (otherwise: `exec: uvicorn: not found`, exit 127). `-w/--workers` sets the
    uvicorn worker count (default 1); `-t` the request timeout (default 60 s;
    per the source, answered 504 `application/json` with the plain text
    `Request processing time exceeded limit` — not captured).
"""


TARGET_NOTES = {
    "columns": "`models:/iris-classifier@champion`: scripts/demo_model.py defaults (column signature)",
    "tensor": "`models:/iris-tensor@champion`: scripts/demo_model.py --signature tensor",
    "columns-label-only": "local dir from --make-label-only (column signature, `label` output only)",
}


def shown_body(body: str) -> str:
    """The body as sent, except that a stack_trace value is cut to its last
    line (the JSON file has it whole)."""
    try:
        obj = json.loads(body)
    except ValueError:
        return body
    if isinstance(obj, dict) and isinstance(obj.get("stack_trace"), str):
        trace = obj["stack_trace"]
        last = [ln for ln in trace.splitlines() if ln.strip()][-1]
        # Re-serialise the way Python's json.dumps did (", " and ": ").
        obj["stack_trace"] = f"<{len(trace)} chars, cut here; last line: {last}>"
        return json.dumps(obj)
    return body


def fence(text: str, lang: str = "") -> str:
    ticks = "````" if "```" in text else "```"
    return f"{ticks}{lang}\n{text}\n{ticks}"


def render_cases(data: dict) -> str:
    out = []
    groups = {"ok": "Request forms", "error": "Errors", "route": "Other routes"}
    for group, title in groups.items():
        out.append(f"\n## {title}\n")
        for case in (c for c in data["cases"] if c["group"] == group):
            req = case["request"]
            out.append(f"### `{case['id']}`: {case['description']}\n")
            ct = f"Content-Type: {req['content_type']}" if req["content_type"] else "(no Content-Type)"
            out.append(f"Request: `{req['method']} {req['path']}`, {ct}\n")
            if req["body"]:
                out.append(fence(req["body"]) + "\n")
            # Targets that answered identically are shown once.
            seen: dict[str, list[str]] = {}
            by_key = {}
            for name, resp in case["responses"].items():
                key = json.dumps([resp["status"], resp["headers"], resp["body"]])
                seen.setdefault(key, []).append(name)
                by_key[key] = resp
            for key, names in seen.items():
                resp = by_key[key]
                headers = dict(resp["headers"])
                who = ", ".join(f"`{n}`" for n in names)
                out.append(
                    f"{who} → **{resp['status']}**, content-type `{headers.get('content-type')}`, "
                    f"content-length {headers.get('content-length')}\n"
                )
                body = shown_body(resp["body"])
                out.append(fence(json.dumps(body) if body.strip() == "" else body) + "\n")
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", action="append", default=[], metavar="NAME=URL")
    parser.add_argument("--make-label-only", metavar="DIR")
    parser.add_argument("--markdown", action="store_true", help="write the .md from the .json")
    args = parser.parse_args()
    if args.make_label_only:
        make_label_only(args.make_label_only)
    if args.target:
        capture(dict(t.split("=", 1) for t in args.target))
    if args.markdown:
        MD_OUT.write_text(HEADER + render_cases(json.loads(JSON_OUT.read_text())))
        print(f"wrote {MD_OUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
