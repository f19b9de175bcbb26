import {
  ColumnSpec,
  ModelSignature,
  TensorSignatureSpec,
} from '../../models/model-signature.types';
import { Tensor, TensorSpec } from '../../models/tensor.types';
import { InferenceInput } from '../inference.types';
import {
  ExtraInputs,
  bindColumns,
  planColumns,
  planUntypedColumns,
  tensorsAsTable,
} from './column-binding';
import { bindTensors } from './tensor-binding';

export interface BindOptions {
  /**
   * Columns or named tensors the signature does not declare. MLflow's
   * `_enforce_schema` ignores them with a warning; Modelgate rejects them by
   * default, naming them, so a misspelt optional column does not silently go
   * missing. `'ignore'` behaves like MLflow.
   */
  extraInputs?: ExtraInputs;
}

/**
 * Turns a decoded request into exactly the feeds the ONNX model takes, checked
 * against the model's MLflow signature before the model runs: one tensor per
 * model input, in `modelInputs` order, named as the model names them, its data
 * a typed array of the input's datatype (BigInt64Array for INT64, Uint8Array
 * for BOOL, Uint16Array of half-precision bits for FP16, string[] for BYTES).
 *
 * - Column-based signature: required columns present, values of the column's
 *   type (integers are fine for doubles; numbers are taken as text for
 *   strings; null/NaN only in optional columns, and only into float inputs);
 *   then one model input gets the columns side by side, [rows, columns] in
 *   signature order (MLflow's ONNX wrapper feeds `DataFrame.values`), several
 *   get one column each, by name. Named tensors are taken as columns.
 * - Tensor-based signature: tensors matched by name (or the single unnamed one
 *   to the single input); rank and fixed dimensions checked; a data frame is
 *   accepted as MLflow does (stacked for one unnamed spec, column by column
 *   for named specs).
 * - No signature: the model's own input specs play the signature's part.
 *
 * @throws InvalidInputError naming the column or input, what was expected and
 *   what came.
 * @throws Error when the signature and the ONNX model disagree (a model
 *   problem, not the caller's).
 */
export function bindInputs(
  input: InferenceInput,
  signature: ModelSignature | undefined,
  modelInputs: TensorSpec[],
  options: BindOptions = {},
): Tensor[] {
  if (modelInputs.length === 0) throw new Error('the ONNX model declares no inputs');
  const extra = options.extraInputs ?? 'reject';
  const specs = signature?.inputs ?? [];

  if (specs.length === 0) {
    if (input.kind === 'tensors') return bindTensors(input, modelInputs, modelInputs, extra);
    return bindColumns(input, planUntypedColumns(input, modelInputs, extra), modelInputs);
  }
  if (specs[0].kind === 'column') {
    const columns = specs as ColumnSpec[];
    if (namesModelInputs(input, modelInputs)) {
      // Tensors named as the ONNX model's own inputs (what Open Inference
      // metadata publishes): bound to them directly, checked against them.
      return bindTensors(input, modelInputs, modelInputs, extra);
    }
    const table = input.kind === 'table' ? input : tensorsAsTable(input.tensors, columns);
    return bindColumns(table, planColumns(table, columns, extra), modelInputs);
  }
  return bindTensors(input, specs as TensorSignatureSpec[], modelInputs, extra);
}

/**
 * True when every request tensor carries the name of an ONNX model input and
 * none is a signature column: the caller speaks the model's own inputs.
 */
function namesModelInputs(input: InferenceInput, modelInputs: TensorSpec[]): boolean {
  if (input.kind !== 'tensors' || input.tensors.length !== modelInputs.length) return false;
  const names = new Set(modelInputs.map((m) => m.name));
  return input.tensors.every((t) => t.name !== undefined && names.has(t.name));
}
