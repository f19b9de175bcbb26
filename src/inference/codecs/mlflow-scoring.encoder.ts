import { ModelSignature } from '../../models/model-signature.types';
import { Tensor } from '../../models/tensor.types';
import { elementCount } from '../binding/nested-array';
import { InferenceInput, InferenceResult } from '../inference.types';
import { elementText, nestedText, pythonNested, pythonString } from './python-json.writer';

/**
 * The answer to an `/invocations` request, as the JSON text of
 * `{"predictions": …}` — text, not an object, because MLflow writes NaN and
 * Infinity as bare tokens and int64 values exactly, which `JSON.stringify`
 * cannot (send it with `Content-Type: application/json`).
 *
 * A delegated scoring server's own predictions (`extras.mlflowPredictions`)
 * are passed through unchanged; a Python model's result is written in the
 * form `predict` gave it (`extras.mlflowForm`). Otherwise the shape is the one MLflow gives for
 * an ONNX-flavor model, which follows what reached MLflow's ONNX wrapper
 * (`_OnnxModelWrapper.predict`, mlflow/onnx/__init__.py), chosen here from the
 * request and the answering version's signature ({@link mlflowResultKind}):
 * - `tensors` (a numpy array or dict reached it): a dict of the outputs,
 *   `{"label": [0, 2], "probabilities": [[…], […]]}`.
 * - `table` (a data frame reached it): the wrapper flattens every output
 *   (`reshape(-1)`) into one data frame column, written as records. When all
 *   outputs flatten to the same length that is exactly what MLflow sends
 *   (`[{"label": 0, "score": 0.5}, …]`; an [n, 3] output alone gives 3n
 *   records). When they do not (a classifier's [n] label beside its [n, k]
 *   probabilities), MLflow fails with a 400 ("All arrays must be of the same
 *   length"); Modelgate answers one record per row instead, each output's row
 *   as a scalar or a list: `[{"label": 0, "probabilities": [0.9, 0.1]}, …]`.
 *   Outputs that do not even share a first dimension are sent as a dict.
 * @param input the decoded request the result answers.
 */
export function encodeMlflowResponse(result: InferenceResult, input: InferenceInput): string {
  const passed = result.extras?.mlflowPredictions;
  if (passed !== undefined) {
    return JSON.stringify({ predictions: passed });
  }
  const form = result.extras?.mlflowForm;
  if (form !== undefined) return `{"predictions": ${pythonResultText(result.outputs, form)}}`;
  return `{"predictions": ${predictionsText(result.outputs, mlflowResultKind(input, result.signature))}}`;
}

/**
 * A Python model's result as MLflow's server writes it (`_get_jsonable_obj`):
 * an array as its nested lists, a data frame or series as records, a dict as
 * a dict of lists.
 */
function pythonResultText(outputs: Tensor[], form: 'list' | 'records' | 'dict'): string {
  if (form === 'dict') return dictText(outputs);
  if (form === 'list' && outputs.length === 1) {
    return pythonNested(outputs[0], outputs[0].shape, 0).text;
  }
  const rows = outputs[0]?.shape[0] ?? 0;
  return outputs.every((o) => o.shape.length === 1)
    ? flatRecordsText(outputs, rows)
    : rowRecordsText(outputs, rows);
}

/**
 * What reached MLflow's ONNX wrapper for this input, and so which answer shape
 * MLflow gives: a column-based signature makes a data frame of any input; a
 * tensor-based one makes arrays of any input (`_enforce_schema`,
 * mlflow/models/utils.py); without a signature the input passes as it came.
 */
export function mlflowResultKind(
  input: InferenceInput,
  signature: ModelSignature | undefined,
): InferenceInput['kind'] {
  const first = signature?.inputs[0];
  if (first === undefined) return input.kind;
  return first.kind === 'column' ? 'table' : 'tensors';
}

function predictionsText(outputs: Tensor[], kind: InferenceInput['kind']): string {
  if (kind === 'tensors') return dictText(outputs);
  if (outputs.length === 0) return '[]';
  const lengths = outputs.map((o) => elementCount(o.shape));
  if (lengths.every((n) => n === lengths[0])) return flatRecordsText(outputs, lengths[0]);
  const rows = outputs[0].shape[0];
  if (outputs.every((o) => o.shape.length > 0 && o.shape[0] === rows)) {
    return rowRecordsText(outputs, rows);
  }
  return dictText(outputs);
}

/** `{"label": [0, 2], "probabilities": [[…], […]]}`: `dict(zip(output_names, predicted))`. */
function dictText(outputs: Tensor[]): string {
  const entries = outputs.map(
    (o) => `${pythonString(o.name)}: ${pythonNested(o, o.shape, 0).text}`,
  );
  return `{${entries.join(', ')}}`;
}

/** MLflow's own records: every output flattened, record i holding element i of each. */
function flatRecordsText(outputs: Tensor[], count: number): string {
  const keys = outputs.map((o) => `${pythonString(o.name)}: `);
  const writers = outputs.map((o) => elementText(o));
  const records = new Array<string>(count);
  for (let i = 0; i < count; i++) {
    let record = '{';
    for (let k = 0; k < outputs.length; k++) {
      record += `${k === 0 ? '' : ', '}${keys[k]}${writers[k](i)}`;
    }
    records[i] = `${record}}`;
  }
  return `[${records.join(', ')}]`;
}

/** One record per row where MLflow would fail: each output's row as a scalar or nested list. */
function rowRecordsText(outputs: Tensor[], rows: number): string {
  const keys = outputs.map((o) => `${pythonString(o.name)}: `);
  const inner = outputs.map((o) => o.shape.slice(1));
  const sizes = inner.map((shape) => elementCount(shape));
  const writers = outputs.map((o) => elementText(o));
  const records = new Array<string>(rows);
  for (let r = 0; r < rows; r++) {
    let record = '{';
    for (let k = 0; k < outputs.length; k++) {
      const size = sizes[k];
      const value = size === 1 ? writers[k](r) : nestedText(writers[k], inner[k], r * size);
      record += `${k === 0 ? '' : ', '}${keys[k]}${value}`;
    }
    records[r] = `${record}}`;
  }
  return `[${records.join(', ')}]`;
}
