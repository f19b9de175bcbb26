import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { stackEnv } from './support/app';
import { request, waitFor } from './support/http';
import { Instance, startInstance } from './support/instances';
import { sharedStack } from './support/shared-stack';
import { CertificateKind, TlsProxy, startTlsProxy } from './support/tls-proxy';

const run = promisify(execFile);
const DOCTOR = path.resolve(__dirname, '../dist/doctor.js');

interface Failure {
  kind: string;
  hint: string;
  message: string;
}

interface TopologyBody {
  details: Record<string, { status: string; failure?: Failure }>;
}

interface DoctorReport {
  ok: boolean;
  checks: Record<string, { steps: { check: string; ok: boolean; failure?: Failure }[] }>;
}

/** What each faulty certificate must be reported as: its code, and words of its own hint. */
const FAULTS: [Exclude<CertificateKind, 'good'>, string, string[]][] = [
  [
    'self_signed',
    'DEPTH_ZERO_SELF_SIGNED_CERT',
    ['self-signed certificate', 'NODE_EXTRA_CA_CERTS'],
  ],
  ['expired', 'CERT_HAS_EXPIRED', ['has expired', 'renew it']],
  [
    'wrong_name',
    'ERR_TLS_CERT_ALTNAME_INVALID',
    ['is not issued for 127.0.0.1', 'subject alternative names'],
  ],
];

/**
 * MLflow behind TLS with broken certificates: nginx in front of the test
 * stack's MLflow, one HTTPS listener per certificate the test makes with
 * openssl (test/support/tls-proxy.ts). The API and the doctor run as their
 * own processes (dist/), trusting the test CA through NODE_EXTRA_CA_CERTS, as
 * the hints tell an operator to: so a CA-signed good certificate passes, and
 * each faulty one fails for its own reason only.
 */
describe('MLflow behind TLS: self-signed, expired and wrong-name certificates', () => {
  let proxy: TlsProxy;
  const instances: Instance[] = [];

  const envFor = (kind: CertificateKind) => ({
    ...stackEnv(sharedStack()),
    MLFLOW_TRACKING_URI: proxy.urls[kind],
    NODE_EXTRA_CA_CERTS: proxy.certificates.caPath,
    HEALTH_CHECK_INTERVAL: '1',
  });

  const doctor = async (kind: CertificateKind): Promise<DoctorReport> => {
    const result = await run(process.execPath, [DOCTOR, '--json'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...envFor(kind) },
      timeout: 60_000,
    }).catch((error: { stdout?: string; code?: number }) => {
      // Exit code 1: some check failed; the report is on stdout all the same.
      if (error.code !== 1 || !error.stdout) throw error;
      return { stdout: error.stdout };
    });
    return JSON.parse(result.stdout) as DoctorReport;
  };

  beforeAll(async () => {
    proxy = await startTlsProxy(sharedStack().mlflowUrl);
  });

  afterAll(async () => {
    await Promise.allSettled(instances.map((i) => i.stop()));
    await proxy?.stop();
  });

  it('passes with the CA-signed certificate for 127.0.0.1: the proxy and the trusted CA work', async () => {
    const report = await doctor('good');

    expect(report.checks.MLflow.steps.map((s) => [s.check, s.ok])).toEqual(
      report.checks.MLflow.steps.map((s) => [s.check, true]),
    );
    expect(report.checks.MLflow.steps.length).toBeGreaterThan(0);
  });

  it.each(FAULTS)(
    '%s: /health/topology and the doctor say tls (%s) with their own hint',
    async (kind, code, words) => {
      const instance = await startInstance(`tls-${kind}`, envFor(kind));
      instances.push(instance);

      const topology = await waitFor(
        () => request<TopologyBody>(`${instance.url}/health/topology`),
        (r) => (r.body.details?.mlflow?.failure?.kind ?? 'not_checked_yet') !== 'not_checked_yet',
        30_000,
      );
      const report = await doctor(kind);

      const mlflow = topology.body.details.mlflow;
      expect(mlflow.status).toBe('down');
      expect(mlflow.failure?.kind).toBe('tls');
      expect(mlflow.failure?.message).toContain(code);
      for (const word of words) expect(mlflow.failure?.hint).toContain(word);
      expect(mlflow.failure?.hint).toContain(`127.0.0.1:${new URL(proxy.urls[kind]).port}`);
      // The doctor runs the same checks: its first failing step says the same.
      const failed = report.checks.MLflow.steps.find((s) => !s.ok);
      expect(report.ok).toBe(false);
      expect(failed?.failure).toEqual({ ...mlflow.failure, message: expect.any(String) });
      expect(failed?.failure?.message).toContain(code);
    },
  );

  it('gives the three faults three different hints', async () => {
    const hints = await Promise.all(
      FAULTS.map(async ([kind]) => {
        const report = await doctor(kind);
        return report.checks.MLflow.steps.find((s) => !s.ok)?.failure?.hint;
      }),
    );

    expect(hints.every((h) => typeof h === 'string')).toBe(true);
    expect(new Set(hints).size).toBe(3);
  });
});
