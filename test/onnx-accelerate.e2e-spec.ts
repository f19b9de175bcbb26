import { LoggerService } from '@nestjs/common';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { MlflowClient } from '../src/mlflow/mlflow.client';
import { RunningServer, startServer, stackEnv } from './support/app';
import {
  AccelerateModels,
  Rows,
  pyfuncPredictions,
  registerAccelerateModels,
} from './support/accelerate-models';
import { request, waitFor } from './support/http';
import { StackInfo, sharedStack } from './support/shared-stack';

interface ModelEntry {
  reference: string;
  name: string;
  state: string;
  version?: string;
  runtime?: string;
  runtimeReason?: string;
  lastError?: { message: string };
}

/** Every message the app logs, kept for assertions (warnings and errors also to the console). */
class RecordingLogger implements LoggerService {
  readonly messages: string[] = [];
  log(message: unknown): void {
    this.messages.push(String(message));
  }
  warn(message: unknown): void {
    this.messages.push(String(message));
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.messages.push(String(message));
    console.error(message, ...rest);
  }
}

/** Conversions start Python, import MLflow and load each model twice: slow on a shared 2-core box. */
const SLOW = 900_000;

/** Open Inference input for a column signature: one FP64 tensor per column. */
function columnTensors(
  rows: Rows,
): { name: string; datatype: string; shape: number[]; data: number[] }[] {
  return rows.columns.map((name, c) => ({
    name,
    datatype: 'FP64',
    shape: [rows.data.length],
    data: rows.data.map((r) => r[c]),
  }));
}

describe('ONNX acceleration of sklearn, xgboost and lightgbm models (MODEL_ONNX_ACCELERATE)', () => {
  const prefix = `acc-${Date.now()}`;
  let stack: StackInfo;
  let fixtures: AccelerateModels;
  let cacheDir: string;
  let server: RunningServer | undefined;
  let logger: RecordingLogger;
  /** pyfunc predict's answers for the served models, on the fixture rows. */
  const expected: Record<string, unknown[]> = {};

  const rowsOf = (key: string): Rows =>
    fixtures.rows[key === 'regressor' ? 'diabetes' : 'breast_cancer'];
  const name = (key: keyof AccelerateModels['models']) => fixtures.models[key].name;

  async function start(env: Record<string, string>, cache = cacheDir): Promise<RunningServer> {
    logger = new RecordingLogger();
    return startServer(
      {
        ...stackEnv(stack),
        MODEL_CACHE_DIR: cache,
        MODEL_REFRESH_INTERVAL: '0',
        MODEL_ONNX_CONVERT_TIMEOUT: '600',
        PYFUNC_PYTHON: path.resolve(__dirname, '../.venv/bin/python'),
        ...env,
      },
      { logger },
    );
  }

  async function models(url: string): Promise<ModelEntry[]> {
    return (await request<{ models: ModelEntry[] }>(`${url}/v1/models`)).body.models;
  }

  async function untilSettled(url: string, names: string[]): Promise<ModelEntry[]> {
    const settled = (list: ModelEntry[]) =>
      names.every((n) => list.some((m) => m.name === n && ['ready', 'failed'].includes(m.state)));
    await waitFor(() => models(url), settled, SLOW);
    return models(url);
  }

  beforeAll(async () => {
    stack = sharedStack();
    fixtures = await registerAccelerateModels(stack.mlflowUrl, prefix);
    const served = ['forest', 'regressor', 'xgboost', 'lightgbm'] as const;
    const compared = [...served, 'lambda'] as const;
    const answers = await pyfuncPredictions(
      stack.mlflowUrl,
      compared.map((key) => ({ uri: `models:/${name(key)}/1`, ...rowsOf(key) })),
    );
    compared.forEach((key, i) => (expected[key] = answers[i]));
    cacheDir = await mkdtemp(path.join(tmpdir(), 'mg-accelerate-'));
    server = await start({
      MODELS: served.map((key) => `models:/${name(key)}@champion`).join(','),
      MODEL_ONNX_ACCELERATE: 'auto',
    });
    await untilSettled(
      server.url,
      served.map((key) => name(key)),
    );
  }, SLOW);

  afterAll(async () => {
    await server?.app.close();
    if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
  });

  describe('with auto', () => {
    it('serves the forest through ONNX and says so in /v1/models', async () => {
      const forest = (await models(server!.url)).find((m) => m.name === name('forest'));

      expect(forest).toMatchObject({ state: 'ready', version: '1', runtime: 'onnx' });
      expect(forest?.runtimeReason).toMatch(
        /^converted to ONNX by skl2onnx 1\.20\.0; labels matched pyfunc's on \d+ rows$/,
      );
    });

    it('says which runtime and why in /v1/models/{name}, Open Inference metadata and the status page', async () => {
      const registered = await request<{
        versions: { version: string; runtime?: string; runtimeReason?: string }[];
      }>(`${server!.url}/v1/models/${name('forest')}`);
      const metadata = await request<{ platform: string }>(
        `${server!.url}/v2/models/${name('forest')}`,
      );
      const status = await request(`${server!.url}/status`);

      expect(registered.body.versions).toContainEqual(
        expect.objectContaining({
          version: '1',
          runtime: 'onnx',
          runtimeReason: expect.stringContaining('converted to ONNX by skl2onnx'),
        }),
      );
      expect(metadata.body.platform).toBe('onnxruntime_onnx');
      expect(status.text).toContain('converted to ONNX by skl2onnx 1.20.0');
    });

    it.each(['forest', 'regressor', 'xgboost', 'lightgbm'] as const)(
      '%s: answers as mlflow.pyfunc predict does through the MLflow route, served by ONNX',
      async (key) => {
        const rows = rowsOf(key);

        const reply = await request<{ predictions: number[] }>(
          `${server!.url}/v1/models/${name(key)}/invocations`,
          { body: { dataframe_split: rows } },
        );

        const entry = (await models(server!.url)).find((m) => m.name === name(key));
        expect(entry?.runtime).toBe('onnx');
        expect(reply.status).toBe(200);
        if (key === 'regressor') {
          expect(reply.body.predictions).toHaveLength(expected[key].length);
          reply.body.predictions.forEach((value, i) =>
            expect(value).toBeCloseTo(expected[key][i] as number, 8),
          );
        } else {
          expect(reply.body.predictions).toEqual(expected[key]);
        }
      },
    );

    it.each(['forest', 'regressor', 'xgboost', 'lightgbm'] as const)(
      '%s: answers as mlflow.pyfunc predict does through Open Inference, typed as the signature says',
      async (key) => {
        const rows = rowsOf(key);

        const reply = await request<{
          outputs: { name: string; datatype: string; shape: number[]; data: number[] }[];
        }>(`${server!.url}/v2/models/${name(key)}/infer`, {
          body: { inputs: columnTensors(rows) },
        });

        expect(reply.status).toBe(200);
        const [output] = reply.body.outputs;
        expect(reply.body.outputs).toHaveLength(1);
        expect(output).toMatchObject({
          name: 'predictions',
          datatype: key === 'regressor' ? 'FP64' : 'INT64',
          shape: [rows.data.length],
        });
        if (key === 'regressor') {
          output.data.forEach((value, i) =>
            expect(value).toBeCloseTo(expected[key][i] as number, 8),
          );
        } else {
          expect(output.data).toEqual(expected[key]);
        }
      },
    );

    it('serves the lambda pipeline it cannot convert through pyfunc, saying why, with pyfunc predict’s answers', async () => {
      const reply = await request<{ predictions: number[] }>(
        `${server!.url}/v1/models/${name('lambda')}/invocations`,
        { body: { dataframe_split: rowsOf('lambda') } },
      );

      const entry = (await models(server!.url)).find((m) => m.name === name('lambda'));
      expect(reply.status).toBe(200);
      expect(reply.body.predictions).toEqual(expected.lambda);
      expect(entry).toMatchObject({ state: 'ready', runtime: 'pyfunc' });
      expect(entry?.runtimeReason).toContain(
        'not converted to ONNX: skl2onnx cannot convert FunctionTransformer',
      );
    });

    it('reuses the kept conversion when the same version loads again with the same settings', async () => {
      const forestDir = await conversionDirectoryOf(cacheDir, name('forest'));
      const before = await readFile(path.join(forestDir, 'report.json'), 'utf8');
      await server!.app.close();
      server = undefined;

      server = await start({
        MODELS: `models:/${name('forest')}@champion`,
        MODEL_ONNX_ACCELERATE: 'auto',
      });
      const [forest] = await untilSettled(server.url, [name('forest')]);
      const reply = await request<{ predictions: number[] }>(
        `${server.url}/v1/models/${name('forest')}/invocations`,
        { body: { dataframe_split: rowsOf('forest') } },
      );

      expect(forest).toMatchObject({ state: 'ready', runtime: 'onnx' });
      expect(logger.messages).toContainEqual(
        expect.stringMatching(
          new RegExp(`^${name('forest')} v1: reusing the ONNX conversion in \\.modelgate/onnx-`),
        ),
      );
      expect(logger.messages.some((m) => m.startsWith(`converting ${name('forest')}`))).toBe(false);
      expect(await readFile(path.join(forestDir, 'report.json'), 'utf8')).toBe(before);
      expect(reply.body.predictions).toEqual(expected.forest);
    });
  });

  describe('with require', () => {
    let requiring: RunningServer | undefined;
    let requireCache: string;

    afterAll(async () => {
      await requiring?.app.close();
      if (requireCache) await rm(requireCache, { recursive: true, force: true });
    });

    it('fails the load of a version it cannot convert, naming the reason, and the previous version keeps serving', async () => {
      const switchName = name('switch');
      requireCache = await mkdtemp(path.join(tmpdir(), 'mg-accelerate-require-'));
      requiring = await start(
        { MODEL_ONNX_ACCELERATE: 'require', MODELS: `models:/${switchName}@champion` },
        requireCache,
      );
      const [loaded] = await untilSettled(requiring.url, [switchName]);
      await requiring.app.get(MlflowClient).setAlias(switchName, 'champion', fixtures.switch2);

      const reload = await request<{ outcomes: { status: string; error?: string }[] }>(
        `${requiring.url}/v1/models/${switchName}/reload`,
        { method: 'POST' },
      );
      const after = await request<{ predictions: number[] }>(
        `${requiring.url}/v1/models/${switchName}/invocations`,
        { body: { dataframe_split: rowsOf('switch') } },
      );

      expect(loaded).toMatchObject({ state: 'ready', version: '1', runtime: 'onnx' });
      expect(reload.body.outcomes).toEqual([
        expect.objectContaining({
          status: 'failed',
          error: expect.stringMatching(
            /MODEL_ONNX_ACCELERATE=require.*skl2onnx cannot convert FunctionTransformer/,
          ),
        }),
      ]);
      expect(after.status).toBe(200);
      expect(after.headers.get('x-model-version')).toBe('1');
    });
  });
});

/** The one `.modelgate/onnx-*` directory inside a model's cached versions. */
async function conversionDirectoryOf(cacheDir: string, modelName: string): Promise<string> {
  const found: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (depth > 6) return;
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (!entry.isDirectory()) continue;
      if (entry.name.startsWith('onnx-') && path.basename(dir) === '.modelgate') found.push(full);
      else await walk(full, depth + 1);
    }
  };
  await walk(cacheDir, 0);
  const encoded = modelName.replace(/[^a-z0-9-]/g, (c) => `_${c.charCodeAt(0).toString(16)}`);
  const mine = found.filter((dir) => dir.includes(`${path.sep}${encoded}${path.sep}`));
  if (mine.length !== 1)
    throw new Error(`expected one conversion of ${modelName}, found ${mine.join(', ')}`);
  return mine[0];
}
