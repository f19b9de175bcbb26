import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import * as http from 'node:http';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { stackEnv } from './support/app';
import { TEST_AUTH_HEADER } from './support/credentials';
import { sleep, waitFor } from './support/http';
import { registerDemoModel } from './support/python';
import { sharedStack } from './support/shared-stack';

const ROOT = path.resolve(__dirname, '..');
const MAIN = path.join(ROOT, 'dist/main.js');
const BODY = JSON.stringify({
  dataframe_split: {
    columns: ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'],
    data: [[5.1, 3.5, 1.4, 0.2]],
  },
});
/** Sent with every request under load: it must appear in no log line. */
const SECRET = 'Bearer load-test-secret-token-123';

interface Outcome {
  id: string;
  sentAt: number;
  status?: number;
  /** The connection-level failure, when no answer came. */
  error?: string;
  reusedSocket?: boolean;
}

interface LogLine {
  level: string;
  msg: string;
  context?: string;
  requestId?: string;
  route?: string;
  status?: number;
  abandoned?: number;
  [field: string]: unknown;
}

/** Failures that happen before the server reads a request: the socket was refused, reset or closed. */
const NOT_DELIVERED = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'socket hang up']);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** One POST on a keep-alive agent; never rejects. */
function invoke(port: number, agent: http.Agent, id: string): Promise<Outcome> {
  const outcome: Outcome = { id, sentAt: Date.now() };
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: '/invocations',
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'x-request-id': id,
          authorization: SECRET,
          ...TEST_AUTH_HEADER,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ ...outcome, status: res.statusCode }));
        res.on('error', (e: NodeJS.ErrnoException) =>
          resolve({ ...outcome, error: e.code ?? e.message }),
        );
      },
    );
    req.on('error', (e: NodeJS.ErrnoException) =>
      resolve({ ...outcome, error: e.code ?? e.message, reusedSocket: req.reusedSocket }),
    );
    req.end(BODY);
  });
}

/** GET /health/ready on a fresh connection: its status, or the connection error. */
function ready(port: number): Promise<number | string> {
  return new Promise((resolve) => {
    const req = http.get(
      { host: '127.0.0.1', port, path: '/health/ready', agent: false },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

describe('SIGTERM under load (the built server, node dist/main.js)', () => {
  const MODEL = `shutdown-iris-${Date.now()}`;
  let cacheDir: string;
  let child: ChildProcess | undefined;
  const logs: LogLine[] = [];
  const rawLines: string[] = [];
  let exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  let port: number;

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run "npm run build" first`);
    const stack = sharedStack();
    await registerDemoModel(stack.mlflowUrl, { name: MODEL, alias: 'champion' });
    cacheDir = await mkdtemp(path.join(tmpdir(), 'mg-shutdown-'));
    port = await freePort();
    child = spawn(process.execPath, [MAIN], {
      // A directory without .env files: the environment below is all it reads.
      cwd: cacheDir,
      env: {
        PATH: process.env.PATH,
        ...stackEnv(stack),
        API_HOST: '127.0.0.1',
        API_PORT: String(port),
        // Not Triton's 8001: other tests' servers may be listening there.
        API_GRPC_PORT: '0',
        MODELS: `models:/${MODEL}@champion`,
        MODEL_CACHE_DIR: path.join(cacheDir, 'models'),
        MODEL_REFRESH_INTERVAL: '0',
        LOG_FORMAT: 'json',
        LOG_LEVEL: 'log',
        SHUTDOWN_DRAIN_DELAY: '1',
        SHUTDOWN_GRACE_PERIOD: '20',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let pending = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines.filter(Boolean)) {
        rawLines.push(line);
        logs.push(JSON.parse(line) as LogLine);
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => rawLines.push(chunk.toString()));
    exit = new Promise((resolve) =>
      child!.once('exit', (code, signal) => resolve({ code, signal })),
    );
    await waitFor(
      () => ready(port),
      (status) => status === 200,
    );
  });

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
  });

  it('finishes every request it accepted, refuses the rest at connect, then exits 0', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    const outcomes: Outcome[] = [];
    let exited = false;
    void exit.then(() => (exited = true));
    let n = 0;
    const client = async () => {
      // Bounded: until the process is gone (plus a few refused attempts), 20,000 requests at most.
      let afterExit = 0;
      while (outcomes.length < 20_000 && afterExit < 3) {
        if (exited) afterExit++;
        outcomes.push(await invoke(port, agent, `load-${++n}`));
      }
    };
    const load = Promise.all(Array.from({ length: 6 }, client));

    await waitFor(
      () => Promise.resolve(outcomes.filter((o) => o.status === 200).length),
      (served) => served >= 200,
    );
    const sigtermAt = Date.now();
    child!.kill('SIGTERM');
    const readiness: (number | string)[] = [];
    while (!exited) {
      readiness.push(await ready(port));
      await sleep(50);
    }
    await load;
    agent.destroy();
    const { code, signal } = await exit;

    // The process ended on its own, cleanly.
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    // Readiness turned 503 while the server still answered, then connections were refused.
    // (A probe that raced the signal's delivery may still say 200; none after the first 503.)
    expect(readiness).toContain(503);
    for (const status of readiness.slice(readiness.indexOf(503))) {
      expect([503, ...NOT_DELIVERED]).toContain(status);
    }

    // Every answer the load got was a success: nothing failed with a status.
    const answered = outcomes.filter((o) => o.status !== undefined);
    const notDelivered = outcomes.filter((o) => o.status === undefined);
    expect(new Set(answered.map((o) => o.status))).toEqual(new Set([200]));
    // Requests sent after SIGTERM were still served during SHUTDOWN_DRAIN_DELAY.
    expect(answered.filter((o) => o.sentAt > sigtermAt).length).toBeGreaterThan(0);
    // The requests with no answer failed at the connection, after SIGTERM…
    expect(notDelivered.length).toBeGreaterThan(0);
    for (const o of notDelivered) {
      expect(NOT_DELIVERED).toContain(o.error);
      expect(o.sentAt).toBeGreaterThanOrEqual(sigtermAt);
    }
    // …and the server never read them: its request log has exactly the answered ones.
    const served = new Set(
      logs.filter((l) => l.msg === 'request' && l.route === '/invocations').map((l) => l.requestId),
    );
    expect(served).toEqual(new Set(answered.map((o) => o.id)));
    for (const o of notDelivered) expect(served.has(o.id)).toBe(false);
    // Nothing was cut at the end of the grace period.
    expect(logs).toContainEqual(expect.objectContaining({ msg: 'requests drained', abandoned: 0 }));
    expect(logs).toContainEqual(
      expect.objectContaining({ msg: 'shutdown complete', abandoned: 0 }),
    );
  });

  it('wrote one JSON object per line, with request ids and no credentials', () => {
    expect(rawLines.length).toBeGreaterThan(0);
    for (const line of logs) {
      expect(line).toEqual(
        expect.objectContaining({ time: expect.any(String), level: expect.any(String) }),
      );
    }
    const all = rawLines.join('\n');
    expect(all).not.toContain('load-test-secret-token-123');
    expect(all).not.toMatch(/authorization/i);
    expect(all).not.toContain('airflow:airflow');
    expect(logs.some((l) => l.msg === 'draining: SIGTERM received')).toBe(true);
  });
});
