import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { OnAppEvent } from '../common/events/event-bus';
import type {
  ModelEvictedEvent,
  ModelSwappedEvent,
  PredictionFinishedEvent,
  RolloutFigures,
} from '../common/events/event-map';
import { parseModelReference } from '../common/model-reference';
import { RollbackConfig, rollbackConfig } from '../config/rollback.config';
import { judge } from './breach-rule';
import { OutcomeRing } from './outcome-ring';
import { RollbackService } from './rollback.service';

/** Versions whose recent outcomes are kept as a possible baseline; the oldest forgotten first. */
const MAX_TRACKED_VERSIONS = 256;
/** A window is judged at most this often (and at once when it reaches its minimum): p99 sorts its ring. */
const JUDGE_EVERY_MS = 250;

/** One promotion under watch: the new version's outcomes since its swap, and the old one's from before. */
export interface RolloutWindow {
  readonly reference: string;
  readonly name: string;
  readonly alias: string;
  /** The replaced version. */
  readonly from: string;
  /** The new version, under watch. */
  readonly to: string;
  readonly baseline: RolloutFigures;
  readonly outcomes: OutcomeRing;
  readonly startedAt: number;
  judgedAt: number;
  timer?: NodeJS.Timeout;
}

/**
 * Watches every promotion of a reference by alias for ROLLOUT_WATCH_SECONDS
 * (issue 13 part 3): each version's last predictions are kept (bounded), so
 * at a swap the replaced version's recent record is the baseline; the new
 * version's predictions since the swap are judged against it
 * (breach-rule.ts) and a breach goes to the RollbackService. Each instance
 * judges its own traffic; the rollback's lock makes one of them act.
 */
@Injectable()
export class RolloutWatch implements OnModuleDestroy {
  private readonly logger = new Logger(RolloutWatch.name);
  /** By `name/version`. */
  private readonly recent = new Map<string, OutcomeRing>();
  /** By reference. */
  private readonly windows = new Map<string, RolloutWindow>();

  constructor(
    @Inject(rollbackConfig.KEY) private readonly config: RollbackConfig,
    @Inject(RollbackService) private readonly rollback: Pick<RollbackService, 'rollBack'>,
  ) {}

  onModuleDestroy(): void {
    for (const window of this.windows.values()) clearTimeout(window.timer);
    this.windows.clear();
  }

  /** The windows open now, for views and tests. */
  open(): readonly RolloutWindow[] {
    return [...this.windows.values()];
  }

  @OnAppEvent('model.swapped')
  swapped(event: ModelSwappedEvent): void {
    if (event.outcome !== 'swapped' || this.config.watchMs === 0) return;
    this.close(event.reference);
    const ref = parseModelReference(event.reference);
    // Only an alias can be moved back; a fixed version or a stage is not the watch's to undo.
    if (ref.selector.kind !== 'alias') return;
    const window: RolloutWindow = {
      reference: event.reference,
      name: event.name,
      alias: ref.selector.alias,
      from: event.from,
      to: event.to,
      baseline: (this.recent.get(`${event.name}/${event.from}`) ?? new OutcomeRing()).figures(),
      outcomes: new OutcomeRing(),
      startedAt: Date.now(),
      judgedAt: 0,
    };
    window.timer = setTimeout(() => this.expire(window), this.config.watchMs);
    window.timer.unref();
    this.windows.set(event.reference, window);
    this.logger.log(
      `${event.reference}: watching v${event.to} for ${this.config.watchMs / 1000} s against v${event.from} ` +
        `(${window.baseline.requests} requests, error rate ${window.baseline.errorRate.toFixed(3)} before)`,
    );
  }

  @OnAppEvent('prediction.finished')
  finished(event: PredictionFinishedEvent): void {
    if (this.config.watchMs === 0) return;
    this.ring(`${event.name}/${event.version}`).add(event.outcome, event.durationMs);
    for (const window of this.windows.values()) {
      if (window.name !== event.name || window.to !== event.version) continue;
      window.outcomes.add(event.outcome, event.durationMs);
      this.judge(window);
    }
  }

  @OnAppEvent('model.evicted')
  evicted(event: ModelEvictedEvent): void {
    this.recent.delete(`${event.name}/${event.version}`);
  }

  private judge(window: RolloutWindow): void {
    const requests = window.outcomes.requests;
    if (requests < this.config.minRequests) return;
    const now = Date.now();
    if (requests > this.config.minRequests && now - window.judgedAt < JUDGE_EVERY_MS) return;
    window.judgedAt = now;
    const figures = window.outcomes.figures();
    const verdict = judge(figures, window.baseline, this.config);
    if (verdict.kind !== 'breach') return;
    // One verdict a window: what happens next is the rollback's (lock, MLflow, veto).
    this.close(window.reference);
    this.logger.warn(
      `${window.reference}: v${window.to} breaks the rollout rule: ${verdict.reason}`,
    );
    void this.rollback.rollBack({
      reference: window.reference,
      name: window.name,
      alias: window.alias,
      bad: window.to,
      good: window.from,
      reason: verdict.reason,
      figures,
      baseline: window.baseline,
      watchedMs: now - window.startedAt,
    });
  }

  private expire(window: RolloutWindow): void {
    if (this.windows.get(window.reference) !== window) return;
    this.windows.delete(window.reference);
    const figures = window.outcomes.figures();
    this.logger.log(
      `${window.reference}: v${window.to} passed its watch (${figures.requests} requests, ` +
        `error rate ${figures.errorRate.toFixed(3)})`,
    );
  }

  private close(reference: string): void {
    const window = this.windows.get(reference);
    if (!window) return;
    clearTimeout(window.timer);
    this.windows.delete(reference);
  }

  private ring(key: string): OutcomeRing {
    let ring = this.recent.get(key);
    if (ring) return ring;
    ring = new OutcomeRing();
    this.recent.set(key, ring);
    if (this.recent.size > MAX_TRACKED_VERSIONS) {
      const oldest = this.recent.keys().next().value;
      if (oldest !== undefined) this.recent.delete(oldest);
    }
    return ring;
  }
}
