import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { MlModelFormatError } from './mlmodel.error';
import { InputExample, InputExampleInfo, MlModel } from './mlmodel.types';
import { parsePythonJson } from './python-json';
import { describe, isRecord } from './values';

/**
 * A model's input example as an MLflow scoring request body, for warm-up runs
 * and for showing callers what to send; undefined when the model was logged
 * without one.
 *
 * Prefers `serving_input_example.json`, which MLflow (≥ 2.16) writes as a ready
 * `/invocations` body. Otherwise builds the body from `input_example.json` the
 * way `_Example.__init__` builds `serving_input` (mlflow/models/utils.py, MLflow
 * 3.17): a data frame (saved in split orient without the index) becomes
 * `dataframe_split`, arrays, dicts of arrays, lists and scalars become `inputs`,
 * and saved params become `params`. Both files may hold Python's NaN tokens.
 *
 * @throws MlModelFormatError when a file the MLmodel names is missing or
 *   unreadable, or its content does not match the declared type.
 */
export async function readInputExample(
  modelDir: string,
  model: MlModel,
): Promise<InputExample | undefined> {
  const info = model.inputExample;
  if (!info) return undefined;
  if (info.servingInputPath) {
    const body = await readJson(modelDir, info.servingInputPath);
    if (!isRecord(body)) {
      throw new MlModelFormatError(
        `${info.servingInputPath} must hold a JSON object, got ${describe(body)}`,
      );
    }
    return { body, source: info.servingInputPath, type: info.type };
  }
  const saved = await readJson(modelDir, info.artifactPath);
  const body = servingBody(saved, info);
  return body && { body, source: info.artifactPath, type: info.type };
}

/** Just the request body of {@link readInputExample}. */
export async function readServingExample(
  modelDir: string,
  model: MlModel,
): Promise<Record<string, unknown> | undefined> {
  return (await readInputExample(modelDir, model))?.body;
}

function servingBody(saved: unknown, info: InputExampleInfo): Record<string, unknown> | undefined {
  let data = saved;
  let params: unknown;
  if (info.hasParams) {
    // Saved as {"inputs": data, "params": {...}} (EXAMPLE_DATA_KEY, EXAMPLE_PARAMS_KEY).
    if (!isRecord(saved) || !('inputs' in saved)) {
      throw new MlModelFormatError(
        `${info.artifactPath} should hold {"inputs": …, "params": …} (saved_input_example_info.params is true)`,
      );
    }
    data = saved.inputs;
    params = saved.params;
  }
  const body = dataBody(data, info);
  if (body && params !== undefined && params !== null) body.params = params;
  return body;
}

function dataBody(data: unknown, info: InputExampleInfo): Record<string, unknown> | undefined {
  switch (info.type) {
    case 'dataframe':
      if (!isRecord(data) || !Array.isArray(data.data)) {
        throw new MlModelFormatError(
          `${info.artifactPath} should hold a data frame as {"columns": […], "data": […]}, got ${describe(data)}`,
        );
      }
      return { dataframe_split: data };
    case 'ndarray':
      // MLflow 2.x saved tensors already wrapped: format "tf-serving", {"inputs": …}.
      if (
        info.format === 'tf-serving' &&
        isRecord(data) &&
        ('inputs' in data || 'instances' in data)
      ) {
        return { ...data };
      }
      return { inputs: data };
    case 'json_object':
      return { inputs: data };
    case 'sparse_matrix_csc':
    case 'sparse_matrix_csr':
      // MLflow's scoring server cannot take sparse matrices either; only a
      // serving_input_example.json (a dense copy) would do.
      return undefined;
    default:
      throw new MlModelFormatError(
        `saved_input_example_info.type '${info.type}' is not one MLflow writes ` +
          `(dataframe, ndarray, json_object, sparse_matrix_csc, sparse_matrix_csr)`,
        'saved_input_example_info.type',
      );
  }
}

async function readJson(modelDir: string, file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path.join(modelDir, file), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new MlModelFormatError(
      code === 'ENOENT'
        ? `${file} is named in saved_input_example_info but missing from the model directory`
        : `${file} could not be read: ${(error as Error).message}`,
    );
  }
  try {
    return parsePythonJson(text);
  } catch (error) {
    throw new MlModelFormatError(`${file} is not valid JSON: ${(error as Error).message}`);
  }
}
