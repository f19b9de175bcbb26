/**
 * What a burst of load-balancer probes costs MLflow. A benchmark, not a test:
 *
 *   npm run build && npx ts-node bench/probe-burst.ts
 *
 * Starts a throwaway MLflow tracking server (the project's .venv, SQLite in a
 * temp dir, a free loopback port) unless BENCH_MLFLOW_URI names one, puts a
 * counting proxy in front of it, starts the built server (`node dist/main.js`)
 * against the proxy with the default check settings, waits for the first
 * background check, then sends BENCH_PROBES probes (default 1,000) to
 * /health/topology and as many to /health/ready, BENCH_CONCURRENCY (50) at a
 * time, and counts the requests that reached MLflow during each burst: at the
 * proxy, and in the server's own modelgate_upstream_requests_total.
 * Writes bench/results/probe-burst.{json,md}. Only 127.0.0.1 is ever loaded.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CountingProxy } from '../test/support/counting-proxy';
import { TEST_API_KEY, TEST_API_KEYS } from '../test/support/credentials';
import { metricValue } from '../test/support/metrics-text';

const ROOT = path.resolve(__dirname, '..');
const PROBES = Number(process.env.BENCH_PROBES ?? 1000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 50);
const RESULTS = process.env.BENCH_RESULTS_DIR ?? path.join(ROOT, 'bench/results');
/** Calls one MLflow check makes (GET /health, one registry search); /version once per healthy stretch. */
const CALLS_PER_CHECK = 2;

interface Burst {
  endpoint: string;
  probes: number;
  statuses: Record<string, number>;
  seconds: number;
  probesPerSecond: number;
  mlflowCallsAtProxy: number;
  mlflowCallsByMetric: number;
  mlflowCallsPer1000Probes: number;
  /** What a check run per probe (GET /health + one registry call) would have sent. */
  mlflowCallsIfCheckedPerProbe: number;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

async function waitUntil(what: string, ok: () => Promise<boolean>, seconds = 120): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (await ok().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${what}: not within ${seconds} s`);
}

async function startMlflow(dir: string): Promise<{ url: string; child?: ChildProcess }> {
  if (process.env.BENCH_MLFLOW_URI) return { url: process.env.BENCH_MLFLOW_URI };
  const mlflow = path.join(ROOT, '.venv/bin/mlflow');
  if (!existsSync(mlflow)) throw new Error(`${mlflow} is missing: run scripts/python-env.sh`);
  const port = await freePort();
  const child = spawn(
    mlflow,
    [
      'server',
      ...['--host', '127.0.0.1', '--port', String(port), '--workers', '1'],
      ...['--backend-store-uri', `sqlite:///${dir}/mlflow.db`],
      ...['--artifacts-destination', `${dir}/artifacts`],
    ],
    { stdio: 'ignore', env: { ...process.env, MLFLOW_SERVER_ENABLE_JOB_EXECUTION: 'false' } },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitUntil('MLflow', async () => (await fetch(`${url}/health`)).ok);
  return { url, child };
}

async function metrics(api: string): Promise<string> {
  return (await fetch(`${api}/metrics`)).text();
}

async function burst(api: string, endpoint: string, proxy: CountingProxy): Promise<Burst> {
  const before = proxy.count;
  const metricBefore = metricValue(await metrics(api), 'modelgate_upstream_requests_total', {
    service: 'mlflow',
  });
  const statuses: Record<string, number> = {};
  let sent = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (sent < PROBES) {
        sent++;
        // /health/topology needs the read scope; probes ignore the header.
        const response = await fetch(`${api}${endpoint}`, {
          headers: { 'x-api-key': TEST_API_KEY },
        });
        await response.arrayBuffer();
        statuses[response.status] = (statuses[response.status] ?? 0) + 1;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const atProxy = proxy.count - before;
  const byMetric =
    metricValue(await metrics(api), 'modelgate_upstream_requests_total', { service: 'mlflow' }) -
    metricBefore;
  return {
    endpoint,
    probes: PROBES,
    statuses,
    seconds: Math.round(seconds * 1000) / 1000,
    probesPerSecond: Math.round(PROBES / seconds),
    mlflowCallsAtProxy: atProxy,
    mlflowCallsByMetric: byMetric,
    mlflowCallsPer1000Probes: Math.round((atProxy / PROBES) * 1000 * 10) / 10,
    mlflowCallsIfCheckedPerProbe: PROBES * CALLS_PER_CHECK,
  };
}

async function main(): Promise<void> {
  const main = path.join(ROOT, 'dist/main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run "npm run build" first`);
  const dir = mkdtempSync(path.join(tmpdir(), 'mg-probe-burst-'));
  const children: ChildProcess[] = [];
  let counted: CountingProxy | undefined;
  try {
    const mlflow = await startMlflow(dir);
    if (mlflow.child) children.push(mlflow.child);
    counted = new CountingProxy(mlflow.url);
    const proxyUrl = await counted.start();
    const port = await freePort();
    const api = `http://127.0.0.1:${port}`;
    const log = openSync(path.join(dir, 'server.log'), 'w');
    const server = spawn(process.execPath, [main], {
      cwd: dir,
      stdio: ['ignore', log, log],
      env: {
        PATH: process.env.PATH,
        API_HOST: '127.0.0.1',
        API_PORT: String(port),
        MLFLOW_TRACKING_URI: proxyUrl,
        // Airflow is not what this measures: a closed port, reported down.
        AIRFLOW_BASE_URL: `http://127.0.0.1:${await freePort()}`,
        AIRFLOW_USERNAME: 'airflow',
        AIRFLOW_PASSWORD: 'airflow',
        LOG_LEVEL: 'warn',
        API_KEYS: TEST_API_KEYS,
        // HEALTH_CHECK_INTERVAL / HEALTH_CHECK_TIMEOUT: the defaults (15 s / 5 s) unless set.
        ...(process.env.HEALTH_CHECK_INTERVAL
          ? { HEALTH_CHECK_INTERVAL: process.env.HEALTH_CHECK_INTERVAL }
          : {}),
      },
    });
    children.push(server);
    await waitUntil('the first MLflow check', async () => {
      const text = await metrics(api);
      return metricValue(text, 'modelgate_dependency_up', { dependency: 'mlflow' }) === 1;
    });
    const results = [
      await burst(api, '/health/topology', counted),
      await burst(api, '/health/ready', counted),
    ];
    const total = {
      probes: results.reduce((n, r) => n + r.probes, 0),
      mlflowCalls: results.reduce((n, r) => n + r.mlflowCallsAtProxy, 0),
    };
    const report = {
      at: new Date().toISOString(),
      settings: {
        probesPerEndpoint: PROBES,
        concurrency: CONCURRENCY,
        healthCheckIntervalSeconds: Number(process.env.HEALTH_CHECK_INTERVAL ?? 15),
        machine: `${process.platform} ${process.arch}, node ${process.version}`,
      },
      bursts: results,
      total,
      note:
        'Calls to MLflow counted at a proxy in front of it during each burst. Probes answer ' +
        'from the last background check, so the only MLflow calls in a burst are the job’s ' +
        `own (${CALLS_PER_CHECK} per interval), whatever the probe rate. /health/topology ` +
        'answers 503 here because Airflow is pointed at a closed port (not what is measured).',
    };
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(path.join(RESULTS, 'probe-burst.json'), `${JSON.stringify(report, null, 2)}\n`);
    const lines = [
      '# Probe burst: calls to MLflow per 1,000 probes',
      '',
      `${report.at}; ${report.settings.machine}; HEALTH_CHECK_INTERVAL=${report.settings.healthCheckIntervalSeconds} s; ${CONCURRENCY} probes in flight.`,
      '',
      '| endpoint | probes | statuses | seconds | probes/s | MLflow calls (proxy) | (metric) | per 1,000 probes | if checked per probe |',
      '|---|---|---|---|---|---|---|---|---|',
      ...results.map(
        (r) =>
          `| \`${r.endpoint}\` | ${r.probes} | ${Object.entries(r.statuses)
            .map(([s, n]) => `${s}×${n}`)
            .join(
              ' ',
            )} | ${r.seconds} | ${r.probesPerSecond} | ${r.mlflowCallsAtProxy} | ${r.mlflowCallsByMetric} | ${r.mlflowCallsPer1000Probes} | ${r.mlflowCallsIfCheckedPerProbe} |`,
      ),
      '',
      report.note,
      '',
    ];
    writeFileSync(path.join(RESULTS, 'probe-burst.md'), lines.join('\n'));
    process.stdout.write(`${lines.join('\n')}\n`);
  } catch (error) {
    process.stderr.write(`server log kept in ${dir}\n`);
    process.env.BENCH_KEEP = '1';
    throw error;
  } finally {
    await counted?.stop();
    for (const child of children) child.kill('SIGTERM');
    if (!process.env.BENCH_KEEP) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
