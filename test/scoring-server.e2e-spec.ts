import { RunningServer, startServer, stackEnv } from './support/app';
import { request, waitFor } from './support/http';
import { freePort } from './support/ports';
import { ScoringServer, registerSklearnModel, startScoringServer } from './support/python';
import { StackInfo, sharedStack } from './support/shared-stack';

const COLUMNS = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
const ROWS = [
  [5.1, 3.5, 1.4, 0.2],
  [6.7, 3.0, 5.2, 2.3],
];
const BODY = { dataframe_split: { columns: COLUMNS, data: ROWS } };

describe('Models of other flavors, delegated to MLflow scoring servers', () => {
  const suffix = Date.now();
  const SKLEARN = `iris-sklearn-${suffix}`;
  const UNSERVED = `iris-unserved-${suffix}`;
  let stack: StackInfo;
  let servers: ScoringServer[] = [];
  let server: RunningServer;

  beforeAll(async () => {
    stack = sharedStack();
    const { version } = await registerSklearnModel(stack.mlflowUrl, SKLEARN);
    await registerSklearnModel(stack.mlflowUrl, UNSERVED, { withoutPyfunc: true });
    const ports = [await freePort(), await freePort()];
    servers = await Promise.all(
      ports.map((port) =>
        startScoringServer(stack.mlflowUrl, `models:/${SKLEARN}/${version}`, port),
      ),
    );
    server = await startServer({
      ...stackEnv(stack),
      MODELS: `models:/${SKLEARN}/${version}`,
      SCORING_SERVERS: `${SKLEARN}=${servers.map((s) => s.url).join(',')}`,
      SCORING_SERVER_COOL_DOWN: '60',
      MODEL_REFRESH_INTERVAL: '0',
    });
    await waitFor(
      () => request(`${server.url}/ping`),
      (r) => r.status === 200,
    );
  });

  afterAll(async () => {
    await server?.app.close();
    servers.forEach((s) => s.stop());
  });

  it('answers with exactly the scoring server’s predictions', async () => {
    const direct = await request<{ predictions: unknown }>(`${servers[0].url}/invocations`, {
      body: BODY,
    });

    const ours = await request<{ predictions: unknown }>(`${server.url}/invocations`, {
      body: BODY,
    });

    expect(ours.status).toBe(200);
    expect(ours.body.predictions).toEqual(direct.body.predictions);
    expect(ours.body.predictions).toEqual([0, 2]);
  });

  it('checks the input against the signature before delegating', async () => {
    const reply = await request<{ error_code: string; message: string }>(
      `${server.url}/invocations`,
      {
        body: { dataframe_split: { columns: COLUMNS.slice(1), data: ROWS.map((r) => r.slice(1)) } },
      },
    );

    expect(reply.status).toBe(400);
    expect(reply.body.message).toContain('sepal_length');
  });

  it('serves Open Inference requests too, one tensor per column', async () => {
    const inputs = COLUMNS.map((name, c) => ({
      name,
      datatype: 'FP64',
      shape: [2],
      data: ROWS.map((r) => r[c]),
    }));

    const reply = await request<{ outputs: { name: string; datatype: string; data: number[] }[] }>(
      `${server.url}/v2/models/${SKLEARN}/infer`,
      { body: { inputs } },
    );

    expect(reply.status).toBe(200);
    expect(reply.body.outputs).toEqual([
      expect.objectContaining({ name: 'predictions', datatype: 'INT64', data: [0, 2] }),
    ]);
  });

  it('fails over to the next scoring server, and answers 503 when none is left', async () => {
    servers[0].stop();
    const afterOne = await Promise.all(
      [1, 2, 3, 4].map(() => request(`${server.url}/invocations`, { body: BODY })),
    );

    servers[1].stop();
    const afterBoth = await request<{ error_code: string; message: string }>(
      `${server.url}/invocations`,
      { body: BODY },
    );

    expect(afterOne.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(afterBoth.status).toBe(503);
    expect(afterBoth.body.error_code).toBe('TEMPORARILY_UNAVAILABLE');
    expect(afterBoth.body.message).toContain('no scoring server answered');
  });

  it('refuses a model no runtime can serve when it loads, naming the reason', async () => {
    const reply = await request<{ error_code: string; message: string }>(
      `${server.url}/v1/models/${UNSERVED}/invocations`,
      { body: BODY },
    );

    expect(reply.status).toBe(503);
    expect(reply.body.message).toContain('no runtime serves its flavors (sklearn)');
    expect(reply.body.message).toContain('SCORING_SERVERS');
  });
});
