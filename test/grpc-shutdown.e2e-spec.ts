import { status } from '@grpc/grpc-js';
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { stackEnv } from './support/app';
import { CallOutcome, TestGrpcClient } from './support/grpc-client';
import { sleep, waitFor } from './support/http';
import { freePort } from './support/ports';
import { registerDemoModel } from './support/python';
import { sharedStack } from './support/shared-stack';

const ROOT = path.resolve(__dirname, '..');
const MAIN = path.join(ROOT, 'dist/main.js');

describe('gRPC on SIGTERM (the built server, node dist/main.js)', () => {
  const SERVED = `grpc-drain-${Date.now()}`;
  /** Not loaded at start: a call for it loads it from MLflow first, so it is in flight for a while. */
  const ON_DEMAND = `grpc-drain-later-${Date.now()}`;
  let cacheDir: string;
  let child: ChildProcess | undefined;
  let output = '';
  let exit: Promise<number | null>;
  let target: string;

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run "npm run build" first`);
    const stack = sharedStack();
    await registerDemoModel(stack.mlflowUrl, {
      name: SERVED,
      signature: 'tensor',
      alias: 'champion',
    });
    await registerDemoModel(stack.mlflowUrl, {
      name: ON_DEMAND,
      signature: 'tensor',
      alias: 'champion',
    });
    cacheDir = await mkdtemp(path.join(tmpdir(), 'mg-grpc-drain-'));
    const grpcPort = await freePort();
    target = `127.0.0.1:${grpcPort}`;
    child = spawn(process.execPath, [MAIN], {
      cwd: cacheDir,
      env: {
        PATH: process.env.PATH,
        ...stackEnv(stack),
        API_HOST: '127.0.0.1',
        API_PORT: String(await freePort()),
        API_GRPC_PORT: String(grpcPort),
        MODELS: `models:/${SERVED}@champion`,
        MODEL_CACHE_DIR: path.join(cacheDir, 'models'),
        MODEL_REFRESH_INTERVAL: '0',
        LOG_LEVEL: 'warn',
        SHUTDOWN_DRAIN_DELAY: '0',
        SHUTDOWN_GRACE_PERIOD: '60',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    exit = new Promise((resolve) => child!.once('exit', (code) => resolve(code)));
    const probe = new TestGrpcClient(target);
    try {
      await waitFor(
        () => probe.call<{ ready: boolean }>('ServerReady', {}, { apiKey: null }),
        (outcome) => outcome.response?.ready === true,
      );
    } finally {
      probe.close();
    }
  });

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
  });

  it('finishes the call in flight, refuses new ones, then exits 0', async () => {
    const client = new TestGrpcClient(target);
    let signalled = false;
    let answeredAfterSignal: boolean | undefined;
    let accepted!: () => void;
    const taken = new Promise<void>((resolve) => (accepted = resolve));
    const inFlight = client
      .call<{ model_name: string; outputs: unknown[] }>(
        'ModelInfer',
        {
          model_name: ON_DEMAND,
          inputs: [
            {
              name: 'float_input',
              datatype: 'FP32',
              shape: [1, 4],
              contents: { fp32_contents: [5.1, 3.5, 1.4, 0.2] },
            },
          ],
        },
        { onAccepted: () => accepted() },
      )
      .then((outcome) => {
        answeredAfterSignal = signalled;
        return outcome;
      });
    // The handler has taken the call (its model is loading) before the signal.
    await taken;
    child!.kill('SIGTERM');
    signalled = true;
    await sleep(100);
    const late = new TestGrpcClient(target);
    const refused: CallOutcome<unknown> = await late.call('ServerLive', {}, { apiKey: null });
    late.close();

    const answer = await inFlight;
    client.close();
    const code = await exit;

    expect({ error: answer.error, output }).toEqual({
      error: undefined,
      output: expect.any(String),
    });
    expect(answer.response?.model_name).toBe(ON_DEMAND);
    expect(answer.response?.outputs).toHaveLength(2);
    expect(answeredAfterSignal).toBe(true);
    expect(refused.error?.code).toBe(status.UNAVAILABLE);
    expect({ code, output }).toEqual({ code: 0, output: expect.any(String) });
  });
});
