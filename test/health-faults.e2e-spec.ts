import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { RunningServer, startServer, stackEnv } from './support/app';
import { request, waitFor } from './support/http';
import { sharedStack } from './support/shared-stack';
import { RunningMlflow, startMlflow } from './support/stack';

interface Dependency {
  status: 'up' | 'down';
  failure?: { kind: string; hint: string; message: string };
  [detail: string]: unknown;
}

interface TopologyBody {
  status: 'ok' | 'error';
  details: Record<string, Dependency>;
}

/** Starts the app with `env` over the shared stack's; no models, so readiness is about the rest. */
async function serve(env: Record<string, string>): Promise<RunningServer> {
  return startServer({ ...stackEnv(sharedStack()), HEALTH_CHECK_INTERVAL: '1', ...env });
}

function topologyOf(server: RunningServer) {
  return () => request<TopologyBody>(`${server.url}/health/topology`);
}

/** Waits until `name` has been checked at least once and returns the topology then. */
function checked(server: RunningServer, name: string) {
  return waitFor(
    topologyOf(server),
    (r) =>
      r.body.details?.[name]?.failure?.kind !== 'not_checked_yet' &&
      r.body.details?.[name] !== undefined,
  );
}

describe('Health checks against real faults', () => {
  const servers: RunningServer[] = [];
  const track = (s: RunningServer) => (servers.push(s), s);

  afterAll(async () => {
    await Promise.allSettled(servers.map((s) => s.app.close()));
  });

  it('reports a wrong Airflow password as "unauthorized" and stays ready', async () => {
    const server = track(await serve({ AIRFLOW_PASSWORD: 'not-the-password' }));

    const reply = await checked(server, 'airflow');
    const ready = await request(`${server.url}/health/ready`);

    const airflow = reply.body.details.airflow;
    expect(airflow.status).toBe('down');
    expect(airflow.failure?.kind).toBe('unauthorized');
    expect(airflow.failure?.hint).toContain('AIRFLOW_USERNAME / AIRFLOW_PASSWORD');
    // Component health needs no credentials: the check saw it before the login failed.
    expect(airflow.components).toEqual(expect.objectContaining({ scheduler: expect.anything() }));
    expect(JSON.stringify(reply.body)).not.toContain('not-the-password');
    expect(reply.body.details.mlflow.status).toBe('up');
    expect(ready.status).toBe(200);
  });

  it('turns readiness 503 on a failing Airflow when READINESS_REQUIRES_AIRFLOW is on', async () => {
    const server = track(
      await serve({ AIRFLOW_PASSWORD: 'not-the-password', READINESS_REQUIRES_AIRFLOW: 'true' }),
    );
    await checked(server, 'airflow');

    const ready = await request<TopologyBody>(`${server.url}/health/ready`);

    expect(ready.status).toBe(503);
    expect(ready.body.details.airflow.failure?.kind).toBe('unauthorized');
  });

  describe('MLflow started without the API’s host among its allowed hosts', () => {
    let mlflow: RunningMlflow;

    beforeAll(async () => {
      mlflow = await startMlflow({ allowedHosts: 'mlflow.internal' });
    });

    afterAll(async () => {
      await mlflow?.container.stop().catch(() => undefined);
    });

    it('reports "rejected host header" while MLflow’s /health says OK', async () => {
      const direct = await request(`${mlflow.url}/health`);
      const server = track(await serve({ MLFLOW_TRACKING_URI: mlflow.url }));

      const reply = await checked(server, 'mlflow');

      expect(direct.status).toBe(200);
      expect(direct.text.trim()).toBe('OK');
      const check = reply.body.details.mlflow;
      expect(check.status).toBe('down');
      expect(check.health).toBe('OK');
      expect(check.failure?.kind).toBe('rejected_host');
      // The Host header the API sends: the host of MLFLOW_TRACKING_URI.
      expect(check.failure?.hint).toContain(
        `--allowed-hosts including ${new URL(mlflow.url).hostname}`,
      );
      expect(check.failure?.message).toContain('Invalid Host header');
    });
  });

  it('names a host that does not resolve as a DNS failure', async () => {
    // RFC 2606: .invalid never resolves.
    const server = track(await serve({ MLFLOW_TRACKING_URI: 'http://mlflow.invalid:5000' }));

    const reply = await checked(server, 'mlflow');

    expect(reply.body.details.mlflow.failure?.kind).toBe('dns');
    expect(reply.body.details.mlflow.failure?.hint).toContain('mlflow.invalid does not resolve');
  });

  describe('a dependency that accepts connections and never answers', () => {
    let silent: net.Server;
    let silentUrl: string;
    const sockets = new Set<net.Socket>();

    beforeAll(async () => {
      silent = net.createServer((socket) => sockets.add(socket));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    });

    afterAll(async () => {
      sockets.forEach((s) => s.destroy());
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    });

    it('is reported as a timeout', async () => {
      const server = track(
        await serve({ MLFLOW_TRACKING_URI: silentUrl, HEALTH_CHECK_TIMEOUT: '0.5' }),
      );

      const reply = await checked(server, 'mlflow');

      expect(reply.body.details.mlflow.failure?.kind).toBe('timeout');
      expect(reply.body.details.mlflow.failure?.hint).toContain('security groups');
    });

    it('never holds a probe: probes answer while its check is still waiting', async () => {
      // A check timeout longer than the test: the first check is still pending throughout.
      const server = track(
        await serve({ MLFLOW_TRACKING_URI: silentUrl, HEALTH_CHECK_TIMEOUT: '300' }),
      );

      const probes = await Promise.all(
        Array.from({ length: 20 }, () => request<TopologyBody>(`${server.url}/health/topology`)),
      );
      const ready = await request(`${server.url}/health/ready`);

      for (const probe of probes) {
        expect(probe.status).toBe(503);
        expect(probe.body.details.mlflow.failure?.kind).toBe('not_checked_yet');
      }
      expect(ready.status).toBe(200);
    });
  });
});
