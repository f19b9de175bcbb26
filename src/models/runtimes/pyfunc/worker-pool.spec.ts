import { Logger } from '@nestjs/common';
import { ModelUnavailableError } from '../../model.errors';
import { WorkerAnswer, WorkerHandle, WorkerRequest } from './pyfunc-worker';
import { WorkerPool, WorkerPoolOptions } from './worker-pool';

const ANSWER: WorkerAnswer = { form: 'list', outputs: [] };
const REQUEST: WorkerRequest = { feeds: [] };

/** A worker whose predictions the test answers, kills and measures. */
class FakeWorker implements WorkerHandle {
  readonly exited: Promise<void>;
  rss = 0;
  stopped = false;
  alive = true;
  predictions: { resolve: (a: WorkerAnswer) => void; reject: (e: Error) => void }[] = [];
  private exit!: () => void;

  constructor(readonly pid: number) {
    this.exited = new Promise((resolve) => (this.exit = resolve));
  }

  predict(): Promise<WorkerAnswer> {
    return new Promise((resolve, reject) => this.predictions.push({ resolve, reject }));
  }

  rssBytes(): Promise<number | undefined> {
    return Promise.resolve(this.rss);
  }

  stop(): Promise<void> {
    this.stopped = true;
    this.alive = false;
    this.predictions.splice(0).forEach((p) => p.reject(new ModelUnavailableError('stopped')));
    this.exit();
    return this.exited;
  }

  /** Dies as a killed process does: its prediction fails, then it exits. */
  die(): void {
    this.alive = false;
    this.predictions.shift()?.reject(new ModelUnavailableError('killed'));
    this.exit();
  }

  answer(): void {
    this.predictions.shift()!.resolve(ANSWER);
  }
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe(WorkerPool.name, () => {
  let started: FakeWorker[];
  let failStarts: Error | undefined;
  let pools: WorkerPool[];

  function options(overrides: Partial<WorkerPoolOptions> = {}): WorkerPoolOptions {
    return {
      label: 'iris v3',
      size: 1,
      queueLimit: 2,
      predictTimeoutMs: 1000,
      maxRssBytes: 0,
      restartBaseMs: 1,
      restartMaxMs: 4,
      stopGraceMs: 10,
      startWorker: () => {
        if (failStarts) return Promise.reject(failStarts);
        const worker = new FakeWorker(100 + started.length);
        started.push(worker);
        return Promise.resolve(worker);
      },
      ...overrides,
    };
  }

  async function until(condition: () => boolean): Promise<void> {
    for (let i = 0; i < 1000 && !condition(); i++) await new Promise((r) => setTimeout(r, 2));
    expect(condition()).toBe(true);
  }

  async function start(overrides: Partial<WorkerPoolOptions> = {}): Promise<WorkerPool> {
    const pool = await WorkerPool.start(options(overrides));
    pools.push(pool);
    return pool;
  }

  afterEach(async () => {
    await Promise.all(pools.map((p) => p.dispose()));
  });

  beforeEach(() => {
    pools = [];
    started = [];
    failStarts = undefined;
    Logger.overrideLogger(false);
  });

  it('gives a request to an idle worker, and queues the next until one is free', async () => {
    const sut = await start({ size: 2 });

    const answers = [sut.run(REQUEST), sut.run(REQUEST), sut.run(REQUEST)];
    await flush();
    const held = started.map((w) => w.predictions.length);
    started[0].answer();
    await until(() => started[0].predictions.length === 1);
    started[0].answer();
    started[1].answer();

    expect(held).toEqual([1, 1]);
    await expect(Promise.all(answers)).resolves.toEqual([ANSWER, ANSWER, ANSWER]);
  });

  it('refuses a request beyond the queue limit at once (retryable)', async () => {
    const sut = await start({ queueLimit: 1 });
    const waiting = [sut.run(REQUEST), sut.run(REQUEST)].map((p) => p.catch(() => undefined));

    const refused = sut.run(REQUEST);

    await expect(refused).rejects.toThrow(ModelUnavailableError);
    await expect(refused).rejects.toThrow(
      /1 Python workers of iris v3 are busy and 1 requests are waiting/,
    );
    await sut.dispose();
    await Promise.all(waiting);
  });

  it('restarts a worker that died; its request failed, the queued one goes to the new worker', async () => {
    const sut = await start();
    const held = sut.run(REQUEST);
    const queued = sut.run(REQUEST);
    await flush();

    started[0].die();
    await expect(held).rejects.toThrow(ModelUnavailableError);
    await until(() => started.length === 2 && started[1].predictions.length === 1);
    started[1].answer();

    await expect(queued).resolves.toEqual(ANSWER);
    expect(sut.pids).toEqual([101]);
  });

  it('replaces a worker grown past the memory limit between requests', async () => {
    const sut = await start({ maxRssBytes: 1000 });
    started[0].rss = 2000;

    const first = sut.run(REQUEST);
    await flush();
    started[0].answer();
    await first;
    await until(() => started.length === 2);

    expect(started[0].stopped).toBe(true);
    expect(sut.pids).toEqual([101]);
  });

  it('keeps a worker within the memory limit', async () => {
    const sut = await start({ maxRssBytes: 1000 });
    started[0].rss = 500;

    const first = sut.run(REQUEST);
    await flush();
    started[0].answer();
    await first;
    await flush();

    expect(started).toHaveLength(1);
    expect(started[0].stopped).toBe(false);
  });

  it('fails waiting requests instead of hanging when no worker can be restarted', async () => {
    const sut = await start();
    const held = sut.run(REQUEST);
    const queued = sut.run(REQUEST);
    await flush();
    failStarts = new Error('python vanished');

    started[0].die();

    await expect(held).rejects.toThrow(ModelUnavailableError);
    await expect(queued).rejects.toThrow(/no Python worker of iris v3 is running: python vanished/);
    await sut.dispose();
  });

  it('fails to start when one worker cannot, stopping those that did', async () => {
    let calls = 0;
    const error = await WorkerPool.start(
      options({
        size: 2,
        startWorker: () => {
          calls++;
          if (calls === 2) return Promise.reject(new Error('no module named foo'));
          const worker = new FakeWorker(100);
          started.push(worker);
          return Promise.resolve(worker);
        },
      }),
    ).catch((e: unknown) => e);

    expect(error).toEqual(new Error('no module named foo'));
    expect(started[0].stopped).toBe(true);
  });

  it('stops every worker on dispose and refuses requests afterwards, without restarting them', async () => {
    const sut = await start({ size: 2 });
    const held = [sut.run(REQUEST), sut.run(REQUEST)].map((p) => p.catch((e: unknown) => e));
    const queued = sut.run(REQUEST).catch((e: unknown) => e);

    await sut.dispose();
    await new Promise((r) => setTimeout(r, 20));

    expect(await queued).toBeInstanceOf(ModelUnavailableError);
    expect(await Promise.all(held)).toEqual([
      expect.any(ModelUnavailableError),
      expect.any(ModelUnavailableError),
    ]);
    await expect(sut.run(REQUEST)).rejects.toThrow(/being unloaded/);
    expect(started.map((w) => w.stopped)).toEqual([true, true]);
    expect(started).toHaveLength(2);
  });
});
