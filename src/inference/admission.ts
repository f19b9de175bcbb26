import { Inject, Injectable } from '@nestjs/common';
import { ModelsConfig, modelsConfig } from '../config/models.config';

/**
 * How long a refused caller should wait: a full queue of predictions drains
 * in well under a second on the models we serve in process, so one second
 * (Retry-After's smallest whole value) is enough for it to have room.
 */
export const BUSY_RETRY_AFTER_SECONDS = 1;

/** A model already runs and queues as many predictions as it may: try again shortly (503). */
export class ModelBusyError extends Error {
  readonly retryAfterSeconds = BUSY_RETRY_AFTER_SECONDS;

  constructor(
    readonly model: string,
    limits: AdmissionLimits,
  ) {
    super(
      `model ${model} is busy: ${limits.maxConcurrent} predictions running and ${limits.maxQueued} waiting; retry in ${BUSY_RETRY_AFTER_SECONDS} s`,
    );
    this.name = ModelBusyError.name;
  }
}

export interface AdmissionLimits {
  /** Predictions one model runs at once (MODEL_MAX_CONCURRENCY). */
  maxConcurrent: number;
  /** Predictions that may wait for a slot beyond those (MODEL_MAX_QUEUE). */
  maxQueued: number;
}

/** One model's slots: how many run, and who waits (first come, first served). */
interface Lane {
  running: number;
  waiting: (() => void)[];
}

/**
 * Admission per model: a semaphore and a bounded queue for each model key.
 * Past both bounds a prediction is refused at once (ModelBusyError) instead
 * of piling up memory and latency behind a slow or saturated model; one busy
 * model never takes slots from another. A lane exists only while it has work,
 * so the map stays as small as the models in use.
 */
@Injectable()
export class Admission {
  private readonly lanes = new Map<string, Lane>();
  private readonly limits: AdmissionLimits;

  constructor(@Inject(modelsConfig.KEY) config: Pick<ModelsConfig, 'admission'>) {
    this.limits = config.admission;
  }

  /** Runs `work` once `model` has a free slot; throws ModelBusyError if the queue is full too. */
  async run<T>(model: string, work: () => Promise<T>): Promise<T> {
    let lane = this.lanes.get(model);
    if (!lane) this.lanes.set(model, (lane = { running: 0, waiting: [] }));
    if (lane.running >= this.limits.maxConcurrent) {
      if (lane.waiting.length >= this.limits.maxQueued)
        throw new ModelBusyError(model, this.limits);
      // The slot is handed over by the finishing prediction (`running` stays counted).
      await new Promise<void>((resolve) => lane.waiting.push(resolve));
    } else {
      lane.running++;
    }
    try {
      return await work();
    } finally {
      this.release(model, lane);
    }
  }

  /** Predictions running and waiting for `model`, for tests and metrics. */
  load(model: string): { running: number; waiting: number } {
    const lane = this.lanes.get(model);
    return { running: lane?.running ?? 0, waiting: lane?.waiting.length ?? 0 };
  }

  private release(model: string, lane: Lane): void {
    const next = lane.waiting.shift();
    if (next) return next();
    lane.running--;
    if (lane.running === 0) this.lanes.delete(model);
  }
}
