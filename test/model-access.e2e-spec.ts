import { RunningServer, startServer, stackEnv } from './support/app';
import { request, waitFor } from './support/http';
import { registerDemoModel } from './support/python';
import { StackInfo, sharedStack } from './support/shared-stack';

const TENSOR_INPUT = {
  inputs: [{ name: 'float_input', datatype: 'FP32', shape: [1, 4], data: [5.1, 3.5, 1.4, 0.2] }],
};

/** Loading stays within the operator's intent: MODEL_LOAD_ON_DEMAND=false and MODEL_ALLOW hold on every route. */
describe('Which models a server may load', () => {
  const suffix = Date.now();
  const SERVED = `access-served-${suffix}`;
  const OTHER = `access-other-${suffix}`;
  let stack: StackInfo;
  let server: RunningServer;

  const url = (p: string) => `${server.url}${p}`;

  beforeAll(async () => {
    stack = sharedStack();
    await registerDemoModel(stack.mlflowUrl, {
      name: SERVED,
      signature: 'tensor',
      alias: 'champion',
    });
    await registerDemoModel(stack.mlflowUrl, { name: OTHER, c: 1.0, alias: 'champion' });
  });

  afterEach(async () => {
    await server?.app.close();
  });

  async function serve(env: Record<string, string>): Promise<void> {
    server = await startServer({
      ...stackEnv(stack),
      MODELS: `models:/${SERVED}@champion`,
      MODEL_REFRESH_INTERVAL: '0',
      ...env,
    });
    await waitFor(
      () => request(url('/ping')),
      (r) => r.status === 200,
      120_000,
    );
  }

  it('with loading on demand off, answers 404 for a model not among MODELS on reload and metadata routes', async () => {
    await serve({ MODEL_LOAD_ON_DEMAND: 'false' });

    const reload = await request(url(`/v1/models/${OTHER}/reload`), { method: 'POST' });
    const registered = await request(url(`/v1/models/${OTHER}`));
    const metadata = await request(url(`/v2/models/${OTHER}`));

    expect([reload.status, registered.status, metadata.status]).toEqual([404, 404, 404]);
    for (const reply of [reload, registered, metadata]) {
      expect(reply.text).toContain('loading on demand is off');
    }
    const served = await request<{ models: { reference: string }[] }>(url('/v1/models'));
    expect(served.body.models.map((m) => m.reference)).toEqual([`${SERVED}@champion`]);
    // The models of MODELS still answer every route.
    expect((await request(url(`/v1/models/${SERVED}/reload`), { method: 'POST' })).status).toBe(
      200,
    );
    expect((await request(url(`/v1/models/${SERVED}`))).status).toBe(200);
    expect((await request(url(`/v2/models/${SERVED}`))).status).toBe(200);
  });

  it('answers a bare name ready when MODELS serves it under an alias, as infer does', async () => {
    await serve({ MODEL_LOAD_ON_DEMAND: 'false' });

    const ready = await request(url(`/v2/models/${SERVED}/ready`));
    const infer = await request(url(`/v2/models/${SERVED}/infer`), { body: TENSOR_INPUT });

    expect(ready.status).toBe(200);
    expect(infer.status).toBe(200);
  });

  it('with MODEL_ALLOW, answers 404 for a name that does not match, even with loading on demand on', async () => {
    await serve({ MODEL_LOAD_ON_DEMAND: 'true', MODEL_ALLOW: 'access-served-*' });
    const body = {
      dataframe_split: {
        columns: ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'],
        data: [[5.1, 3.5, 1.4, 0.2]],
      },
    };

    const replies = await Promise.all([
      request(url(`/v1/models/${OTHER}/invocations`), { body }),
      request(url(`/v2/models/${OTHER}`)),
      request(url(`/v1/models/${OTHER}`)),
      request(url(`/v1/models/${OTHER}/reload`), { method: 'POST' }),
    ]);

    expect(replies.map((r) => r.status)).toEqual([404, 404, 404, 404]);
    for (const reply of replies) expect(reply.text).toContain('not allowed by MODEL_ALLOW');
    expect((await request(url(`/v2/models/${SERVED}/infer`), { body: TENSOR_INPUT })).status).toBe(
      200,
    );
  });
});
