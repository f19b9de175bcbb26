import { Logger } from '@nestjs/common';
import * as path from 'node:path';
import { ModelUnavailableError } from '../../model.errors';
import { PyfuncWorker, WorkerStartError } from './pyfunc-worker';

const FAKE = path.join(__dirname, 'testing/fake_worker.py');
const FEEDS = [
  { name: 'x', datatype: 'FP64' as const, shape: [2], data: Float64Array.from([1.5, 2]) },
];

function start(mode: string, startTimeoutMs = 20_000): Promise<PyfuncWorker> {
  return PyfuncWorker.start({
    python: 'python3',
    args: [FAKE, mode],
    label: 'iris v3',
    startTimeoutMs,
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe(PyfuncWorker.name, () => {
  let logged: string[];
  const workers: PyfuncWorker[] = [];

  beforeEach(() => {
    logged = [];
    Logger.overrideLogger({
      log: (message: unknown) => void logged.push(String(message)),
      error: () => undefined,
      warn: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
    });
  });

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop(100)));
    Logger.overrideLogger(false);
  });

  async function started(mode: string): Promise<PyfuncWorker> {
    const worker = await start(mode);
    workers.push(worker);
    return worker;
  }

  it('sends typed tensors in frames and reads the typed answer back', async () => {
    const sut = await started('echo');

    const answer = await sut.predict({ feeds: FEEDS, params: { scale: 2 } }, 5_000);

    expect(answer.form).toBe('list');
    expect(answer.outputs).toEqual([
      { name: 'echo_x', datatype: 'FP64', shape: [2], data: Float64Array.from([1.5, 2]) },
    ]);
  });

  it('fails to start naming the module a model needs', async () => {
    const error = await start('missing-module').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(WorkerStartError);
    expect((error as WorkerStartError).missingModule).toBe('absent_pkg');
    expect((error as Error).message).toContain("the Python module 'absent_pkg'");
  });

  it('fails to start when the interpreter cannot run', async () => {
    const error = await PyfuncWorker.start({
      python: '/nonexistent/python',
      args: [],
      label: 'iris v3',
      startTimeoutMs: 5_000,
    }).catch((e: unknown) => e);

    expect((error as Error).message).toContain('could not run /nonexistent/python');
  });

  it('fails the prediction at once with ModelUnavailableError when the worker dies', async () => {
    const sut = await started('crash');

    const error = await sut.predict({ feeds: FEEDS }, 20_000).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ModelUnavailableError);
    expect((error as Error).message).toContain('exited with code 3');
    expect(sut.alive).toBe(false);
  });

  it('kills a worker whose prediction takes longer than the time-out', async () => {
    const sut = await started('hang');

    const error = await sut.predict({ feeds: FEEDS }, 300).catch((e: unknown) => e);
    await sut.exited;

    expect((error as Error).message).toContain('PYFUNC_PREDICT_TIMEOUT');
    expect(alive(sut.pid)).toBe(false);
  });

  it('kills a worker that writes something that is not a frame', async () => {
    const sut = await started('garbage');

    const error = await sut.predict({ feeds: FEEDS }, 20_000).catch((e: unknown) => e);
    await sut.exited;

    expect((error as Error).message).toContain('broke the protocol');
  });

  it('forwards the worker’s stderr and stray stdout line by line, naming it', async () => {
    const sut = await started('log');
    await sut.predict({ feeds: FEEDS }, 5_000);

    expect(logged).toEqual(
      expect.arrayContaining([
        `iris v3 worker ${sut.pid}: first line`,
        `iris v3 worker ${sut.pid}: second line`,
      ]),
    );
  });

  it('stops: the process is gone once stop resolves', async () => {
    const sut = await start('echo');

    await sut.stop(1_000);

    expect(alive(sut.pid)).toBe(false);
  });
});
