import { ChildProcess, execFile, spawn } from 'node:child_process';
import {
  accessSync,
  chmodSync,
  constants,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { sleep } from './http';
import { freePort } from './ports';

const run = promisify(execFile);

export const NGINX = '/usr/sbin/nginx';
/** The deployment's own renderer and templates, not a copy. */
export const RENDER_SCRIPT = path.resolve(__dirname, '../../deployment/nginx/render.sh');
const INSTALL_HINT =
  "run `bash scripts/nginx.sh` (installs Debian's nginx-light and gettext-base; root or sudo)";

export type Balancing = 'round-robin' | 'ip-hash';

export interface NginxOptions {
  /** The instances, host:port each. */
  upstreams: string[];
  balancing?: Balancing;
  /** The instances' gRPC listeners, host:port each: renders the grpc_pass variant. */
  grpcUpstreams?: string[];
}

export interface RunningNginx {
  /** Plain HTTP: nginx answers it itself (redirects to HTTPS). */
  httpUrl: string;
  httpsUrl: string;
  /** host:port of nginx's gRPC (TLS, HTTP/2) listener; answers only with `grpcUpstreams`. */
  grpcTarget: string;
  /** The self-signed certificate nginx serves, for 127.0.0.1 and localhost: a client's `ca`. */
  caCertPath: string;
  /** The rendered nginx.conf (layout standalone). */
  configPath: string;
  /** Renders the configuration again with new options; resolves once only new workers serve. */
  reload(options: NginxOptions): Promise<void>;
  stop(): Promise<void>;
}

/**
 * nginx as a child process, configured by deployment/nginx/render.sh, in a
 * temporary prefix directory on free loopback ports. Reads nothing from
 * /etc/nginx and never touches port 80, so a system nginx does not matter.
 */
export async function startNginx(options: NginxOptions): Promise<RunningNginx> {
  requireTools();
  const prefix = mkdtempSync(path.join(tmpdir(), 'modelgate-nginx-'));
  // Started as root, nginx's workers run as `nobody` and must reach the
  // temporary files under the prefix (request bodies above 1 MiB go there).
  chmodSync(prefix, 0o755);
  const caCertPath = path.join(prefix, 'cert.pem');
  const keyPath = path.join(prefix, 'key.pem');
  const configPath = path.join(prefix, 'nginx.conf');
  const [httpPort, httpsPort, grpcPort] = [await freePort(), await freePort(), await freePort()];

  await selfSignedCertificate(caCertPath, keyPath);
  const render = (opts: NginxOptions) =>
    renderNginxConfig(configPath, {
      MODELGATE_NGINX_LAYOUT: 'standalone',
      MODELGATE_UPSTREAMS: opts.upstreams.join(','),
      MODELGATE_BALANCING: opts.balancing ?? 'round-robin',
      MODELGATE_HTTP_PORT: String(httpPort),
      MODELGATE_HTTPS_PORT: String(httpsPort),
      MODELGATE_LISTEN_ADDRESSES: '127.0.0.1',
      MODELGATE_SERVER_NAME: 'localhost',
      MODELGATE_TLS_CERT: caCertPath,
      MODELGATE_TLS_KEY: keyPath,
      MODELGATE_NGINX_WORKERS: '1',
      MODELGATE_ACCESS_LOG: 'access.log', // in the prefix
      MODELGATE_ERROR_LOG: 'stderr',
      MODELGATE_ACME_ROOT: path.join(prefix, 'acme'),
      MODELGATE_GRPC_UPSTREAMS: (opts.grpcUpstreams ?? []).join(','),
      MODELGATE_GRPC_PORT: String(grpcPort),
    });
  await render(options);

  const child = spawn(NGINX, ['-p', `${prefix}/`, '-c', configPath, '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let errorLog = '';
  child.stderr.on('data', (chunk: Buffer) => (errorLog += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const httpUrl = `http://127.0.0.1:${httpPort}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM'); // fast shutdown; a test has nothing left in flight
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(prefix, { recursive: true, force: true });
  };

  try {
    await waitUntilAnswering(httpUrl, child, () => errorLog);
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    httpUrl,
    httpsUrl: `https://127.0.0.1:${httpsPort}`,
    grpcTarget: `127.0.0.1:${grpcPort}`,
    caCertPath,
    configPath,
    reload: async (next) => {
      await render(next);
      // nginx keeps the old configuration when the new one is bad, and only
      // says so in its log: check first, to fail here instead.
      await run(NGINX, ['-t', '-q', '-p', `${prefix}/`, '-c', configPath]);
      const before = workerPids(child.pid!);
      child.kill('SIGHUP');
      const deadline = Date.now() + 10_000;
      for (;;) {
        const now = workerPids(child.pid!);
        if (now.length > 0 && now.every((pid) => !before.includes(pid))) return;
        if (Date.now() > deadline) {
          throw new Error(`nginx did not replace its workers after a reload:\n${errorLog}`);
        }
        await sleep(50);
      }
    },
    stop,
  };
}

/**
 * Runs deployment/nginx/render.sh with `variables` and no other MODELGATE_*
 * (a developer's shell may have some), writing `output`. Rejects with the
 * script's own message.
 */
export async function renderNginxConfig(
  output: string,
  variables: Record<string, string>,
): Promise<void> {
  try {
    await run('bash', [RENDER_SCRIPT, output], { env: { PATH: process.env.PATH, ...variables } });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`render.sh failed: ${stderr.trim() || String(error)}`, { cause: error });
  }
}

/** A key and a certificate for 127.0.0.1 and localhost, valid for two days. */
async function selfSignedCertificate(certPath: string, keyPath: string): Promise<void> {
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    keyPath,
    '-out',
    certPath,
    '-days',
    '2',
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ]);
}

function requireTools(): void {
  const missing = [NGINX, 'envsubst', 'openssl'].filter((tool) => !onPath(tool));
  if (missing.length > 0) {
    throw new Error(`${missing.join(', ')} not found: ${INSTALL_HINT}`);
  }
}

function onPath(tool: string): boolean {
  const candidates = tool.includes('/')
    ? [tool]
    : (process.env.PATH ?? '').split(':').map((dir) => path.join(dir, tool));
  return candidates.some((file) => {
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Until nginx itself answers on plain HTTP (its redirect, which reaches no instance). */
async function waitUntilAnswering(
  url: string,
  child: ChildProcess,
  errorLog: () => string,
): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `nginx exited at start (${child.exitCode ?? child.signalCode}):\n${errorLog()}`,
      );
    }
    if (await answers(url)) return;
    if (Date.now() > deadline) {
      throw new Error(`nginx did not answer on ${url} within 10 s:\n${errorLog()}`);
    }
    await sleep(50);
  }
}

function answers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const request = http.get(url, { agent: false }, (response) => {
      response.resume();
      resolve(true);
    });
    request.on('error', () => resolve(false));
  });
}

/** The master's children, from /proc (Linux). */
function workerPids(masterPid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // pid (comm) state ppid ...; comm may hold spaces and parentheses.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === masterPid) pids.push(Number(entry));
    } catch {
      // the process has gone
    }
  }
  return pids;
}
