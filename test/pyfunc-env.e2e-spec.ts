import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { MlflowClient } from '../src/mlflow/mlflow.client';
import { RunningServer, startServer, stackEnv } from './support/app';
import { Reply, request, waitFor } from './support/http';
import { pyfuncPredict, registerPinnedSklearnModel } from './support/python';
import { StackInfo, sharedStack } from './support/shared-stack';

const ROOT = path.resolve(__dirname, '..');
const COLUMNS = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
/** Rows on both sides of the class boundaries, so C=1 and C=0.01 answer differently. */
const ROWS = [
  [5.1, 3.5, 1.4, 0.2],
  [6.0, 2.7, 5.1, 1.6],
  [6.7, 3.0, 5.2, 2.3],
  [5.9, 3.0, 4.2, 1.5],
];
const BODY = { dataframe_split: { columns: COLUMNS, data: ROWS } };
const MISSING_PACKAGE = 'modelgate-no-such-package==1.0';
const STAMP = '.modelgate-env.json';
/** One load: building a venv (~80 s measured here under load) and starting its worker (~60 s). */
const LOAD_TIMEOUT_MS = 540_000;
const TEST_TIMEOUT_MS = 600_000;

interface Stamp {
  key: string;
  python: string;
  requirements: string[];
  builtAt: string;
  buildMs: number;
}

interface LoadedModelsBody {
  models: {
    reference: string;
    version?: string;
    runtime?: string;
    lastError?: { message: string; version?: string };
  }[];
}

describe('PYFUNC_ENV=uv: each pyfunc version in a venv built from its own requirements', () => {
  const NAME = `iris-uv-${Date.now()}`;
  let stack: StackInfo;
  let server: RunningServer;
  let mlflow: MlflowClient;
  let root: string;
  let envDir: string;
  let v1: { version: string };
  let v2: { version: string };
  let broken: { version: string };

  const url = (p: string) => `${server.url}${p}`;

  async function envs(): Promise<string[]> {
    return (await readdir(envDir)).filter((entry) => !entry.endsWith('.lock'));
  }

  async function stampOf(env: string): Promise<Stamp> {
    return JSON.parse(await readFile(path.join(envDir, env, STAMP), 'utf8')) as Stamp;
  }

  interface Outcome {
    reference: string;
    status: string;
    to?: string;
    error?: string;
  }

  async function reload(): Promise<Outcome[]> {
    const reply = await request<{ outcomes: Outcome[] }>(url(`/v1/models/${NAME}/reload`), {
      method: 'POST',
    });
    return reply.body.outcomes;
  }

  /**
   * The predictions at `path` once its version has loaded: a first load builds
   * or reuses the venv and starts a worker (a minute or more on 2 busy cores),
   * answering 503 until then.
   */
  function served(path: string): Promise<Reply<{ predictions: number[] }>> {
    return waitFor(
      () => request<{ predictions: number[] }>(url(path), { body: BODY }),
      (r) => r.status !== 503,
      LOAD_TIMEOUT_MS,
    );
  }

  function champion(): Promise<Reply<{ predictions: number[] }>> {
    return served(`/v1/models/${NAME}@champion/invocations`);
  }

  beforeAll(async () => {
    stack = sharedStack();
    root = await mkdtemp(path.join(tmpdir(), 'mg-pyfunc-env-e2e-'));
    envDir = path.join(root, 'pyfunc-envs');
    v1 = await registerPinnedSklearnModel(stack.mlflowUrl, NAME, { c: 1 });
    v2 = await registerPinnedSklearnModel(stack.mlflowUrl, NAME, { c: 0.01 });
    broken = await registerPinnedSklearnModel(stack.mlflowUrl, NAME, {
      extraRequirements: [MISSING_PACKAGE],
    });
    server = await startServer({
      ...stackEnv(stack),
      MODEL_CACHE_DIR: path.join(root, 'models'),
      MODELS: `models:/${NAME}/${v1.version}`,
      MODEL_REFRESH_INTERVAL: '0',
      MODEL_ONNX_ACCELERATE: 'off',
      PYFUNC_ENV: 'uv',
      PYFUNC_ENV_DIR: envDir,
      // The models name no uv: the one beside this interpreter (.venv's) builds.
      PYFUNC_PYTHON: path.join(ROOT, '.venv/bin/python'),
    });
    mlflow = server.app.get(MlflowClient);
    await mlflow.setAlias(NAME, 'champion', v1.version);
  }, 600_000);

  afterAll(async () => {
    await server?.app.close();
    await rm(root, { recursive: true, force: true });
  });

  it(
    "serves a version from a venv built from its requirements, answering what MLflow's predict answers",
    async () => {
      const expected = (
        await pyfuncPredict(stack.mlflowUrl, `models:/${NAME}/${v1.version}`, {
          columns: COLUMNS,
          rows: ROWS,
        })
      ).predictions;

      const reply = await served(`/v1/models/${NAME}/versions/${v1.version}/invocations`);

      expect(reply.status).toBe(200);
      expect(reply.body.predictions).toEqual(expected);
      const built = await envs();
      expect(built).toHaveLength(1);
      const stamp = await stampOf(built[0]);
      expect(stamp.requirements).toEqual(expect.arrayContaining(['mlflow==3.17.2']));
      expect(stamp.python).toMatch(/^3\.11\./);
      // The figure the closing note asks for.
      console.log(`uv environment built in ${(stamp.buildMs / 1000).toFixed(1)} s`);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'reuses that venv for a version with the same requirements, building nothing',
    async () => {
      const [env] = await envs();
      const before = await stampOf(env);
      const expected = (
        await pyfuncPredict(stack.mlflowUrl, `models:/${NAME}/${v2.version}`, {
          columns: COLUMNS,
          rows: ROWS,
        })
      ).predictions;

      const reply = await served(`/v1/models/${NAME}/versions/${v2.version}/invocations`);

      expect(reply.status).toBe(200);
      expect(reply.body.predictions).toEqual(expected);
      expect(await envs()).toEqual([env]);
      expect(await stampOf(env)).toEqual(before);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'fails to load a version whose requirements name a package that does not exist, naming it, while the old one serves',
    async () => {
      await mlflow.setAlias(NAME, 'champion', v2.version);
      expect((await champion()).headers.get('x-model-version')).toBe(v2.version);
      await mlflow.setAlias(NAME, 'champion', broken.version);

      const outcome = (await reload()).find((o) => o.reference === `${NAME}@champion`);
      const prediction = await champion();
      const models = await request<LoadedModelsBody>(url('/v1/models'));
      const binding = models.body.models.find((m) => m.reference === `${NAME}@champion`)!;

      expect(outcome).toMatchObject({
        status: 'failed',
        error: expect.stringContaining(MISSING_PACKAGE),
      });
      expect(prediction.status).toBe(200);
      expect(prediction.headers.get('x-model-version')).toBe(v2.version);
      expect(binding.version).toBe(v2.version);
      expect(binding.lastError).toMatchObject({
        version: broken.version,
        message: expect.stringContaining(`package ${MISSING_PACKAGE} cannot be installed`),
      });
      // The failed build left nothing that a later load could take for complete.
      expect(await envs()).toHaveLength(1);
    },
    TEST_TIMEOUT_MS,
  );
});
