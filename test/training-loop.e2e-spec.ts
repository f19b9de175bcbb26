import { RunningServer, startServer } from './support/app';
import { request, waitFor } from './support/http';
import { freePort } from './support/ports';
import { pythonPredict } from './support/python';
import { TrainingStack, startTrainingStack } from './support/training-stack';

const MODEL = 'iris-classifier';
const DAG = 'modelgate_retrain';
const TOKEN = 'training-loop-callback-token';
const COLUMNS = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
const ROWS = [
  [5.1, 3.5, 1.4, 0.2],
  [5.9, 3.0, 4.2, 1.5],
  [6.7, 3.0, 5.2, 2.3],
];

interface RunView {
  dagId: string;
  runId: string;
  state: string;
  url: string;
  tasks?: { taskId: string; state?: string }[];
}

interface ModelsView {
  models: { reference: string; state: string; version?: string }[];
  recentReloads: { trigger: string; status: string; to?: string }[];
}

interface RegistryView {
  aliases: Record<string, string>;
  versions: { version: string; run?: { metrics?: Record<string, number> } }[];
}

/**
 * The whole loop on real servers: the API triggers the retraining DAG in a
 * real Airflow, which trains, logs to and registers in a real MLflow, moves the
 * alias only for a better model, and calls the API back, which then serves the
 * new version. MLflow and Airflow share a network (Airflow reaches MLflow as
 * `mlflow`); Airflow reaches this test's API server through host.containers.internal.
 */
describe('The retraining loop, end to end', () => {
  let stack: TrainingStack;
  let api: RunningServer;
  let mlflowUrl: string;

  beforeAll(async () => {
    const apiPort = await freePort();
    stack = await startTrainingStack({ apiPort, callbackToken: TOKEN });
    mlflowUrl = stack.mlflowUrl;
    api = await startServer(
      {
        MLFLOW_TRACKING_URI: mlflowUrl,
        AIRFLOW_BASE_URL: stack.airflowUrl,
        AIRFLOW_USERNAME: 'airflow',
        AIRFLOW_PASSWORD: 'airflow',
        API_CALLBACK_TOKEN: TOKEN,
        TRAINING_DAG_ID: DAG,
        MODELS: `models:/${MODEL}@champion`,
        // Only the callback may bring the new version in: no polling here.
        MODEL_REFRESH_INTERVAL: '0',
      },
      { listen: { host: '0.0.0.0', port: apiPort } },
    );
  });

  afterAll(async () => {
    await api?.app.close();
    await stack?.stop();
  });

  async function train(conf: Record<string, unknown>): Promise<RunView> {
    const triggered = await request<RunView>(`${api.url}/v1/training/runs`, { body: { conf } });
    expect(triggered.status).toBe(201);
    return waitFor(
      async () =>
        (await request<RunView>(`${api.url}/v1/training/runs/${DAG}/${triggered.body.runId}`)).body,
      (run) => run.state === 'success' || run.state === 'failed',
      300_000,
    );
  }

  const registry = async () => (await request<RegistryView>(`${api.url}/v1/models/${MODEL}`)).body;
  const serving = async () =>
    (await request<ModelsView>(`${api.url}/v1/models`)).body.models.find(
      (m) => m.reference === `${MODEL}@champion`,
    );

  it('trains, registers, promotes and calls back; the API then serves the new version, as Python predicts', async () => {
    const run = await train({ C: 1.0 });

    expect(run.state).toBe('success');
    expect(run.tasks?.every((t) => t.state === 'success')).toBe(true);
    expect(run.url).toContain(`/dags/${DAG}/runs/`);

    const { aliases } = await registry();
    const champion = aliases.champion;
    expect(champion).toBeDefined();
    // The callback, not a poll, brought it in (MODEL_REFRESH_INTERVAL=0).
    const served = await waitFor(serving, (m) => m?.version === champion, 30_000);
    expect(served?.state).toBe('ready');
    const reloads = (await request<ModelsView>(`${api.url}/v1/models`)).body.recentReloads;
    expect(reloads.some((r) => r.trigger.includes(`airflow callback ${run.runId}`))).toBe(true);

    const expected = await pythonPredict(mlflowUrl, `models:/${MODEL}/${champion}`, ROWS);
    const answer = await request<{ predictions: { label: number; probabilities: number[] }[] }>(
      `${api.url}/invocations`,
      { body: { dataframe_split: { columns: COLUMNS, data: ROWS } } },
    );
    expect(answer.headers.get('x-model-version')).toBe(champion);
    expect(answer.body.predictions.map((p) => p.label)).toEqual(expected.label);
    answer.body.predictions.forEach((p, row) =>
      p.probabilities.forEach((v, k) =>
        expect(v).toBeCloseTo((expected.probabilities[row] as number[])[k], 5),
      ),
    );
  });

  it('registers a worse model but leaves the alias, and the API, where they were', async () => {
    const before = await registry();
    const champion = before.aliases.champion;

    // Strong regularisation: a clearly worse classifier on the same data.
    const run = await train({ C: 0.0001 });
    const after = await registry();

    expect(run.state).toBe('success');
    expect(after.versions.length).toBe(before.versions.length + 1);
    expect(after.aliases.champion).toBe(champion);
    const served = await serving();
    expect(served?.version).toBe(champion);
  });
});
