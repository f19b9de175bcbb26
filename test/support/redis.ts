import { ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { freePort } from './ports';

const REDIS_SERVER = '/usr/bin/redis-server';
const SETPRIV = '/usr/bin/setpriv';
const READY_TIMEOUT_MS = 10_000;

export interface RedisServerOptions {
  /** A free loopback port when unset. */
  port?: number;
  /** Started with `--requirepass`: clients must AUTH with it. */
  password?: string;
}

/**
 * A real redis-server on 127.0.0.1, no persistence. Callers must `stop()` it
 * in `afterAll` (or `afterEach`); one left running, by a test that crashed
 * or forgot, is killed when the test process exits.
 */
export interface RedisServer {
  readonly port: number;
  /** redis://127.0.0.1:<port>, without the password. */
  readonly url: string;
  /** Kills it (SIGKILL, as a crash would) and waits until it has exited; nothing if stopped. */
  stop(): Promise<void>;
  /** Starts it again on the same port (after `stop`): an empty Redis, as after a restart. */
  start(): Promise<void>;
  /** Freezes it (SIGSTOP): connections stay open but nothing answers, as a hung server. */
  pause(): void;
  /** Lets a paused server run again (SIGCONT). */
  resume(): void;
}

/** Starts a redis-server and resolves once it answers on its port. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  // Below the ephemeral range: `start` binds it again after a `stop`.
  const port = options.port ?? (await freePort());
  const args = ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no'];
  if (options.password) args.push('--requirepass', options.password);
  let child: ChildProcess | undefined;

  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      if (child) throw new Error(`redis-server on port ${port} is already running`);
      child = await launch(args, port, options.password);
    },
    async stop() {
      const stopping = child;
      child = undefined;
      if (stopping) await kill(stopping);
    },
    pause() {
      child?.kill('SIGSTOP');
    },
    resume() {
      child?.kill('SIGCONT');
    },
  };
  await server.start();
  return server;
}

async function launch(args: string[], port: number, password?: string): Promise<ChildProcess> {
  // Its working directory: nothing is written there (no RDB, no AOF) but its output.
  const dir = mkdtempSync(path.join(tmpdir(), 'modelgate-redis-'));
  const outputFile = path.join(dir, 'output.log');
  const output = openSync(outputFile, 'w');
  // setpriv --pdeathsig: the kernel kills the server when the test process dies, however it
  // dies (jest's process 'exit' hooks do not run in a test file's sandbox).
  const child = spawn(SETPRIV, ['--pdeathsig', 'KILL', REDIS_SERVER, ...args, '--dir', dir], {
    stdio: ['ignore', output, output],
  });
  closeSync(output);
  // A server a test forgot to stop must not keep the test process alive.
  child.unref();
  let finalOutput: string | undefined;
  const outputSoFar = () => finalOutput ?? readFileSync(outputFile, 'utf8').slice(-4000);
  child.once('exit', () => {
    finalOutput = outputSoFar();
    rmSync(dir, { recursive: true, force: true });
  });

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`redis-server on port ${port} exited at start:\n${outputSoFar()}`);
    }
    if (await answersAs(port, child.pid!, password)) return child;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const lastOutput = outputSoFar();
  await kill(child);
  throw new Error(
    `redis-server on port ${port} did not answer within ${READY_TIMEOUT_MS} ms:\n${lastOutput}`,
  );
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
}

/**
 * True once the server on `port` is the process `pid`: it answers INFO with
 * that process id (another server still on the port does not count).
 */
function answersAs(port: number, pid: number, password?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    let reply = '';
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => finish(false));
    socket.once('error', () => finish(false));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.startsWith('-')) return finish(false); // wrong password, still loading…
      const found = /process_id:(\d+)/.exec(reply);
      if (found) finish(Number(found[1]) === pid);
    });
    socket.connect(port, '127.0.0.1', () => {
      if (password) socket.write(`AUTH ${password}\r\n`);
      socket.write('INFO server\r\n');
    });
  });
}
