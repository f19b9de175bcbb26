/**
 * @jest-environment ../test/setup/node-environment.ts
 */
// A real onnxruntime session runs the warm-up; this environment gives it one realm of typed arrays.
import { Logger } from '@nestjs/common';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ModelsConfig } from '../config/models.config';
import { PyfuncConfig } from '../config/pyfunc.config';
import { ModelVersion } from '../mlflow/mlflow.types';
import { ArtifactCache, CachedModelFiles } from './artifact-cache.service';
import { ModelLoadError } from './model.errors';
import { configServing } from './testing/model-fakes';
import { ModelLoader } from './model-loader.service';
import { OnnxAccelerator } from './runtimes/onnx-accelerator/onnx-accelerator.service';
import { FakeOnnxConverter } from './runtimes/onnx-accelerator/testing/fake-onnx-converter';
import { ELEM, tinyClassifier, tinyOnnxModel } from './runtimes/testing/tiny-onnx';
import { PythonEnvironment } from './runtimes/pyfunc/python-environment.service';

/** Serves one prepared directory as every version's files. */
class FakeArtifactCache implements Pick<ArtifactCache, 'fetch' | 'release'> {
  /** Versions fetched and not released yet. */
  readonly held: string[] = [];

  constructor(private readonly directory: string) {}

  fetch(version: ModelVersion): Promise<CachedModelFiles> {
    this.held.push(`${version.name}/${version.version}`);
    return Promise.resolve({ directory: this.directory, bytes: 100, hit: true });
  }

  release(name: string, version: string): Promise<void> {
    this.held.splice(this.held.indexOf(`${name}/${version}`), 1);
    return Promise.resolve();
  }
}

const CONFIG: ModelsConfig = configServing([]);

const PYFUNC: PyfuncConfig = {
  workerEnv: { ...process.env },
  workers: 1,
  env: 'local',
  python: '/nonexistent/python3',
  envDir: '/nonexistent/pyfunc-envs',
  uv: undefined,
  indexUrl: undefined,
  envBuildTimeoutMs: 10_000,
  maxRssBytes: 0,
  predictTimeoutMs: 10_000,
  startTimeoutMs: 10_000,
};

function loader(
  directory: string,
  config: ModelsConfig = CONFIG,
  converter = new FakeOnnxConverter(),
  cache = new FakeArtifactCache(directory),
): ModelLoader {
  return new ModelLoader(
    cache as unknown as ArtifactCache,
    config,
    PYFUNC,
    new PythonEnvironment(PYFUNC),
    new OnnxAccelerator(config, converter),
  );
}

const VERSION = { name: 'iris', version: '3' } as const satisfies Partial<ModelVersion>;

/** As MLflow writes it for a column-signature ONNX model with a data frame example. */
function mlmodel(example: boolean): string {
  return [
    'flavors:',
    '  onnx:',
    '    data: model.onnx',
    '  python_function:',
    '    data: model.onnx',
    '    loader_module: mlflow.onnx',
    ...(example
      ? [
          'saved_input_example_info:',
          '  artifact_path: input_example.json',
          '  pandas_orient: split',
          '  serving_input_path: serving_input_example.json',
          '  type: dataframe',
        ]
      : []),
    'signature:',
    `  inputs: '[{"type": "double", "name": "a", "required": true}, {"type": "double", "name": "b", "required": true}]'`,
    '  outputs: null',
    '  params: null',
  ].join('\n');
}

describe(`${ModelLoader.name} warm-up`, () => {
  let directory: string;
  let warnings: string[];
  let sut: ModelLoader;

  beforeEach(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'modelgate-loader-'));
    warnings = [];
    Logger.overrideLogger({
      log: () => undefined,
      error: () => undefined,
      warn: (message: unknown) => void warnings.push(String(message)),
      debug: () => undefined,
      verbose: () => undefined,
    });
    sut = loader(directory);
  });

  afterEach(async () => {
    Logger.overrideLogger(false);
    await rm(directory, { recursive: true, force: true });
  });

  async function write(files: Record<string, string | Uint8Array>): Promise<void> {
    for (const [name, content] of Object.entries(files)) {
      await writeFile(path.join(directory, name), content);
    }
  }

  async function load(): Promise<Awaited<ReturnType<ModelLoader['load']>>> {
    return sut.load(VERSION as unknown as ModelVersion);
  }

  it('decodes the serving input example at load and warms the model up with it', async () => {
    await write({
      MLmodel: mlmodel(true),
      'model.onnx': tinyClassifier(),
      'serving_input_example.json': JSON.stringify({
        dataframe_split: { columns: ['a', 'b'], data: [[0.1, 0.9]] },
      }),
    });

    const model = await load();
    await model.runtime.dispose();

    expect(model.warmup).toEqual({
      ran: true,
      source: 'serving_input_example.json',
      durationMs: expect.any(Number),
    });
    expect(model.runtime.platform).toBe('onnxruntime_onnx');
    expect(warnings).toEqual([]);
  });

  it('holds the version’s files in the disk cache until it is unloaded', async () => {
    const cache = new FakeArtifactCache(directory);
    sut = loader(directory, CONFIG, new FakeOnnxConverter(), cache);
    await write({ MLmodel: mlmodel(false), 'model.onnx': tinyClassifier() });

    const model = await load();
    const whileLoaded = [...cache.held];
    await sut.unload(model);

    expect(whileLoaded).toEqual(['iris/3']);
    expect(cache.held).toEqual([]);
  });

  it('releases the files of a version whose load failed', async () => {
    const cache = new FakeArtifactCache(directory);
    sut = loader(directory, CONFIG, new FakeOnnxConverter(), cache);
    await write({ MLmodel: 'flavors:\n  spark:\n    model_data: sparkml\n' });

    await expect(load()).rejects.toBeInstanceOf(ModelLoadError);
    expect(cache.held).toEqual([]);
  });

  it('loads a version whose example is malformed, saying why its warm-up could not run, once', async () => {
    await write({
      MLmodel: mlmodel(true),
      'model.onnx': tinyClassifier(),
      'serving_input_example.json': JSON.stringify({ dataframe_split: { columns: ['a'] } }),
    });

    const model = await load();
    await model.runtime.dispose();

    expect(model.warmup).toEqual({
      ran: false,
      reason: "input example: dataframe_split must hold a list 'data', got a mapping",
    });
    expect(warnings).toEqual([
      "iris v3 loads without a warm-up run: input example: dataframe_split must hold a list 'data', got a mapping",
    ]);
  });

  it('says so when the example file the MLmodel names is missing', async () => {
    await write({ MLmodel: mlmodel(true), 'model.onnx': tinyClassifier() });

    const model = await load();
    await model.runtime.dispose();

    expect(model.warmup.ran).toBe(false);
    expect(model.warmup).toMatchObject({ reason: expect.stringContaining('missing') });
    expect(warnings).toHaveLength(1);
  });

  it('says so when the model was logged without an example', async () => {
    await write({ MLmodel: mlmodel(false), 'model.onnx': tinyClassifier() });

    const model = await load();
    await model.runtime.dispose();

    expect(model.warmup).toEqual({
      ran: false,
      reason: 'the model was logged without an input example',
    });
  });

  it('does not load a model that fails on the example it accepted', async () => {
    // Two inputs a [N, A] and b [N, B], fed one column each; Add cannot broadcast them.
    const broken = tinyOnnxModel({
      inputs: [
        { name: 'a', elemType: ELEM.DOUBLE, dims: ['N', 'A'] },
        { name: 'b', elemType: ELEM.DOUBLE, dims: ['N', 'B'] },
      ],
      outputs: [{ name: 'sum', elemType: ELEM.DOUBLE, dims: ['N', 'C'] }],
      nodes: [{ op: 'Add', inputs: ['a', 'b'], outputs: ['sum'] }],
    });
    await write({
      MLmodel: mlmodel(true),
      'model.onnx': broken,
      'serving_input_example.json': JSON.stringify({
        inputs: { a: [[1, 2]], b: [[1, 2, 3]] },
      }),
    });

    const error = await load().catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ModelLoadError);
    expect((error as ModelLoadError).reason).toMatch(/^warm-up with the input example failed: /);
  });
});

describe(`${ModelLoader.name} runtime choice for an sklearn model`, () => {
  let directory: string;
  let converter: FakeOnnxConverter;

  /** As mlflow.sklearn writes it: two double columns, labels out. */
  const SKLEARN_MLMODEL = [
    'flavors:',
    '  python_function:',
    '    loader_module: mlflow.sklearn',
    '  sklearn:',
    '    sklearn_version: 1.9.1',
    'signature:',
    `  inputs: '[{"type": "double", "name": "a", "required": true}, {"type": "double", "name": "b", "required": true}]'`,
    `  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]'`,
    '  params: null',
  ].join('\n');

  beforeEach(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'modelgate-loader-'));
    converter = new FakeOnnxConverter();
    await writeFile(path.join(directory, 'MLmodel'), SKLEARN_MLMODEL);
    Logger.overrideLogger(['error']);
  });

  afterEach(async () => {
    Logger.overrideLogger(false);
    await rm(directory, { recursive: true, force: true });
  });

  function accelerating(mode: ModelsConfig['onnxAccelerate']['mode']): ModelLoader {
    const config = configServing([], {
      onnxAccelerate: { mode, tolerance: 1e-5, checkRows: 64, timeoutMs: 60_000 },
    });
    return loader(directory, config, converter);
  }

  it('serves its ONNX conversion in process with auto, saying why', async () => {
    const model = await accelerating('auto').load(VERSION as unknown as ModelVersion);
    await model.runtime.dispose();

    expect(model.runtime.kind).toBe('onnx');
    expect(model.info.flavor).toBe('sklearn');
    expect(model.info.runtimeReason).toBe(
      "converted to ONNX by skl2onnx 1.20.0; labels matched pyfunc's on 69 rows",
    );
  });

  it('hands a version whose conversion did not match on to the Python workers', async () => {
    converter.answerWith({ converted: false, reason: 'labels differ on 3 of 69 rows' });

    const error = await accelerating('auto')
      .load(VERSION as unknown as ModelVersion)
      .catch((e: unknown) => e);

    expect(converter.requests).toHaveLength(1);
    expect(error).toBeInstanceOf(ModelLoadError);
    // The workers' Python (PYFUNC) does not exist here: their start is what fails.
    expect((error as ModelLoadError).reason).toContain('could not run /nonexistent/python3');
  });

  it('fails the load with require instead of handing it on, naming the reason', async () => {
    converter.answerWith({ converted: false, reason: 'labels differ on 3 of 69 rows' });

    const error = await accelerating('require')
      .load(VERSION as unknown as ModelVersion)
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ModelLoadError);
    expect((error as ModelLoadError).reason).toBe(
      'MODEL_ONNX_ACCELERATE=require, and it is not served through ONNX: not converted to ONNX: labels differ on 3 of 69 rows',
    );
  });

  it('does not convert a model SCORING_SERVERS lists: that is the operator’s choice', async () => {
    const config = configServing([], {
      onnxAccelerate: { mode: 'auto', tolerance: 1e-5, checkRows: 64, timeoutMs: 60_000 },
      scoringServers: { iris: ['http://127.0.0.1:9'] },
      scoringServerTimeoutMs: 1_000,
    });
    const sut = loader(directory, config, converter);

    await sut.load(VERSION as unknown as ModelVersion).catch(() => undefined);

    expect(converter.requests).toHaveLength(0);
  });
});

describe(`${ModelLoader.name} runtime choice`, () => {
  let directory: string;
  let sut: ModelLoader;

  beforeEach(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'modelgate-loader-'));
    Logger.overrideLogger(false);
    sut = loader(directory);
  });

  afterEach(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  const SIGNATURE = [
    'signature:',
    `  inputs: '[{"type": "double", "name": "a", "required": true}]'`,
    '  outputs: null',
    '  params: null',
  ];

  async function loadWith(mlmodelLines: string[]): Promise<unknown> {
    await writeFile(path.join(directory, 'MLmodel'), mlmodelLines.join('\n'));
    return sut.load(VERSION as unknown as ModelVersion).catch((e: unknown) => e);
  }

  it('refuses a version no runtime serves, naming its flavors', async () => {
    const error = await loadWith(['flavors:', '  spark:', '    model_data: sparkml', ...SIGNATURE]);

    expect(error).toBeInstanceOf(ModelLoadError);
    expect((error as ModelLoadError).reason).toContain('no runtime serves its flavors (spark)');
  });

  it('gives a python_function version to Python workers, failing the load when they cannot start', async () => {
    const error = await loadWith([
      'flavors:',
      '  sklearn:',
      '    pickled_model: model.pkl',
      '  python_function:',
      '    loader_module: mlflow.sklearn',
      ...SIGNATURE,
    ]);

    expect(error).toBeInstanceOf(ModelLoadError);
    expect((error as ModelLoadError).reason).toContain('could not run /nonexistent/python3');
  });
});
