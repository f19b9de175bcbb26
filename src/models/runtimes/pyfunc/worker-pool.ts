import { Logger } from '@nestjs/common';
import { ModelUnavailableError } from '../../model.errors';
import { WorkerAnswer, WorkerHandle, WorkerRequest } from './pyfunc-worker';

export interface WorkerPoolOptions {
  /** Names the pool's model version in logs and errors: `iris v3`. */
  label: string;
  size: number;
  /** Requests that may wait for an idle worker; one more is refused (503). */
  queueLimit: number;
  predictTimeoutMs: number;
  /** A worker above this resident size after a request is replaced; 0: never. */
  maxRssBytes: number;
  /** Restart delays after a worker died: doubling from `restartBaseMs` up to `restartMaxMs`. */
  restartBaseMs: number;
  restartMaxMs: number;
  /** How long a stopping worker has between SIGTERM and SIGKILL. */
  stopGraceMs: number;
  startWorker: () => Promise<WorkerHandle>;
}

interface Slot {
  index: number;
  worker?: WorkerHandle;
  busy: boolean;
  /** Consecutive deaths without a good answer between them, for the back-off. */
  deaths: number;
  restartTimer?: NodeJS.Timeout;
  /** The worker is stopped on purpose (recycled, disposed): its exit is no death. */
  retiring?: WorkerHandle;
}

interface Job {
  request: WorkerRequest;
  resolve: (answer: WorkerAnswer) => void;
  reject: (error: Error) => void;
}

/**
 * The worker processes of one model version, supervised: a request goes to
 * an idle worker, or waits in a bounded queue. A worker that dies is
 * restarted after a capped back-off (the request it held has already failed
 * with ModelUnavailableError); one grown past the memory limit is replaced
 * between requests; when no worker can be started, waiting requests fail
 * instead of hanging.
 */
export class WorkerPool {
  private readonly logger = new Logger(WorkerPool.name);
  private readonly slots: Slot[];
  private readonly queue: Job[] = [];
  private disposed = false;

  private constructor(private readonly options: WorkerPoolOptions) {
    this.slots = Array.from({ length: options.size }, (_, index) => ({
      index,
      busy: false,
      deaths: 0,
    }));
  }

  /** Starts every worker; if one cannot start, stops the others and throws its error. */
  static async start(options: WorkerPoolOptions): Promise<WorkerPool> {
    const pool = new WorkerPool(options);
    const started = await Promise.allSettled(pool.slots.map(() => options.startWorker()));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      await Promise.all(
        started.map((s) =>
          s.status === 'fulfilled' ? s.value.stop(options.stopGraceMs) : undefined,
        ),
      );
      throw failed.reason;
    }
    started.forEach((s, i) =>
      pool.attach(pool.slots[i], (s as PromiseFulfilledResult<WorkerHandle>).value),
    );
    return pool;
  }

  /** The live workers' process ids. */
  get pids(): number[] {
    return this.slots.flatMap((s) => (s.worker ? [s.worker.pid] : []));
  }

  run(request: WorkerRequest): Promise<WorkerAnswer> {
    if (this.disposed) {
      return Promise.reject(new ModelUnavailableError(`${this.options.label} is being unloaded`));
    }
    return new Promise<WorkerAnswer>((resolve, reject) => {
      const job = { request, resolve, reject };
      const slot = this.slots.find((s) => s.worker?.alive && !s.busy);
      if (slot) return this.dispatch(slot, job);
      if (this.queue.length >= this.options.queueLimit) {
        return reject(
          new ModelUnavailableError(
            `all ${this.options.size} Python workers of ${this.options.label} are busy and ${this.queue.length} requests are waiting`,
          ),
        );
      }
      this.queue.push(job);
    });
  }

  /** Stops every worker; waiting requests fail with ModelUnavailableError. */
  async dispose(): Promise<void> {
    this.disposed = true;
    this.failQueue(`${this.options.label} was unloaded`);
    await Promise.all(
      this.slots.map(async (slot) => {
        clearTimeout(slot.restartTimer);
        const worker = slot.worker;
        slot.worker = undefined;
        if (worker) await this.retire(slot, worker);
      }),
    );
  }

  private attach(slot: Slot, worker: WorkerHandle): void {
    if (this.disposed) {
      void worker.stop(this.options.stopGraceMs);
      return;
    }
    slot.worker = worker;
    void worker.exited.then(() => this.exited(slot, worker));
    this.next(slot);
  }

  private dispatch(slot: Slot, job: Job): void {
    const worker = slot.worker!;
    slot.busy = true;
    worker.predict(job.request, this.options.predictTimeoutMs).then(
      (answer) => {
        slot.deaths = 0;
        job.resolve(answer);
        void this.finished(slot, worker);
      },
      (error: Error) => {
        job.reject(error);
        void this.finished(slot, worker);
      },
    );
  }

  /** Between requests: replace a worker grown too big, then give it the next waiting request. */
  private async finished(slot: Slot, worker: WorkerHandle): Promise<void> {
    if (slot.worker === worker && this.options.maxRssBytes > 0) {
      const rss = await worker.rssBytes();
      if (rss !== undefined && rss > this.options.maxRssBytes && slot.worker === worker) {
        this.logger.log(
          `${this.options.label} worker ${worker.pid} uses ${mib(rss)} MiB (PYFUNC_MAX_RSS ${mib(this.options.maxRssBytes)}): replacing it`,
        );
        slot.worker = undefined;
        slot.busy = false;
        await this.retire(slot, worker);
        this.restart(slot, 0);
        return;
      }
    }
    slot.busy = false;
    // A dying worker takes nothing more: its exit restarts the slot, and the queue waits for that.
    if (slot.worker === worker && worker.alive) this.next(slot);
  }

  private next(slot: Slot): void {
    const job = this.queue.shift();
    if (job) this.dispatch(slot, job);
  }

  private async retire(slot: Slot, worker: WorkerHandle): Promise<void> {
    slot.retiring = worker;
    await worker.stop(this.options.stopGraceMs);
  }

  private exited(slot: Slot, worker: WorkerHandle): void {
    if (slot.retiring === worker || this.disposed) return;
    if (slot.worker === worker) slot.worker = undefined;
    slot.busy = false;
    const delay = Math.min(
      this.options.restartMaxMs,
      this.options.restartBaseMs * 2 ** slot.deaths,
    );
    slot.deaths++;
    this.logger.warn(
      `${this.options.label} worker ${worker.pid} died; restarting it in ${delay} ms`,
    );
    this.restart(slot, delay);
  }

  private restart(slot: Slot, delayMs: number): void {
    if (this.disposed) return;
    slot.restartTimer = setTimeout(() => {
      this.options.startWorker().then(
        (worker) => this.attach(slot, worker),
        (error: Error) => {
          slot.deaths++;
          const delay = Math.min(
            this.options.restartMaxMs,
            this.options.restartBaseMs * 2 ** slot.deaths,
          );
          this.logger.error(
            `${this.options.label}: a worker could not be restarted (${error.message}); trying again in ${delay} ms`,
          );
          if (this.slots.every((s) => !s.worker)) {
            this.failQueue(
              `no Python worker of ${this.options.label} is running: ${error.message}`,
            );
          }
          this.restart(slot, delay);
        },
      );
    }, delayMs);
  }

  private failQueue(reason: string): void {
    for (const job of this.queue.splice(0)) job.reject(new ModelUnavailableError(reason));
  }
}

function mib(bytes: number): number {
  return Math.round(bytes / 1024 ** 2);
}
