import { Logger } from '@nestjs/common';
import {
  FakeRetryEnvironment,
  FakeTransport,
  SentRequest,
} from '../common/testing/fake-transport';
import {
  UpstreamError,
  UpstreamInvalidRequestError,
  UpstreamNotFoundError,
  UpstreamTransientError,
  UpstreamUnauthorizedError,
} from '../common/upstream/upstream.error';
import { AirflowClient, AirflowClientOptions, parseAirflowError } from './airflow.client';
import { WireDagRun } from './airflow.types';

const BASIC = `Basic ${Buffer.from('admin:pw').toString('base64')}`;

/** An unsigned JWT with the given claims; the client only reads exp and iat. */
function jwt(claims: { exp?: number; iat?: number; sub?: string }): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'HS512', typ: 'JWT' })}.${part(claims)}.sig`;
}

/** A token valid for `seconds`, labelled so tests can tell tokens apart. */
function tokenFor(seconds: number, label: string): string {
  return jwt({ iat: 1_700_000_000, exp: 1_700_000_000 + seconds, sub: label });
}

const dag = { dag_id: 'train', is_paused: false, tags: [] };

const run: WireDagRun = {
  dag_id: 'train',
  dag_run_id: 'r1',
  state: 'queued',
  logical_date: null,
  run_after: '2025-03-01T12:00:00Z',
  conf: { model: 'iris' },
};

function errorOf(promise: Promise<unknown>): Promise<UpstreamError> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error as UpstreamError,
  );
}

describe('AirflowClient', () => {
  let transport: FakeTransport;
  let env: FakeRetryEnvironment;

  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  beforeEach(() => {
    transport = new FakeTransport();
    env = new FakeRetryEnvironment();
  });

  function create(overrides: Partial<AirflowClientOptions> = {}): AirflowClient {
    return new AirflowClient({
      baseUrl: 'http://airflow:8080',
      timeoutMs: 5000,
      retry: { maxRetries: 2, baseDelayMs: 100, maxDelayMs: 1000, maxTotalMs: 60_000 },
      credentials: { username: 'admin', password: 'pw' },
      tokenRenewMarginMs: 60_000,
      now: () => env.time,
      adapter: transport.adapter,
      retryEnvironment: env,
      ...overrides,
    });
  }

  function tokenRequests(): SentRequest[] {
    return transport.to('/auth/token');
  }

  /** Airflow 3: /auth/token hands out tok-1, tok-2, … valid for `seconds`. */
  function issueTokens(seconds = 3600): string[] {
    const issued: string[] = [];
    transport.on('POST', '/auth/token', () => {
      const token = tokenFor(seconds, `tok-${issued.length + 1}`);
      issued.push(token);
      return { status: 201, data: { access_token: token, token_type: 'bearer' } };
    });
    return issued;
  }

  describe('API version', () => {
    it('detects Airflow 3 from /api/v2/version, without credentials', async () => {
      const sut = create();
      transport.reply(200, { version: '3.0.2', git_version: null });

      await expect(sut.apiVersion()).resolves.toBe(2);

      const [sent] = transport.requests;
      expect(sent.fullUrl).toBe('http://airflow:8080/api/v2/version');
      expect(sent.headers.authorization).toBeUndefined();
    });

    it('detects Airflow 2 when /api/v2/version is 404 and /api/v1/health answers', async () => {
      const sut = create();
      transport.reply(404, { detail: 'Not Found' }).reply(200, {
        metadatabase: { status: 'healthy' },
        scheduler: { status: 'healthy' },
      });

      await expect(sut.apiVersion()).resolves.toBe(1);

      expect(transport.requests.map((r) => r.url)).toEqual(['/api/v2/version', '/api/v1/health']);
      expect(transport.requests.every((r) => r.headers.authorization === undefined)).toBe(true);
    });

    it('detects only once', async () => {
      const sut = create();
      transport.reply(200, { version: '3.0.2' });

      await Promise.all([sut.apiVersion(), sut.apiVersion()]);
      await sut.apiVersion();

      expect(transport.requests).toHaveLength(1);
    });

    it('uses a configured API version without detecting it', async () => {
      const sut = create({ apiVersion: 1 });
      transport.reply(200, dag);

      await sut.getDag('train');

      expect(transport.requests.map((r) => r.url)).toEqual(['/api/v1/dags/train']);
    });

    it('does not cache a transient failure during detection', async () => {
      const sut = create({ retry: { maxRetries: 0, baseDelayMs: 1, maxDelayMs: 1, maxTotalMs: 1 } });
      transport.reply(503, { detail: 'starting' }).reply(200, { version: '3.0.2' });

      await expect(sut.apiVersion()).rejects.toBeInstanceOf(UpstreamTransientError);
      await expect(sut.apiVersion()).resolves.toBe(2);
    });

    it('names AIRFLOW_BASE_URL when neither API answers', async () => {
      const sut = create();
      transport.reply(404, {}).reply(404, {});

      const error = await errorOf(sut.apiVersion());

      expect(error).toBeInstanceOf(UpstreamNotFoundError);
      expect(error.message).toContain('AIRFLOW_BASE_URL');
    });
  });

  describe('Airflow 2 credentials', () => {
    it('sends HTTP basic credentials to /api/v1', async () => {
      const sut = create({ apiVersion: 1 });
      transport.reply(200, dag);

      await sut.getDag('train');

      const [sent] = transport.requests;
      expect(sent.fullUrl).toBe('http://airflow:8080/api/v1/dags/train');
      expect(sent.headers.authorization).toBe(BASIC);
    });
  });

  describe('Airflow 3 tokens', () => {
    it('exchanges username and password at /auth/token and sends the bearer token', async () => {
      const sut = create({ apiVersion: 2 });
      const issued = issueTokens();
      transport.on('GET', '/api/v2/dags/train', { status: 200, data: dag });

      await sut.getDag('train');

      const [exchange, call] = transport.requests;
      expect(exchange.method).toBe('POST');
      expect(exchange.fullUrl).toBe('http://airflow:8080/auth/token');
      expect(exchange.body).toEqual({ username: 'admin', password: 'pw' });
      expect(exchange.headers.authorization).toBeUndefined();
      expect(call.headers.authorization).toBe(`Bearer ${issued[0]}`);
      expect(sut.tokensIssued).toBe(1);
    });

    it('reuses the token across calls', async () => {
      const sut = create({ apiVersion: 2 });
      issueTokens();
      transport.on('GET', '/api/v2/dags/train', { status: 200, data: dag });

      await sut.getDag('train');
      env.advance(10 * 60_000);
      await sut.getDag('train');

      expect(tokenRequests()).toHaveLength(1);
    });

    it('renews the token once the clock passes expiry minus the margin', async () => {
      const sut = create({ apiVersion: 2, tokenRenewMarginMs: 60_000 });
      const issued = issueTokens(3600);
      transport.on('GET', '/api/v2/dags/train', { status: 200, data: dag });

      await sut.getDag('train');
      env.advance(3_540_000 - 1);
      await sut.getDag('train');
      expect(tokenRequests()).toHaveLength(1);

      env.advance(1);
      await sut.getDag('train');

      expect(tokenRequests()).toHaveLength(2);
      const calls = transport.to('/api/v2/dags/train');
      expect(calls[2].headers.authorization).toBe(`Bearer ${issued[1]}`);
    });

    it('renews a token shorter-lived than the margin half-way through its life', async () => {
      const sut = create({ apiVersion: 2, tokenRenewMarginMs: 300_000 });
      issueTokens(60);
      transport.on('GET', '/api/v2/dags/train', { status: 200, data: dag });

      await sut.getDag('train');
      env.advance(29_999);
      await sut.getDag('train');
      expect(tokenRequests()).toHaveLength(1);

      env.advance(1);
      await sut.getDag('train');
      expect(tokenRequests()).toHaveLength(2);
    });

    it('lets concurrent callers share one exchange', async () => {
      const sut = create({ apiVersion: 2 });
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      transport.on('POST', '/auth/token', async () => {
        await released;
        return { status: 201, data: { access_token: tokenFor(3600, 'shared') } };
      });
      transport.on('GET', /^\/api\/v2\/dags\//, (r) => ({
        status: 200,
        data: { ...dag, dag_id: r.url.split('/').pop() },
      }));

      const calls = Promise.all([sut.getDag('a'), sut.getDag('b'), sut.getDag('c')]);
      await new Promise((r) => setImmediate(r));
      release();
      const dags = await calls;

      expect(dags.map((d) => d.dagId)).toEqual(['a', 'b', 'c']);
      expect(tokenRequests()).toHaveLength(1);
      expect(sut.tokensIssued).toBe(1);
    });

    it('answers a 401 with exactly one new exchange and one retry', async () => {
      const sut = create({ apiVersion: 2 });
      const issued = issueTokens();
      transport.on('GET', '/api/v2/dags/train', { status: 200, data: dag });
      await sut.getDag('train');
      // The server restarts with another secret: the first token is now refused.
      transport.on('GET', '/api/v2/dags/x', (r) =>
        r.headers.authorization === `Bearer ${issued[0]}`
          ? { status: 401, data: { detail: 'Invalid JWT token' } }
          : { status: 200, data: { ...dag, dag_id: 'x' } },
      );

      const result = await sut.getDag('x');

      expect(result.dagId).toBe('x');
      expect(tokenRequests()).toHaveLength(2);
      expect(transport.to('/api/v2/dags/x').map((r) => r.headers.authorization)).toEqual([
        `Bearer ${issued[0]}`,
        `Bearer ${issued[1]}`,
      ]);
    });

    it('propagates a second 401 as unauthorized after one renewal', async () => {
      const sut = create({ apiVersion: 2 });
      issueTokens();
      transport.on('GET', '/api/v2/dags/train', {
        status: 401,
        data: { detail: 'Invalid JWT token' },
      });

      const error = await errorOf(sut.getDag('train'));

      expect(error).toBeInstanceOf(UpstreamUnauthorizedError);
      expect(error.reason).toBe('unauthorized');
      expect(error.message).toContain('Invalid JWT token');
      expect(tokenRequests()).toHaveLength(2);
      expect(transport.to('/api/v2/dags/train')).toHaveLength(2);
    });

    it('gets a new token after a 401 even when the clock moved while the token was fetched', async () => {
      // A real clock ticks between the call starting and the token being issued.
      let clock = 1_000;
      const sut = create({ apiVersion: 2, now: () => clock++ });
      const issued = issueTokens();
      transport.on('GET', '/api/v2/dags/train', (r) =>
        r.headers.authorization === `Bearer ${issued[0]}`
          ? { status: 401, data: { detail: 'Invalid JWT token' } }
          : { status: 200, data: dag },
      );

      await expect(sut.getDag('train')).resolves.toMatchObject({ dagId: 'train' });
      expect(tokenRequests()).toHaveLength(2);
    });

    it('reports a wrong password (401 at /auth/token) as unauthorized', async () => {
      const sut = create({ apiVersion: 2 });
      transport.on('POST', '/auth/token', { status: 401, data: { detail: 'Invalid credentials' } });

      const error = await errorOf(sut.getDag('train'));

      expect(error).toBeInstanceOf(UpstreamUnauthorizedError);
      expect(error.message).toContain('/auth/token');
      expect(error.message).toContain('Invalid credentials');
      expect(error.message).not.toContain('pw');
      expect(transport.to('/api/v2/dags/train')).toHaveLength(0);
    });

    it('does not ask for a token for the health endpoint', async () => {
      const sut = create({ apiVersion: 2 });
      transport.reply(200, {
        metadatabase: { status: 'healthy' },
        scheduler: { status: 'healthy' },
      });

      await sut.health();

      expect(transport.requests.map((r) => r.url)).toEqual(['/api/v2/monitor/health']);
      expect(transport.requests[0].headers.authorization).toBeUndefined();
    });
  });

  describe('triggerRun', () => {
    it('posts conf, a generated dag_run_id and logical_date null to Airflow 3', async () => {
      const sut = create({ apiVersion: 2 });
      issueTokens();
      transport.on('POST', '/api/v2/dags/train/dagRuns', (r) => ({
        status: 200,
        data: { ...run, dag_run_id: (r.body as { dag_run_id: string }).dag_run_id },
      }));

      const result = await sut.triggerRun('train', { conf: { model: 'iris' } });

      const [sent] = transport.to('/api/v2/dags/train/dagRuns');
      const sentBody = sent.body as Record<string, unknown>;
      expect(sentBody).toEqual({
        dag_run_id: expect.stringMatching(/^modelgate__\d{4}-\d\d-\d\dT[\d:.]+Z__[0-9a-f]{8}$/),
        conf: { model: 'iris' },
        logical_date: null,
      });
      expect('logical_date' in sentBody).toBe(true);
      expect(result.runId).toBe(sentBody.dag_run_id);
      expect(result.conf).toEqual({ model: 'iris' });
    });

    it('sends an empty conf, a given logical date and a note', async () => {
      const sut = create({ apiVersion: 2 });
      issueTokens();
      transport.on('POST', '/api/v2/dags/train/dagRuns', { status: 200, data: run });

      await sut.triggerRun('train', {
        logicalDate: new Date('2025-03-01T00:00:00Z'),
        note: 'retrain',
        runId: 'mine',
      });

      expect(transport.to('/api/v2/dags/train/dagRuns')[0].body).toEqual({
        dag_run_id: 'mine',
        conf: {},
        logical_date: '2025-03-01T00:00:00.000Z',
        note: 'retrain',
      });
    });

    it('sends no logical_date to Airflow 2', async () => {
      const sut = create({ apiVersion: 1 });
      transport.reply(200, run);

      await sut.triggerRun('train', { conf: { a: 1 } });

      const [sent] = transport.requests;
      expect(sent.url).toBe('/api/v1/dags/train/dagRuns');
      expect(sent.headers.authorization).toBe(BASIC);
      expect(sent.body).not.toHaveProperty('logical_date');
      expect(sent.body).toMatchObject({ conf: { a: 1 }, dag_run_id: expect.any(String) });
    });

    it('reads the run back after a 409 for its own generated id (Airflow 2 problem body)', async () => {
      const sut = create({ apiVersion: 1 });
      transport
        .reply(409, {
          detail: 'DAGRun with DAG ID: train and DAGRun ID: x already exists',
          status: 409,
          title: 'Conflict',
          type: 'https://airflow.apache.org/docs/apache-airflow/2.10.5/stable-rest-api-ref.html#section/Errors/AlreadyExists',
        })
        .replyWith((r) => ({ status: 200, data: { ...run, dag_run_id: decodeURIComponent(r.url.split('/').pop()!) } }));

      const result = await sut.triggerRun('train');

      const [post, get] = transport.requests;
      const id = (post.body as { dag_run_id: string }).dag_run_id;
      expect(get.method).toBe('GET');
      expect(get.url).toBe(`/api/v1/dags/train/dagRuns/${encodeURIComponent(id)}`);
      expect(result.runId).toBe(id);
    });

    it('reads the run back after an Airflow 3 409 unique-constraint answer for its own id', async () => {
      const sut = create({ apiVersion: 2 });
      issueTokens();
      transport.on('POST', '/api/v2/dags/train/dagRuns', {
        status: 409,
        data: {
          detail: {
            reason: 'Unique constraint violation',
            statement: 'INSERT INTO dag_run (dag_id, run_id) VALUES (?, ?)',
            orig_error: 'UNIQUE constraint failed: dag_run.dag_id, dag_run.run_id',
            message: 'Serious error when handling your request. Check logs for more details',
          },
        },
      });
      transport.on('GET', /^\/api\/v2\/dags\/train\/dagRuns\//, (r) => ({
        status: 200,
        data: { ...run, dag_run_id: decodeURIComponent(r.url.split('/').pop()!) },
      }));

      const result = await sut.triggerRun('train');

      const id = (transport.to('/api/v2/dags/train/dagRuns')[0].body as { dag_run_id: string })
        .dag_run_id;
      expect(result.runId).toBe(id);
    });

    it('throws a conflict for a 409 on a caller-supplied run id', async () => {
      const sut = create({ apiVersion: 1 });
      transport.reply(409, { detail: 'already exists', title: 'Conflict', status: 409 });

      const error = await errorOf(sut.triggerRun('train', { runId: 'nightly' }));

      expect(error).toBeInstanceOf(UpstreamInvalidRequestError);
      expect(error.reason).toBe('conflict');
      expect(transport.requests).toHaveLength(1);
    });

    it('retries a trigger with its own id after a 503, keeping the same id', async () => {
      const sut = create({ apiVersion: 1 });
      transport.reply(503, {}).reply(200, run);

      await sut.triggerRun('train');

      const ids = transport.requests.map((r) => (r.body as { dag_run_id: string }).dag_run_id);
      expect(ids).toHaveLength(2);
      expect(ids[1]).toBe(ids[0]);
    });

    it('does not retry a trigger with a caller-supplied id after a 503', async () => {
      const sut = create({ apiVersion: 1 });
      transport.reply(503, {}).reply(200, run);

      await expect(sut.triggerRun('train', { runId: 'nightly' })).rejects.toBeInstanceOf(
        UpstreamTransientError,
      );
      expect(transport.requests).toHaveLength(1);
    });
  });

  describe('DAGs and runs', () => {
    it('pauses a DAG with PATCH and update_mask=is_paused', async () => {
      const sut = create({ apiVersion: 1 });
      transport.reply(200, { ...dag, is_paused: true });

      const result = await sut.setPaused('train', true);

      const [sent] = transport.requests;
      expect(sent.method).toBe('PATCH');
      expect(sent.fullUrl).toBe('http://airflow:8080/api/v1/dags/train?update_mask=is_paused');
      expect(sent.body).toEqual({ is_paused: true });
      expect(result.isPaused).toBe(true);
    });

    it('encodes DAG and run ids in the path', async () => {
      const sut = create({ apiVersion: 1 });
      transport.reply(200, run);

      await sut.getRun('my dag', 'manual__2025-03-01T00:00:00+00:00');

      expect(transport.requests[0].url).toBe(
        '/api/v1/dags/my%20dag/dagRuns/manual__2025-03-01T00%3A00%3A00%2B00%3A00',
      );
    });

    it('lists DAGs with limit, offset and pattern', async () => {
      const sut = create({ apiVersion: 1 });
      transport.reply(200, { dags: [dag], total_entries: 12 });

      const result = await sut.listDags({ limit: 1, offset: 3, dagIdPattern: 'tr' });

      expect(transport.requests[0].params).toEqual({ limit: 1, offset: 3, dag_id_pattern: 'tr' });
      expect(result.total).toBe(12);
      expect(result.dags.map((d) => d.dagId)).toEqual(['train']);
    });

    it('pages through task instances with limit and offset', async () => {
      const sut = create({ apiVersion: 1 });
      const page = (from: number, count: number) =>
        Array.from({ length: count }, (_, i) => ({ task_id: `t${from + i}`, state: 'success' }));
      transport
        .reply(200, { task_instances: page(0, 100), total_entries: 230 })
        .reply(200, { task_instances: page(100, 100), total_entries: 230 })
        .reply(200, { task_instances: page(200, 30), total_entries: 230 });

      const tasks = await sut.listTaskInstances('train', 'r1');

      expect(tasks).toHaveLength(230);
      expect(tasks[229].taskId).toBe('t229');
      expect(transport.requests.map((r) => r.params)).toEqual([
        { limit: 100, offset: 0 },
        { limit: 100, offset: 100 },
        { limit: 100, offset: 200 },
      ]);
      expect(transport.requests[0].url).toBe('/api/v1/dags/train/dagRuns/r1/taskInstances');
    });

    it('stops paging once total_entries is reached', async () => {
      const sut = create({ apiVersion: 1 });
      transport.reply(200, {
        task_instances: Array.from({ length: 100 }, (_, i) => ({ task_id: `t${i}` })),
        total_entries: 100,
      });

      await expect(sut.listTaskInstances('train', 'r1')).resolves.toHaveLength(100);
      expect(transport.requests).toHaveLength(1);
    });
  });

  describe('health', () => {
    it('reads /api/v1/health on Airflow 2 and maps it', async () => {
      const sut = create({ apiVersion: 1 });
      transport.reply(200, {
        metadatabase: { status: 'healthy' },
        scheduler: { status: 'healthy', latest_scheduler_heartbeat: '2025-03-01T12:00:00+00:00' },
        triggerer: { status: null, latest_triggerer_heartbeat: null },
        dag_processor: { status: null, latest_dag_processor_heartbeat: null },
      });

      const health = await sut.health();

      expect(transport.requests[0].url).toBe('/api/v1/health');
      expect(transport.requests[0].headers.authorization).toBeUndefined();
      expect(health.healthy).toBe(true);
      expect(health.components.triggerer.status).toBe('not_running');
      expect(health.components.scheduler.latestHeartbeat).toEqual(
        new Date('2025-03-01T12:00:00Z'),
      );
    });
  });

  describe('error bodies', () => {
    it('turns an Airflow 3 422 detail list into a readable message', async () => {
      const sut = create({ apiVersion: 1 });
      transport.reply(422, {
        detail: [
          { type: 'dict_type', loc: ['body', 'conf'], msg: 'Input should be a valid dictionary' },
          { loc: ['body', 'logical_date'], msg: 'Field required' },
        ],
      });

      const error = await errorOf(sut.triggerRun('train', { runId: 'x' }));

      expect(error).toBeInstanceOf(UpstreamInvalidRequestError);
      expect(error.message).toContain(
        'body.conf: Input should be a valid dictionary; body.logical_date: Field required',
      );
    });

    it('turns an Airflow 2 problem body into a readable not-found message', async () => {
      const sut = create({ apiVersion: 1 });
      transport.reply(404, {
        detail: 'DAG with dag_id: nope not found',
        status: 404,
        title: 'DAG not found',
        type: 'https://airflow.apache.org/docs/apache-airflow/stable/stable-rest-api-ref.html#section/Errors/NotFound',
      });

      const error = await errorOf(sut.getDag('nope'));

      expect(error).toBeInstanceOf(UpstreamNotFoundError);
      expect(error.message).toBe(
        'airflow: GET /api/v1/dags/nope → 404 DAG not found: DAG with dag_id: nope not found',
      );
    });
  });
});

describe('parseAirflowError', () => {
  it('reads an Airflow 2 problem body', () => {
    expect(parseAirflowError({ detail: 'gone', title: 'Not Found', status: 404 })).toEqual({
      message: 'gone',
      code: 'Not Found',
    });
  });

  it('joins an Airflow 3 validation detail list', () => {
    expect(
      parseAirflowError({ detail: [{ loc: ['query', 'limit'], msg: 'must be positive' }] }),
    ).toEqual({ message: 'query.limit: must be positive', code: undefined });
  });

  it('reads an Airflow 3 string detail', () => {
    expect(parseAirflowError({ detail: 'Not authenticated' }).message).toBe('Not authenticated');
  });

  it('falls back to the title', () => {
    expect(parseAirflowError({ title: 'Forbidden' }).message).toBe('Forbidden');
  });

  it('makes a readable string of an Airflow 3 object detail (409 unique constraint)', () => {
    const parsed = parseAirflowError({
      detail: {
        reason: 'Unique constraint violation',
        statement: 'INSERT INTO dag_run …',
        orig_error: 'UNIQUE constraint failed: dag_run.dag_id, dag_run.run_id',
      },
    });

    expect(typeof parsed.message).toBe('string');
    expect(parsed.message).toContain('Unique constraint violation');
  });

  it('copes with an empty body', () => {
    expect(parseAirflowError(undefined)).toEqual({ message: undefined, code: undefined });
  });
});
