import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { readInputExample, readServingExample } from './input-example.reader';
import { MlModelFormatError } from './mlmodel.error';
import { InputExampleInfo, MlModel } from './mlmodel.types';

describe('readInputExample', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'mlmodel-example-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function model(info: Partial<InputExampleInfo> & { type: string }): MlModel {
    return {
      flavors: { onnx: { data: 'model.onnx' } },
      inputExample: { artifactPath: 'input_example.json', hasParams: false, ...info },
    };
  }

  async function files(entries: Record<string, string>): Promise<void> {
    for (const [name, text] of Object.entries(entries)) {
      await writeFile(path.join(dir, name), text);
    }
  }

  it('is undefined for a model logged without an example', async () => {
    await expect(readInputExample(dir, { flavors: {} })).resolves.toBeUndefined();
  });

  it('prefers serving_input_example.json, NaN tokens and all (as MLflow 3.17 writes it)', async () => {
    await files({
      'input_example.json': '{"columns": ["a"], "data": [[1.0]]}',
      'serving_input_example.json':
        '{\n  "dataframe_split": {\n    "columns": [\n      "a",\n      "b"\n    ],\n    "data": [\n      [\n        4.9,\n        NaN\n      ]\n    ]\n  }\n}',
    });

    const example = await readInputExample(
      dir,
      model({ type: 'dataframe', servingInputPath: 'serving_input_example.json' }),
    );

    expect(example).toEqual({
      body: { dataframe_split: { columns: ['a', 'b'], data: [[4.9, NaN]] } },
      source: 'serving_input_example.json',
      type: 'dataframe',
    });
  });

  it('wraps a saved data frame as dataframe_split when there is no serving example', async () => {
    await files({ 'input_example.json': '{"columns": ["a", "b"], "data": [[1, 2]]}' });

    await expect(readServingExample(dir, model({ type: 'dataframe' }))).resolves.toEqual({
      dataframe_split: { columns: ['a', 'b'], data: [[1, 2]] },
    });
  });

  it('wraps a saved array as inputs, with its params', async () => {
    await files({ 'input_example.json': '{"inputs": [[5.1, 3.5]], "params": {"threshold": 0.5}}' });

    await expect(
      readServingExample(dir, model({ type: 'ndarray', hasParams: true })),
    ).resolves.toEqual({ inputs: [[5.1, 3.5]], params: { threshold: 0.5 } });
  });

  it('keeps an MLflow 2.x tf-serving example, which is already a request body', async () => {
    await files({ 'input_example.json': '{"inputs": {"x": [[1, 2]]}}' });

    await expect(
      readServingExample(dir, model({ type: 'ndarray', format: 'tf-serving' })),
    ).resolves.toEqual({ inputs: { x: [[1, 2]] } });
  });

  it('wraps a json_object example as inputs', async () => {
    await files({ 'input_example.json': '["a question"]' });

    await expect(readServingExample(dir, model({ type: 'json_object' }))).resolves.toEqual({
      inputs: ['a question'],
    });
  });

  it('has no body for a sparse matrix example, which the scoring protocol cannot carry', async () => {
    await files({
      'input_example.json': '{"data": [1], "indices": [0], "indptr": [0, 1], "shape": [1, 1]}',
    });

    await expect(
      readInputExample(dir, model({ type: 'sparse_matrix_csr' })),
    ).resolves.toBeUndefined();
  });

  it('names a file it cannot read', async () => {
    await mkdir(path.join(dir, 'input_example.json'));

    await expect(readInputExample(dir, model({ type: 'dataframe' }))).rejects.toThrow(
      /input_example\.json could not be read: /,
    );
  });

  it.each([
    [
      'a file the MLmodel names but the directory lacks',
      {},
      { type: 'dataframe' },
      /input_example\.json is named in saved_input_example_info but missing/,
    ],
    [
      'a file that is not JSON',
      { 'input_example.json': '{"columns": [' },
      { type: 'dataframe' },
      /input_example\.json is not valid JSON/,
    ],
    [
      'a data frame without data',
      { 'input_example.json': '[1, 2]' },
      { type: 'dataframe' },
      /should hold a data frame/,
    ],
    [
      'params promised but not saved',
      { 'input_example.json': '[[1]]' },
      { type: 'ndarray', hasParams: true },
      /should hold \{"inputs": …, "params": …\}/,
    ],
    [
      'an unknown example type',
      { 'input_example.json': '[1]' },
      { type: 'parquet' },
      /type 'parquet' is not one MLflow writes/,
    ],
    [
      'a serving example that is not an object',
      { 'serving_input_example.json': '[1]' },
      { type: 'ndarray', servingInputPath: 'serving_input_example.json' },
      /must hold a JSON object/,
    ],
  ])('refuses %s, naming the file', async (_case, entries, info, message) => {
    await files(entries);

    const reading = readInputExample(dir, model(info));

    await expect(reading).rejects.toThrow(MlModelFormatError);
    await expect(reading).rejects.toThrow(message);
  });
});
