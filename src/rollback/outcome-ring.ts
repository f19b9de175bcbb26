import type { PredictionOutcome, RolloutFigures } from '../common/events/event-map';

/**
 * Samples kept a version: enough for a p99 that means something (the 10th
 * slowest of 1000), few enough that the figures cost nothing to compute.
 */
export const RING_SIZE = 1000;

/**
 * The last predictions of one version that say something about it: answers
 * (with their time) and failures. Rejected input is the caller's fault and
 * refused requests nobody's, so neither is kept. Bounded: the oldest go first.
 */
export class OutcomeRing {
  private readonly failed: boolean[] = [];
  private readonly durations: number[] = [];
  private next = 0;

  constructor(private readonly size = RING_SIZE) {}

  add(outcome: PredictionOutcome, durationMs: number): void {
    if (outcome !== 'ok' && outcome !== 'failed') return;
    if (this.failed.length < this.size) {
      this.failed.push(outcome === 'failed');
      this.durations.push(durationMs);
      return;
    }
    this.failed[this.next] = outcome === 'failed';
    this.durations[this.next] = durationMs;
    this.next = (this.next + 1) % this.size;
  }

  get requests(): number {
    return this.failed.length;
  }

  figures(): RolloutFigures {
    const requests = this.failed.length;
    const errors = this.failed.filter(Boolean).length;
    const answered = this.durations.filter((_, i) => !this.failed[i]).sort((a, b) => a - b);
    return {
      requests,
      errors,
      errorRate: requests === 0 ? 0 : errors / requests,
      // Nearest rank: the smallest value at or above 99% of the answers.
      p99Ms: answered.length === 0 ? undefined : answered[Math.ceil(answered.length * 0.99) - 1],
    };
  }
}
