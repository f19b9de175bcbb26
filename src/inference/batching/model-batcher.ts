import type { CancelSignal } from '../cancel-signal';
import { Logger } from '@nestjs/common';
import { messageOf } from '../../common/values';
import { PredictOptions, RuntimeAnswer } from '../../models/runtimes/model-runtime';
import { Tensor } from '../../models/tensor.types';
import { ModelBusyError } from '../admission';
import { PredictionCancelledError } from '../inference.error';
import { BatchSettings } from './batch-policy';
import { rowsOf, splitAnswer, stackFeeds, stackKeyOf, UnsplittableAnswerError } from './stacking';

/** One runtime call: the model's `predict`. */
export type RuntimeCall = (
  feeds: readonly Tensor[],
  options: PredictOptions,
) => Promise<RuntimeAnswer>;

/** What one runtime call of a batcher was made of, for the metrics. */
export interface BatchObservation {
  rows: number;
  requests: number;
  /** Milliseconds each request waited in the queue before the call. */
  waitsMs: number[];
}

/** Who hears of a batcher's calls and queue. */
export interface BatchObserver {
  called(observation: BatchObservation): void;
  /** Requests waiting now, after each change. */
  queued(depth: number): void;
  /** Nothing runs or waits any more: the batcher may be forgotten. */
  idle(): void;
}

interface Pending {
  feeds: readonly Tensor[];
  options: PredictOptions;
  rows: number;
  /** Undefined: never stacked with another request. */
  key: string | undefined;
  enqueuedAt: number;
  /** Told when the runtime call that includes this request begins, with how many it stacks. */
  started?: (requests: number) => void;
  resolve(answer: RuntimeAnswer): void;
  reject(error: unknown): void;
  /** Removes the abort listener, once the request is taken or dropped. */
  detach(): void;
}

/**
 * The adaptive batcher of one loaded model version. Not a timer that holds
 * requests: an idle model runs a request at once; while a call runs, arrivals
 * queue, and the call that follows (when one finishes) takes the queue's
 * stackable requests up to `maxRows` rows as one runtime call. A request
 * that has waited `maxDelayMs` for a running call gets a call of its own, as
 * does a queue holding a full batch, while fewer than `maxConcurrent` calls
 * run; past that every call is busy and requests wait for one to finish (up
 * to `maxQueued` of them; the next is refused: ModelBusyError, 503).
 *
 * One call at a time is the common case, on purpose: onnxruntime spreads one
 * call over its intra-op threads, so one large call uses the cores as well as
 * several small ones and pays the per-call cost (the thread-pool hop, the
 * session's own overhead) once; the main thread meanwhile decodes the next
 * requests. More calls run at once only when the delay bound asks for them
 * (a slow model), up to MODEL_MAX_CONCURRENCY.
 *
 * A stacked call that fails is not the failure of every request in it: its
 * requests are run again one by one, and each gets its own answer or error.
 */
export class ModelBatcher {
  private readonly logger = new Logger(ModelBatcher.name);
  private readonly queue: Pending[] = [];
  private running = 0;
  private queuedRows = 0;
  private timer?: NodeJS.Timeout;
  private draining = false;
  /** False once an answer could not be split: the model is not row-wise, stop stacking it. */
  private stackable = true;

  constructor(
    readonly model: string,
    private readonly settings: BatchSettings,
    private readonly call: RuntimeCall,
    private readonly observer: BatchObserver,
  ) {}

  /** Requests waiting for a call, and calls running. */
  get load(): { queued: number; running: number } {
    return { queued: this.queue.length, running: this.running };
  }

  /**
   * The answer to these feeds, from a call of their own or a stacked one.
   * @throws ModelBusyError when the request would wait and the queue is full.
   * @throws PredictionCancelledError when `signal` aborts before its call.
   */
  submit(
    feeds: readonly Tensor[],
    options: PredictOptions,
    signal?: CancelSignal,
    started?: (requests: number) => void,
  ): Promise<RuntimeAnswer> {
    if (signal?.aborted) return Promise.reject(new PredictionCancelledError(this.model));
    return new Promise<RuntimeAnswer>((resolve, reject) => {
      const pending: Pending = {
        feeds,
        options,
        rows: rowsOf(feeds),
        key: this.stackable ? stackKeyOf(feeds, options) : undefined,
        enqueuedAt: performance.now(),
        started,
        resolve,
        reject,
        detach: () => undefined,
      };
      if (signal) {
        const onAbort = () => this.drop(pending, new PredictionCancelledError(this.model));
        pending.detach = signal.onAbort(onAbort);
      }
      this.enqueue(pending);
      this.pump(false);
      // Still waiting, beyond the bound: refused (the others were there first).
      if (this.queue.length > this.settings.maxQueued && this.queue.includes(pending)) {
        this.drop(pending, new ModelBusyError(this.model, this.settings));
      }
    });
  }

  /**
   * Shutdown: every queued request is run now, whatever the delay and
   * concurrency bounds; nothing is dropped. Later requests run at once too.
   */
  flush(): void {
    this.draining = true;
    this.pump(false);
  }

  private enqueue(pending: Pending): void {
    this.queue.push(pending);
    this.queuedRows += pending.rows;
    this.observer.queued(this.queue.length);
  }

  /** Removes a request that is still waiting and fails it with `error`. */
  private drop(pending: Pending, error: Error): void {
    const index = this.queue.indexOf(pending);
    if (index < 0) return;
    this.queue.splice(index, 1);
    this.queuedRows -= pending.rows;
    pending.detach();
    pending.reject(error);
    this.observer.queued(this.queue.length);
    this.settle();
  }

  /**
   * Starts the calls that are due. `freed`: a call just finished, and its
   * slot goes to the queue at once (what waited during that call is the batch).
   */
  private pump(freed: boolean): void {
    const { maxConcurrent, maxDelayMs, maxRows } = this.settings;
    while (this.queue.length > 0) {
      if (this.running >= maxConcurrent && !this.draining) break;
      const waited = performance.now() - this.queue[0].enqueuedAt;
      const due =
        this.running === 0 ||
        freed ||
        this.draining ||
        waited >= maxDelayMs ||
        this.queuedRows >= maxRows;
      if (!due) break;
      freed = false;
      this.dispatch(this.take());
    }
    this.schedule();
  }

  /** Wakes the batcher when the oldest request has waited the delay (only if a call could start then). */
  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.queue.length === 0 || this.running >= this.settings.maxConcurrent) return;
    const waited = performance.now() - this.queue[0].enqueuedAt;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.pump(false);
      },
      Math.max(0, this.settings.maxDelayMs - waited),
    );
    this.timer.unref();
  }

  /** The oldest request and the stackable ones behind it, in order, within maxRows. */
  private take(): Pending[] {
    const head = this.queue.shift() as Pending;
    const batch = [head];
    let rows = head.rows;
    if (head.key !== undefined) {
      for (let i = 0; i < this.queue.length && rows < this.settings.maxRows;) {
        const next = this.queue[i];
        if (next.key === head.key && rows + next.rows <= this.settings.maxRows) {
          this.queue.splice(i, 1);
          batch.push(next);
          rows += next.rows;
        } else {
          i++;
        }
      }
    }
    this.queuedRows -= rows;
    for (const pending of batch) pending.detach();
    this.observer.queued(this.queue.length);
    return batch;
  }

  private dispatch(batch: Pending[]): void {
    this.running++;
    void this.execute(batch).finally(() => {
      this.running--;
      this.pump(true);
      this.settle();
    });
  }

  private async execute(batch: Pending[]): Promise<void> {
    if (batch.length === 1) return this.alone(batch[0]);
    let answers: RuntimeAnswer[];
    try {
      this.observe(batch);
      const answer = await this.call(stackFeeds(batch.map((p) => p.feeds)), batch[0].options);
      answers = splitAnswer(
        answer,
        batch.map((p) => p.rows),
      );
    } catch (error) {
      if (error instanceof UnsplittableAnswerError) {
        this.stackable = false;
        this.logger.warn(
          `${this.model}: ${error.message}; its requests run one by one from now on`,
        );
      } else {
        this.logger.warn(
          `${this.model}: a call of ${batch.length} stacked requests failed (${messageOf(error)}); running them one by one`,
        );
      }
      await Promise.all(batch.map((pending) => this.alone(pending, true)));
      return;
    }
    batch.forEach((pending, i) => pending.resolve(answers[i]));
  }

  /** One request's own call; its error is its own. `retry`: its queue wait is already counted. */
  private async alone(pending: Pending, retry = false): Promise<void> {
    this.observe([pending], retry);
    try {
      pending.resolve(await this.call(pending.feeds, pending.options));
    } catch (error) {
      pending.reject(error);
    }
  }

  private observe(batch: readonly Pending[], retry = false): void {
    const now = performance.now();
    for (const pending of batch) pending.started?.(batch.length);
    this.observer.called({
      rows: batch.reduce((sum, p) => sum + p.rows, 0),
      requests: batch.length,
      waitsMs: retry ? [] : batch.map((p) => now - p.enqueuedAt),
    });
  }

  private settle(): void {
    if (this.queue.length === 0 && this.running === 0) this.observer.idle();
  }
}
