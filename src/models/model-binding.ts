import { ModelReference } from '../common/model-reference';
import { LoadedModel } from './loaded-model';
import type { ReloadOutcome } from './reload-journal';

export type BindingState = 'loading' | 'ready' | 'failed';

/**
 * A reference this server serves and the version answering it now: the
 * mutable record, kept inside models/ (the reloader and the loaded versions
 * change it). Every reader outside gets a `ModelView` snapshot instead.
 */
export interface ModelBinding {
  readonly ref: ModelReference;
  readonly key: string;
  /** Listed in MODELS: loaded at start, never evicted. */
  readonly pinned: boolean;
  /**
   * Bound as a rollout's challenger (src/models/rollouts): kept when its load
   * fails, so the refresh job and webhooks retry it, and never evicted, like
   * a pinned one; but readiness does not wait for it and a bare name is never
   * answered by it.
   */
  challenger?: boolean;
  model?: LoadedModel;
  state: BindingState;
  lastError?: { message: string; version?: string; at: Date };
  lastCheckedAt?: Date;
  /** The first load under way. */
  pending?: Promise<LoadedModel>;
  /** A reload (or a follow) under way. */
  reloading?: Promise<ReloadOutcome>;
}
