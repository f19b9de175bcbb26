import { RunningServer, startServer, stackEnv } from './support/app';
import { waitFor } from './support/http';
import { StackInfo, sharedStack } from './support/shared-stack';
import { AIRFLOW_CREDENTIALS } from './support/stack';

/** In TRAINING_DAGS (the default: TRAINING_DAG_ID alone). */
const LISTED = 'modelgate_retrain';
/** In the same Airflow, but not listed: callers must not reach it. */
const UNLISTED = 'modelgate_smoke';

/** A key that may train but not promote (API_KEYS `name:scopes=secret`, sent as X-API-Key). */
const TRAINER = {
  name: 'trainer',
  secret: 'mg-e2e-trainer-key-0123456789abcdef',
  scopes: ['train'],
};

interface ErrorBody {
  statusCode: number;
  message: string;
}

/**
 * Training is the operator's, on the shared stack's real Airflow 3: only the
 * listed DAG can be run or read, a refused request never reaches Airflow (an
 * unlisted DAG stays paused, no run appears), conf keys are allow-listed, and
 * the keys that change what gets promoted need the `promote` scope.
 */
describe('Training requests the operator did not allow', () => {
  let stack: StackInfo;
  let api: RunningServer;
  let token: string;
  const pausedBefore = new Map<string, boolean>();

  /** Airflow's own REST API, as the operator would look: no Modelgate code in between. */
  async function airflow<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${stack.airflowUrl}/api/v2${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok)
      throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  }
  const isPaused = async (dag: string) =>
    (await airflow<{ is_paused: boolean }>('GET', `/dags/${dag}`)).is_paused;
  const setPaused = (dag: string, paused: boolean) =>
    airflow('PATCH', `/dags/${dag}?update_mask=is_paused`, { is_paused: paused });
  const runCount = async (dag: string) =>
    (await airflow<{ total_entries: number }>('GET', `/dags/${dag}/dagRuns?limit=1`)).total_entries;

  /** POST /v1/training/runs exactly as given: `body` is sent as bytes, or not at all. */
  async function trigger(
    body: string | undefined,
    headers: Record<string, string> = { 'content-type': 'application/json' },
  ): Promise<{ status: number; body: ErrorBody }> {
    const response = await fetch(`${api.url}/v1/training/runs`, {
      method: 'POST',
      headers: { 'x-api-key': TRAINER.secret, ...headers },
      body,
    });
    return { status: response.status, body: (await response.json()) as ErrorBody };
  }

  beforeAll(async () => {
    stack = sharedStack();
    const login = await fetch(`${stack.airflowUrl}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(AIRFLOW_CREDENTIALS),
    });
    token = ((await login.json()) as { access_token: string }).access_token;
    // Both DAGs parsed and paused: then "still paused" after a request means it was left alone.
    for (const dag of [LISTED, UNLISTED]) {
      await waitFor(
        () => isPaused(dag).catch(() => undefined),
        (paused) => paused !== undefined,
        120_000,
      );
      pausedBefore.set(dag, await isPaused(dag));
      await setPaused(dag, true);
    }
    api = await startServer({
      ...stackEnv(stack),
      MODEL_REFRESH_INTERVAL: '0',
      TRAINING_DAG_ID: LISTED,
      TRAINING_UNPAUSE_DAG: 'true',
      API_KEYS: `${TRAINER.name}:${TRAINER.scopes.join('+')}=${TRAINER.secret}`,
    });
  });

  afterAll(async () => {
    await api?.app.close();
    for (const [dag, paused] of pausedBefore) await setPaused(dag, paused).catch(() => undefined);
  });

  it('answers 404 for a DAG TRAINING_DAGS does not list, and leaves it paused with no new run', async () => {
    const runs = await runCount(UNLISTED);

    const reply = await trigger(JSON.stringify({ dagId: UNLISTED, conf: {} }));

    expect(reply.status).toBe(404);
    expect(reply.body.message).toBe(`no such training DAG: ${UNLISTED}`);
    expect(reply.body.message).not.toContain(LISTED);
    expect(await isPaused(UNLISTED)).toBe(true);
    expect(await runCount(UNLISTED)).toBe(runs);
  });

  it('answers 404 for reading a run of a DAG that is not listed', async () => {
    const reply = await fetch(`${api.url}/v1/training/runs/${UNLISTED}/manual__any`, {
      headers: { 'x-api-key': TRAINER.secret },
    });

    expect(reply.status).toBe(404);
    expect(((await reply.json()) as ErrorBody).message).toBe(`no such training DAG: ${UNLISTED}`);
  });

  it('answers 400 naming an unknown conf key, and starts no run', async () => {
    const runs = await runCount(LISTED);

    const reply = await trigger(JSON.stringify({ conf: { C: 0.5, gamma: 2 } }));

    expect(reply.status).toBe(400);
    expect(reply.body.message).toContain(`conf keys not accepted by ${LISTED}: gamma`);
    expect(await runCount(LISTED)).toBe(runs);
    expect(await isPaused(LISTED)).toBe(true);
  });

  it('answers 403 naming the promote scope for force from a key without it, and starts no run', async () => {
    const runs = await runCount(LISTED);

    const reply = await trigger(JSON.stringify({ conf: { force: true } }));

    expect(reply.status).toBe(403);
    expect(reply.body.message).toContain('"promote" scope');
    expect(await runCount(LISTED)).toBe(runs);
    expect(await isPaused(LISTED)).toBe(true);
  });

  it.each([
    ['no body and no content type', undefined, {}],
    ['an empty JSON body', '', { 'content-type': 'application/json' }],
    ['a JSON null', 'null', { 'content-type': 'application/json' }],
    ['a JSON array', '[]', { 'content-type': 'application/json' }],
  ])('answers 400 for %s, and starts no run', async (_, body, headers) => {
    const runs = await runCount(LISTED);

    const reply = await trigger(body, headers);

    expect(reply.status).toBe(400);
    expect(reply.body.message).toMatch(/JSON object/);
    expect(await runCount(LISTED)).toBe(runs);
    expect(await isPaused(LISTED)).toBe(true);
  });
});
