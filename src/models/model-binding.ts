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
  model?: LoadedModel;
  state: BindingState;
  lastError?: { message: string; version?: string; at: Date };
  lastCheckedAt?: Date;
  /** The first load under way. */
  pending?: Promise<LoadedModel>;
  /** A reload (or a follow) under way. */
  reloading?: Promise<ReloadOutcome>;
}
