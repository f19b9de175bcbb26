import { ChildProcess, execFile, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { sleep } from './http';
import { NGINX } from './nginx';
import { freePort } from './ports';

const run = promisify(execFile);

/** The certificates a TLS fault test serves, each a PEM certificate and key. */
export type CertificateKind = 'good' | 'self_signed' | 'expired' | 'wrong_name';

export interface TestCertificates {
  /** The test CA's certificate: give it to a client as NODE_EXTRA_CA_CERTS. */
  caPath: string;
  files: Record<CertificateKind, { cert: string; key: string }>;
}

/**
 * Makes, with openssl, a test CA and four server certificates for 127.0.0.1:
 * `good` (signed by the CA), `self_signed` (its own issuer), `expired`
 * (signed by the CA, valid in January 2020 only) and `wrong_name` (signed by
 * the CA for mlflow.example.test). A client that trusts the CA then fails on
 * exactly one thing per certificate.
 */
export async function makeTestCertificates(dir: string): Promise<TestCertificates> {
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  const rsa = ['-newkey', 'rsa:2048', '-nodes'];
  await openssl(
    ...['req', '-x509', ...rsa, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2'],
    ...['-subj', '/CN=modelgate test CA'],
  );
  await openssl(
    ...['req', '-x509', ...rsa, '-keyout', 'self_signed.key', '-out', 'self_signed.pem'],
    ...['-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
  );
  // `openssl ca`, not `x509 -req`: only it sets a start and end date in the past (OpenSSL 3.0).
  writeFileSync(path.join(dir, 'index.txt'), '');
  writeFileSync(path.join(dir, 'serial'), '01\n');
  writeFileSync(
    path.join(dir, 'ca.cnf'),
    [
      '[ca]',
      'default_ca = test',
      '[test]',
      'database = index.txt',
      'new_certs_dir = .',
      'serial = serial',
      'default_md = sha256',
      'policy = any',
      'copy_extensions = copy',
      'unique_subject = no',
      '[any]',
      'commonName = supplied',
      '',
    ].join('\n'),
  );
  const signed: [CertificateKind, string, string[]][] = [
    ['good', 'IP:127.0.0.1', ['-days', '2']],
    ['wrong_name', 'DNS:mlflow.example.test', ['-days', '2']],
    ['expired', 'IP:127.0.0.1', ['-startdate', '20200101000000Z', '-enddate', '20200201000000Z']],
  ];
  for (const [kind, san, dates] of signed) {
    await openssl(
      ...['req', '-new', ...rsa, '-keyout', `${kind}.key`, '-out', `${kind}.csr`],
      ...['-subj', `/CN=${kind}`, '-addext', `subjectAltName=${san}`],
    );
    await openssl(
      ...['ca', '-batch', '-config', 'ca.cnf', '-cert', 'ca.pem', '-keyfile', 'ca.key'],
      ...['-in', `${kind}.csr`, '-out', `${kind}.pem`, '-notext', ...dates],
    );
  }
  const files = Object.fromEntries(
    (['good', 'self_signed', 'expired', 'wrong_name'] as const).map((kind) => [
      kind,
      { cert: path.join(dir, `${kind}.pem`), key: path.join(dir, `${kind}.key`) },
    ]),
  ) as TestCertificates['files'];
  return { caPath: path.join(dir, 'ca.pem'), files };
}

export interface TlsProxy {
  /** https://127.0.0.1:<port> of each certificate's listener. */
  urls: Record<CertificateKind, string>;
  certificates: TestCertificates;
  stop(): Promise<void>;
}

/**
 * nginx as a child process in a temporary prefix: one HTTPS listener per test
 * certificate on a free loopback port, each proxying to `upstream` (a plain
 * http:// base URL, such as the test stack's MLflow).
 */
export async function startTlsProxy(upstream: string): Promise<TlsProxy> {
  const prefix = mkdtempSync(path.join(tmpdir(), 'modelgate-tls-'));
  chmodSync(prefix, 0o755);
  const stopAll: (() => Promise<void>)[] = [];
  try {
    const certificates = await makeTestCertificates(prefix);
    const kinds = Object.keys(certificates.files) as CertificateKind[];
    const ports = Object.fromEntries(
      await Promise.all(kinds.map(async (kind) => [kind, await freePort()] as const)),
    ) as Record<CertificateKind, number>;
    const servers = kinds.map(
      (kind) => `
    server {
        listen 127.0.0.1:${ports[kind]} ssl;
        ssl_certificate     ${certificates.files[kind].cert};
        ssl_certificate_key ${certificates.files[kind].key};
        location / { proxy_pass ${upstream}; }
    }`,
    );
    const configPath = path.join(prefix, 'nginx.conf');
    writeFileSync(
      configPath,
      `worker_processes 1;
pid nginx.pid;
error_log stderr warn;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path client_body_temp;
    proxy_temp_path proxy_temp;
    fastcgi_temp_path fastcgi_temp;
    uwsgi_temp_path uwsgi_temp;
    scgi_temp_path scgi_temp;
${servers.join('\n')}
}
`,
    );
    const child: ChildProcess = spawn(
      NGINX,
      ['-p', `${prefix}/`, '-c', configPath, '-g', 'daemon off;'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let errorLog = '';
    child.stderr?.on('data', (chunk: Buffer) => (errorLog += chunk.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    stopAll.push(async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    });
    // Listening once every port takes a connection.
    const deadline = Date.now() + 10_000;
    for (const kind of kinds) {
      while (!(await accepts(ports[kind]))) {
        if (child.exitCode !== null || Date.now() > deadline) {
          throw new Error(`nginx (TLS proxy) did not start:\n${errorLog}`);
        }
        await sleep(50);
      }
    }
    const urls = Object.fromEntries(
      kinds.map((kind) => [kind, `https://127.0.0.1:${ports[kind]}`]),
    ) as Record<CertificateKind, string>;
    return {
      urls,
      certificates,
      stop: async () => {
        await Promise.all(stopAll.map((stop) => stop()));
        rmSync(prefix, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await Promise.all(stopAll.map((stop) => stop()));
    rmSync(prefix, { recursive: true, force: true });
    throw error;
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}
