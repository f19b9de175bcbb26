import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { signMlflowDelivery } from '../src/auth/mlflow-signature';
import { RunningServer, startServer, stackEnv } from './support/app';
import { TestGrpcClient } from './support/grpc-client';
import { Reply, request, waitFor } from './support/http';
import { metricValue } from './support/metrics-text';
import { RegisteredDemoModel, python, registerDemoModel } from './support/python';
import { sharedStack } from './support/shared-stack';

/**
 * Champion and challenger on a real server, with a real MLflow (issue 13
 * part 2): a canary answers its share of callers from the challenger, each
 * caller always from the same side; a shadow gets a copy of every request
 * and never answers, and the pairs are counted and compared; the registered
 * model's tags override the settings; a challenger alias moved in MLflow is
 * followed (the reload endpoint, a webhook delivery). Polling is off.
 */

interface RolloutJson {
  mode: string;
  percent: number;
  source: string;
  champion: { alias: string; version?: string };
  challenger: { alias: string; version?: string; state?: string };
  problems: string[];
}

/** 400 callers at 25%: 100 expected, σ = √(400 · 0.25 · 0.75) ≈ 8.7; 4σ either side (a false failure about 1 in 16,000). */
const CALLERS = 400;
const PERCENT = 25;
const TOLERANCE = 35;

const ROW = [[5.1, 3.5, 1.4, 0.2]];
const WEBHOOK_SECRET = 'rollouts-e2e-webhook-secret-0123456789';

describe('rollouts: champion and challenger (a real server, a real MLflow)', () => {
  const MODEL = `rollout-iris-${Date.now()}`;
  let champion: RegisteredDemoModel;
  let challenger: RegisteredDemoModel;
  let third: RegisteredDemoModel;
  let cacheDir: string;
  let server: RunningServer;
  let grpc: TestGrpcClient;
  let mlflowUrl: string;

  beforeAll(async () => {
    const stack = sharedStack();
    mlflowUrl = stack.mlflowUrl;
    // Three different versions (C changes the predictions): v1 champion, v2 challenger, v3 unaliased.
    champion = await registerDemoModel(mlflowUrl, {
      name: MODEL,
      signature: 'tensor',
      alias: 'champion',
    });
    challenger = await registerDemoModel(mlflowUrl, {
      name: MODEL,
      signature: 'tensor',
      alias: 'challenger',
      c: 0.05,
    });
    third = await registerDemoModel(mlflowUrl, {
      name: MODEL,
      signature: 'tensor',
      alias: null,
      c: 0.2,
    });
    cacheDir = await mkdtemp(path.join(tmpdir(), 'mg-rollouts-'));
    server = await startServer({
      ...stackEnv(stack),
      MODELS: `models:/${MODEL}@champion`,
      MODEL_ROLLOUT: `${MODEL}:champion,challenger`,
      ROLLOUT_CANARY_PERCENT: String(PERCENT),
      MODEL_REFRESH_INTERVAL: '0',
      MODEL_CACHE_DIR: cacheDir,
      MLFLOW_WEBHOOK_SECRET: WEBHOOK_SECRET,
    });
    grpc = new TestGrpcClient(`127.0.0.1:${server.grpcPort}`);
    await waitForRollout((r) => r.challenger.version === challenger.version);
  });

  afterAll(async () => {
    grpc?.close();
    await server?.app.close();
    if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
  });

  const predict = (caller?: string): Promise<Reply> =>
    request(`${server.url}/v1/models/${MODEL}/invocations`, {
      body: { inputs: ROW },
      headers: caller === undefined ? {} : { 'x-modelgate-caller': caller },
    });

  const rolloutNow = async (): Promise<RolloutJson | undefined> =>
    (await request<{ rollout?: RolloutJson }>(`${server.url}/v1/models/${MODEL}`)).body.rollout;

  const waitForRollout = async (done: (r: RolloutJson) => boolean): Promise<RolloutJson> =>
    (await waitFor(rolloutNow, (r) => r !== undefined && done(r), 60_000)) as RolloutJson;

  const metrics = async () => (await request(`${server.url}/metrics`)).text;

  /** Sets registered-model tags, or moves an alias, with MLflow's own client. */
  const mlflowClient = (code: string, env: Record<string, string>) =>
    python(
      [
        '-c',
        `import os, mlflow\nc = mlflow.MlflowClient()\nm = os.environ["M"]\n${code}\nprint("{}")`,
      ],
      undefined,
      { MLFLOW_TRACKING_URI: mlflowUrl, M: MODEL, ...env },
    );

  const reload = () =>
    request(`${server.url}/v1/models/${MODEL}/reload`, { method: 'POST', body: {} });

  /** The side and version of each answer, checked to agree with each other. */
  function sideOf(reply: Reply): 'champion' | 'challenger' {
    expect(reply.status).toBe(200);
    const variant = reply.headers.get('x-modelgate-variant');
    const version = reply.headers.get('x-model-version');
    expect([variant, version]).toEqual(
      variant === 'challenger'
        ? ['challenger', challenger.version]
        : ['champion', champion.version],
    );
    return variant as 'champion' | 'challenger';
  }

  it('shows the rollout in /v1/models/{name}: both aliases, their versions, the mode and share', async () => {
    const rollout = await rolloutNow();

    expect(rollout).toMatchObject({
      mode: 'canary',
      percent: PERCENT,
      source: 'settings',
      champion: { alias: 'champion', version: champion.version },
      challenger: { alias: 'challenger', version: challenger.version, state: 'ready' },
      problems: [],
    });
  });

  it(`answers ${PERCENT}% ± ${TOLERANCE} of ${CALLERS} distinct callers from the challenger, each answer saying which`, async () => {
    const before = await metrics();
    const sides: string[] = [];
    for (let i = 0; i < CALLERS; i++) sides.push(sideOf(await predict(`caller-${i}`)));
    const fromChallenger = sides.filter((s) => s === 'challenger').length;
    process.stdout.write(
      `canary figure: ${fromChallenger} of ${CALLERS} callers answered by the challenger at ${PERCENT}%\n`,
    );

    expect(Math.abs(fromChallenger - (CALLERS * PERCENT) / 100)).toBeLessThanOrEqual(TOLERANCE);
    const after = await metrics();
    const counted = (version: string, variant: string) =>
      metricValue(after, 'modelgate_model_version_requests_total', {
        model: MODEL,
        version,
        variant,
        outcome: 'ok',
      }) -
      metricValue(before, 'modelgate_model_version_requests_total', {
        model: MODEL,
        version,
        variant,
        outcome: 'ok',
      });
    expect(counted(challenger.version, 'challenger')).toBe(fromChallenger);
    expect(counted(champion.version, 'champion')).toBe(CALLERS - fromChallenger);
  });

  it('keeps a caller on one side: the same key is answered by the same version 20 times', async () => {
    // Callers of both sides (the first 40 keys hold some of each, as the share above shows).
    const firstSides = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => [
        `sticky-${i}`,
        sideOf(await predict(`sticky-${i}`)),
      ]),
    );
    const picked = ['champion', 'challenger'].map((side) => firstSides.find(([, s]) => s === side));
    expect(picked).not.toContain(undefined);

    for (const [key, side] of picked as string[][]) {
      const again: string[] = [];
      for (let i = 0; i < 20; i++) again.push(sideOf(await predict(key)));
      expect(again).toEqual(Array(20).fill(side));
    }
  });

  it('keys a caller without the header by its API key, and keys gRPC callers by the same header', async () => {
    const sides = new Set<string>();
    for (let i = 0; i < 10; i++) sides.add(sideOf(await predict()));
    expect(sides.size).toBe(1);

    // One caller of each side by REST: over gRPC, the same metadata key must
    // land each on its own side (a key gRPC ignored would put both on one).
    const keyed: [string, string][] = [];
    for (let i = 0; i < 200 && new Set(keyed.map(([, s]) => s)).size < 2; i++) {
      const key = `grpc-caller-${i}`;
      const side = sideOf(await predict(key));
      if (!keyed.some(([, s]) => s === side)) keyed.push([key, side]);
    }
    expect(keyed.map(([, side]) => side).sort()).toEqual(['challenger', 'champion']);

    for (const [key, side] of keyed) {
      const call = await grpc.call(
        'ModelInfer',
        {
          model_name: MODEL,
          inputs: [
            {
              name: 'float_input',
              datatype: 'FP32',
              shape: [1, 4],
              contents: { fp32_contents: ROW[0] },
            },
          ],
          outputs: [{ name: 'probabilities' }],
        },
        { metadata: { 'x-modelgate-caller': key } },
      );

      expect(call.error).toBeUndefined();
      expect(call.trailing?.get('x-modelgate-variant')).toEqual([side]);
      expect(call.trailing?.get('x-model-version')).toEqual([
        side === 'challenger' ? challenger.version : champion.version,
      ]);
    }
  });

  it('follows a challenger alias moved in MLflow (reload endpoint), the champion untouched', async () => {
    await mlflowClient('c.set_registered_model_alias(m, "challenger", os.environ["V"])', {
      V: third.version,
    });

    expect((await reload()).status).toBe(200);
    const rollout = await waitForRollout((r) => r.challenger.version === third.version);

    expect(rollout.champion.version).toBe(champion.version);
    const versions = new Map<string, string>();
    for (let i = 0; i < 60; i++) {
      const reply = await predict(`caller-${i}`);
      versions.set(
        reply.headers.get('x-modelgate-variant')!,
        reply.headers.get('x-model-version')!,
      );
    }
    expect(Object.fromEntries(versions)).toEqual({
      champion: champion.version,
      challenger: third.version,
    });
  });

  it('follows the challenger alias moved back, told by an MLflow webhook delivery', async () => {
    await mlflowClient('c.set_registered_model_alias(m, "challenger", os.environ["V"])', {
      V: challenger.version,
    });
    const body = JSON.stringify({
      entity: 'model_version_alias',
      action: 'created',
      timestamp: new Date().toISOString(),
      data: { name: MODEL, alias: 'challenger', version: challenger.version },
    });
    const id = randomUUID();
    const timestamp = String(Math.floor(Date.now() / 1000));

    const reply = await request<{ followed?: { reloaded: { reference: string }[] } }>(
      `${server.url}/v1/hooks/mlflow`,
      {
        method: 'POST',
        apiKey: null,
        body,
        headers: {
          'x-mlflow-delivery-id': id,
          'x-mlflow-timestamp': timestamp,
          'x-mlflow-signature': signMlflowDelivery(WEBHOOK_SECRET, id, timestamp, body),
        },
      },
    );

    expect(reply.status).toBe(200);
    expect(reply.body.followed?.reloaded.map((r) => r.reference)).toEqual([`${MODEL}@challenger`]);
    const rollout = await waitForRollout((r) => r.challenger.version === challenger.version);
    expect(rollout.champion.version).toBe(champion.version);
  });

  it('lets the model’s tags override the settings: modelgate.canary_percent=100 sends every caller to the challenger', async () => {
    await mlflowClient('c.set_registered_model_tag(m, "modelgate.canary_percent", "100")', {});

    await reload();
    await waitForRollout((r) => r.percent === 100);

    const sides = new Set<string>();
    for (let i = 0; i < 30; i++) sides.add(sideOf(await predict(`tagged-${i}`)));
    expect([...sides]).toEqual(['challenger']);
    expect(await rolloutNow()).toMatchObject({ source: 'settings+tags', mode: 'canary' });
  });

  it('in shadow mode (modelgate.shadow=true) answers every request from the champion, and counts and compares the copies', async () => {
    await mlflowClient('c.set_registered_model_tag(m, "modelgate.shadow", "true")', {});
    await reload();
    await waitForRollout((r) => r.mode === 'shadow');
    const before = await metrics();
    const shadow = (text: string, outcome: string) =>
      metricValue(text, 'modelgate_rollout_shadow_total', { model: MODEL, outcome });
    const copies = 50;

    const sides = new Set<string>();
    for (let i = 0; i < copies; i++) sides.add(sideOf(await predict(`shadowed-${i}`)));

    expect([...sides]).toEqual(['champion']);
    // The copies run after the answers: wait (bounded) until every one is told.
    const after = await waitFor(
      metrics,
      (text) =>
        ['compared', 'dropped', 'failed'].reduce(
          (sum, o) => sum + shadow(text, o) - shadow(before, o),
          0,
        ) >= copies,
      30_000,
    );
    const compared = shadow(after, 'compared') - shadow(before, 'compared');
    const pairs = (name: string) =>
      metricValue(after, name, { model: MODEL }) - metricValue(before, name, { model: MODEL });
    process.stdout.write(
      `shadow figure: ${compared} of ${copies} copies compared, ` +
        `${pairs('modelgate_rollout_shadow_label_agreements_total')} with equal labels, ` +
        `${shadow(after, 'dropped') - shadow(before, 'dropped')} dropped\n`,
    );

    expect(shadow(after, 'failed') - shadow(before, 'failed')).toBe(0);
    expect(compared).toBeGreaterThan(0);
    expect(pairs('modelgate_rollout_shadow_label_agreements_total')).toBeLessThanOrEqual(compared);
    // Every compared pair has probabilities to compare: one observation each.
    expect(pairs('modelgate_rollout_shadow_score_difference_count')).toBe(compared);
    // The challenger ran the copies (its side labelled shadow), and never answered a caller.
    expect(
      metricValue(after, 'modelgate_model_version_requests_total', {
        model: MODEL,
        version: challenger.version,
        variant: 'shadow',
        outcome: 'ok',
      }) -
        metricValue(before, 'modelgate_model_version_requests_total', {
          model: MODEL,
          version: challenger.version,
          variant: 'shadow',
          outcome: 'ok',
        }),
    ).toBe(compared);
  });

  it('shows the rollout on the status page', async () => {
    const page = await request(`${server.url}/status`);

    expect(page.text).toContain(`data-rollout="${MODEL}"`);
    expect(page.text).toContain(`<code>@challenger</code> v${challenger.version}`);
  });
});
