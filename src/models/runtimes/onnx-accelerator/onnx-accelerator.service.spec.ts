/**
 * @jest-environment ../test/setup/node-environment.ts
 */
// A real onnxruntime session serves the converted model; this environment gives it one realm of typed arrays.
import { Logger } from '@nestjs/common';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ModelsConfig } from '../../../config/models.config';
import { MlModel } from '../../mlmodel/mlmodel.types';
import { ModelLoadError } from '../../model.errors';
import { configServing } from '../../testing/model-fakes';
import { Acceleration, OnnxAccelerator } from './onnx-accelerator.service';
import { CONVERTED, FakeOnnxConverter } from './testing/fake-onnx-converter';

const SKLEARN: MlModel = { flavors: { sklearn: {}, python_function: {} } };
const NOT_CONVERTIBLE = {
  converted: false,
  reason: 'skl2onnx cannot convert FunctionTransformer',
} as const;

function config(mode: ModelsConfig['onnxAccelerate']['mode'], tolerance = 1e-5): ModelsConfig {
  return configServing([], {
    onnxAccelerate: { mode, tolerance, checkRows: 64, timeoutMs: 60_000 },
  });
}

describe(OnnxAccelerator.name, () => {
  let directory: string;
  let converter: FakeOnnxConverter;
  const served: Acceleration[] = [];

  beforeEach(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'modelgate-accelerate-'));
    converter = new FakeOnnxConverter();
    Logger.overrideLogger(false);
    Logger.overrideLogger({
      log: () => undefined,
      error: () => undefined,
      warn: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
    });
  });

  afterEach(async () => {
    for (const outcome of served.splice(0)) if (outcome.served) await outcome.runtime.dispose();
    Logger.overrideLogger(false);
    await rm(directory, { recursive: true, force: true });
  });

  async function accelerate(
    sut: OnnxAccelerator,
    mlmodel: MlModel = SKLEARN,
  ): Promise<Acceleration | undefined> {
    const outcome = await sut.accelerate({ name: 'forest', version: '1', directory }, mlmodel);
    if (outcome) served.push(outcome);
    return outcome;
  }

  it('serves a converted sklearn model in process, saying who converted it and on how many rows it matched', async () => {
    const sut = new OnnxAccelerator(config('auto'), converter);

    const outcome = await accelerate(sut);

    expect(outcome).toMatchObject({
      served: true,
      reason: "converted to ONNX by skl2onnx 1.20.0; labels matched pyfunc's on 69 rows",
    });
    if (!outcome?.served) throw new Error('not served');
    expect(outcome.runtime.kind).toBe('onnx');
    expect(outcome.runtime.platform).toBe('onnxruntime_onnx');
    expect(outcome.runtime.outputs).toEqual([
      { name: 'predictions', datatype: 'INT64', shape: [-1] },
    ]);
  });

  it("answers with pyfunc predict's form: one output, written as a list for MLflow callers", async () => {
    const sut = new OnnxAccelerator(config('auto'), converter);
    const outcome = await accelerate(sut);
    if (!outcome?.served) throw new Error('not served');

    const answer = await outcome.runtime.predict([
      {
        name: 'input',
        datatype: 'FP64',
        shape: [2, 2],
        data: Float64Array.from([0.1, 0.9, 0.8, 0.2]),
      },
    ]);

    expect(answer.extras).toEqual({ mlflowForm: 'list' });
    expect(
      answer.outputs.map((o) => [o.name, o.datatype, Array.from(o.data as BigInt64Array)]),
    ).toEqual([['predictions', 'INT64', [1n, 0n]]]);
  });

  it('gives the largest score difference when the outputs are scores', async () => {
    converter.answerWith({
      ...CONVERTED,
      output: { name: 'predictions', dtype: 'float64', shape: [-1], kind: 'scores' },
      maxDifference: 2.842e-14,
    });
    const sut = new OnnxAccelerator(config('auto'), converter);

    const outcome = await accelerate(sut);

    expect(outcome?.reason).toBe(
      "converted to ONNX by skl2onnx 1.20.0; answers matched pyfunc's on 69 rows (max score difference 2.8e-14)",
    );
  });

  it("hands a model it cannot convert on with auto, giving the converter's reason", async () => {
    converter.answerWith(NOT_CONVERTIBLE);
    const sut = new OnnxAccelerator(config('auto'), converter);

    const outcome = await accelerate(sut);

    expect(outcome).toEqual({
      served: false,
      reason: 'not converted to ONNX: skl2onnx cannot convert FunctionTransformer',
    });
  });

  it('fails the load with require, naming the reason', async () => {
    converter.answerWith(NOT_CONVERTIBLE);
    const sut = new OnnxAccelerator(config('require'), converter);

    const loading = accelerate(sut);

    await expect(loading).rejects.toThrow(ModelLoadError);
    await expect(loading).rejects.toThrow(/require.*skl2onnx cannot convert FunctionTransformer/);
  });

  it('never converts with off', async () => {
    const sut = new OnnxAccelerator(config('off'), converter);

    const outcome = await accelerate(sut);

    expect(outcome).toBeUndefined();
    expect(converter.requests).toHaveLength(0);
  });

  it('does not try a flavor no converter takes, even with require', async () => {
    const sut = new OnnxAccelerator(config('require'), converter);

    const outcome = await accelerate(sut, { flavors: { pytorch: {}, python_function: {} } });

    expect(outcome).toBeUndefined();
    expect(converter.requests).toHaveLength(0);
  });

  it('does not try a model without python_function: there is no predict to match', async () => {
    const sut = new OnnxAccelerator(config('require'), converter);

    const outcome = await accelerate(sut, { flavors: { sklearn: {} } });

    expect(outcome).toBeUndefined();
    expect(converter.requests).toHaveLength(0);
  });

  it('reuses the kept conversion on a later load with the same settings', async () => {
    await accelerate(new OnnxAccelerator(config('auto'), converter));

    const again = await accelerate(new OnnxAccelerator(config('auto'), converter));

    expect(again?.served).toBe(true);
    expect(converter.requests).toHaveLength(1);
    expect(await readdir(path.join(directory, '.modelgate'))).toHaveLength(1);
  });

  it('reuses a kept refusal too, without converting again', async () => {
    converter.answerWith(NOT_CONVERTIBLE);
    await accelerate(new OnnxAccelerator(config('auto'), converter));

    const again = await accelerate(new OnnxAccelerator(config('auto'), converter));

    expect(again).toEqual({
      served: false,
      reason: expect.stringContaining('FunctionTransformer'),
    });
    expect(converter.requests).toHaveLength(1);
  });

  it('converts again, beside the first, when the settings or the converter change', async () => {
    await accelerate(new OnnxAccelerator(config('auto', 1e-5), converter));

    await accelerate(new OnnxAccelerator(config('auto', 1e-3), converter));
    converter.fingerprint = 'fake-2';
    await accelerate(new OnnxAccelerator(config('auto', 1e-3), converter));

    expect(converter.requests.map((r) => r.tolerance)).toEqual([1e-5, 1e-3, 1e-3]);
    expect(await readdir(path.join(directory, '.modelgate'))).toHaveLength(3);
  });

  it('passes the settings and a directory inside the version to the converter', async () => {
    const sut = new OnnxAccelerator(config('auto', 1e-4), converter);

    await accelerate(sut);

    expect(converter.requests).toEqual([
      {
        modelDirectory: directory,
        outputDirectory: expect.stringMatching(
          new RegExp(`^${directory}/\\.modelgate/onnx-[0-9a-f]{16}$`),
        ),
        tolerance: 1e-4,
        rows: 64,
        seed: expect.any(Number),
        timeoutMs: 60_000,
      },
    ]);
  });

  it('does not keep a verdict the converter could not reach: a crash is tried again next time', async () => {
    converter.answerWith(new Error('convert.py exited with 1: MemoryError'));
    const first = await accelerate(new OnnxAccelerator(config('auto'), converter));
    converter.answerWith(CONVERTED);

    const second = await accelerate(new OnnxAccelerator(config('auto'), converter));

    expect(first).toEqual({
      served: false,
      reason: 'not converted to ONNX: convert.py exited with 1: MemoryError',
    });
    expect(second?.served).toBe(true);
    expect(converter.requests).toHaveLength(2);
  });

  it('does not keep a conversion that ran out of time', async () => {
    converter.answerWith({ converted: false, cacheable: false, reason: 'took longer than 1 s' });
    await accelerate(new OnnxAccelerator(config('auto'), converter));

    await accelerate(new OnnxAccelerator(config('auto'), converter));

    expect(converter.requests).toHaveLength(2);
  });
});
