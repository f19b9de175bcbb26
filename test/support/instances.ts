import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { request, sleep } from './http';
import { freePort } from './ports';

const ROOT = path.resolve(__dirname, '../..');
const MAIN = path.join(ROOT, 'dist/main.js');

/** The secret every test instance shares (API_CLUSTER_SECRET), unless a test gives its own. */
export const TEST_CLUSTER_SECRET = 'modelgate-test-cluster-secret-0123456789';

/** One API server running as its own process (`node dist/main.js`), as in production. */
export interface Instance {
  id: string;
  port: number;
  /** Its gRPC listener's (API_GRPC_PORT), a free port of its own. */
  grpcPort: number;
  url: string;
  /** Everything it wrote to stdout and stderr, for a failing test's message. */
  output(): string;
  /** SIGKILL: the instance dies at once, as in a crash or an OOM kill. */
  kill(): Promise<void>;
  /** SIGTERM and wait for a graceful exit (SIGKILL after `timeoutMs`). */
  stop(timeoutMs?: number): Promise<void>;
  readonly exited: boolean;
  /** How it exited: its code, or the signal that ended it; undefined while it runs. */
  readonly exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** Its pid (with API_WORKERS > 1: the primary's). */
  readonly pid: number | undefined;
}

/**
 * Starts `node dist/main.js` (build first: `npm run build`, which `npm test`
 * runs) on a free loopback port with `env` over a clean environment, and waits
 * until /health/live answers. `listen` puts its HTTP listener elsewhere: on
 * all interfaces at a chosen port, for a container (Airflow) to call it back
 * through host.containers.internal.
 */
export async function startInstance(
  id: string,
  env: Record<string, string>,
  listen?: { host: string; port: number },
): Promise<Instance> {
  if (!existsSync(MAIN)) {
    throw new Error(`${MAIN} is missing: run "npm run build" before the cluster tests`);
  }
  const port = listen?.port ?? (await freePort());
  const grpcPort = await freePort();
  const lines: string[] = [];
  const child: ChildProcess = spawn(process.execPath, [MAIN], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      LOG_LEVEL: 'warn',
      // Required in distributed mode: instances believe only messages signed with it.
      API_CLUSTER_SECRET: TEST_CLUSTER_SECRET,
      ...env,
      API_HOST: listen?.host ?? '127.0.0.1',
      API_PORT: String(port),
      API_GRPC_HOST: '127.0.0.1',
      API_GRPC_PORT: String(grpcPort),
      API_INSTANCE_ID: id,
      API_ADVERTISE_URL: `http://127.0.0.1:${port}`,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (chunk: Buffer) => lines.push(chunk.toString());
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited = false;
  let exitStatus: Instance['exit'];
  const exit = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = true;
      exitStatus = { code, signal };
      resolve();
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  const instance: Instance = {
    id,
    port,
    grpcPort,
    url,
    output: () => lines.join(''),
    get exited() {
      return exited;
    },
    get exit() {
      return exitStatus;
    },
    pid: child.pid,
    kill: async () => {
      if (!exited) child.kill('SIGKILL');
      await exit;
    },
    stop: async (timeoutMs = 20_000) => {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exit;
      clearTimeout(timer);
    },
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(`instance ${id} exited at start:\n${instance.output()}`);
    const live = await request(`${url}/health/live`).catch(() => undefined);
    if (live?.status === 200) return instance;
    if (Date.now() > deadline) {
      await instance.kill();
      throw new Error(`instance ${id} did not come up in 60 s:\n${instance.output()}`);
    }
    await sleep(100);
  }
}
