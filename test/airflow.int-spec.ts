import { INestApplicationContext } from '@nestjs/common';
import { AirflowClient } from '../src/airflow/airflow.client';
import { DagRun } from '../src/airflow/airflow.types';
import { UpstreamUnauthorizedError } from '../src/common/upstream/upstream.error';
import { bootApp, stackEnv } from './support/app';
import { StackInfo, TOKEN_LIFETIME_SECONDS, sharedStack } from './support/shared-stack';
import { sleep, waitFor } from './support/http';
import { AIRFLOW_CREDENTIALS } from './support/stack';

const SMOKE_DAG = 'modelgate_smoke';

describe('AirflowClient against a real Airflow 3', () => {
  let stack: StackInfo;
  let app: INestApplicationContext;
  let sut: AirflowClient;

  beforeAll(async () => {
    stack = sharedStack();
    app = await bootApp(stackEnv(stack));
    sut = app.get(AirflowClient);
  });

  afterAll(async () => {
    await app?.close();
  });

  it('detects the Airflow 3 REST API', async () => {
    await expect(sut.apiVersion()).resolves.toBe(2);
  });

  it('reports each component’s health', async () => {
    const health = await sut.health();

    expect(health.healthy).toBe(true);
    expect(health.components.metadatabase.status).toBe('healthy');
    expect(health.components.scheduler.status).toBe('healthy');
    expect(health.components.scheduler.latestHeartbeat).toBeInstanceOf(Date);
  });

  it('lists DAGs and reads one', async () => {
    const { dags } = await waitFor(
      () => sut.listDags({ dagIdPattern: SMOKE_DAG }),
      (r) => r.dags.length > 0,
    );
    const dag = await sut.getDag(SMOKE_DAG);

    expect(dags.map((d) => d.dagId)).toContain(SMOKE_DAG);
    expect(dag).toMatchObject({ dagId: SMOKE_DAG, isActive: true });
  });

  it('unpauses a DAG, triggers a run with conf and sees it succeed', async () => {
    await sut.setPaused(SMOKE_DAG, true);
    await expect(sut.getDag(SMOKE_DAG)).resolves.toMatchObject({ isPaused: true });
    await sut.setPaused(SMOKE_DAG, false);

    const triggered = await sut.triggerRun(SMOKE_DAG, { conf: { greeting: 'hello' } });
    const finished = await waitFor(
      () => sut.getRun(SMOKE_DAG, triggered.runId),
      (run: DagRun) => run.state === 'success' || run.state === 'failed',
      240_000,
    );
    const tasks = await sut.listTaskInstances(SMOKE_DAG, triggered.runId);

    expect(triggered.conf).toEqual({ greeting: 'hello' });
    expect(finished.state).toBe('success');
    expect(tasks.length).toBeGreaterThan(0);
    expect(tasks.every((t) => t.state === 'success')).toBe(true);
  });

  it('gives the unauthorized error for a wrong password', async () => {
    const wrong = await bootApp({ ...stackEnv(stack), AIRFLOW_PASSWORD: 'not-the-password' });
    try {
      const error = (await wrong
        .get(AirflowClient)
        .listDags()
        .catch((e: unknown) => e)) as Error;

      expect(error).toBeInstanceOf(UpstreamUnauthorizedError);
      expect(error.message).not.toContain('not-the-password');
    } finally {
      await wrong.close();
    }
  });

  it('renews the token before it expires', async () => {
    const client = freshClient();
    await client.listDags();
    expect(client.tokensIssued).toBe(1);

    // Tokens live TOKEN_LIFETIME_SECONDS; the client renews half-way at the latest.
    await sleep((TOKEN_LIFETIME_SECONDS / 2 + 1) * 1000);
    await client.listDags();

    expect(client.tokensIssued).toBe(2);
  });

  it('gets a new token once when Airflow answers 401 to one it still thinks valid', async () => {
    // A stopped clock: the client believes its token fresh while Airflow sees it expire.
    const frozen = Date.now();
    const client = freshClient({ now: () => frozen });
    await client.listDags();

    await sleep((TOKEN_LIFETIME_SECONDS + 2) * 1000);
    const { dags } = await client.listDags();

    expect(dags.length).toBeGreaterThan(0);
    expect(client.tokensIssued).toBe(2);
  });

  function freshClient(overrides: { now?: () => number } = {}): AirflowClient {
    return new AirflowClient({
      baseUrl: stack.airflowUrl,
      timeoutMs: 10_000,
      retry: { maxRetries: 2, baseDelayMs: 100, maxDelayMs: 500, maxTotalMs: 5000 },
      credentials: AIRFLOW_CREDENTIALS,
      tokenRenewMarginMs: 60_000,
      ...overrides,
    });
  }
});
