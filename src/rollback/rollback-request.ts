import type { RolloutFigures } from '../common/events/event-map';

/** A breach the watch found: which alias to move back, from which version to which, and why. */
export interface RollbackRequest {
  reference: string;
  name: string;
  alias: string;
  /** The version that broke the rule. */
  bad: string;
  /** The version it replaced, which the alias names again. */
  good: string;
  reason: string;
  figures: RolloutFigures;
  baseline: RolloutFigures;
  /** From the swap to the verdict. */
  watchedMs: number;
}
