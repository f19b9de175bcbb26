import type { RolloutMode } from '../../config/rollout.config';

export type { RolloutMode } from '../../config/rollout.config';

/** Which side of a rollout answered: the alias serving the model, or the one beside it. */
export type Variant = 'champion' | 'challenger';

/** One model's rollout as followed now: settings with its registered model's tags over them. */
export interface Rollout {
  readonly name: string;
  readonly champion: string;
  readonly challenger: string;
  readonly mode: RolloutMode;
  /** Buckets (of 100) of caller keys the challenger answers, in canary mode. */
  readonly percent: number;
  /** What named it: MODEL_ROLLOUT, the model's tags, or both (tags over settings). */
  readonly source: 'settings' | 'tags' | 'settings+tags';
}

/** One side of a rollout as readers see it. */
export interface RolloutSideView {
  readonly alias: string;
  /** The served reference, `name@alias`. */
  readonly reference: string;
  /** The version answering it here; absent until one is loaded. */
  readonly version?: string;
  readonly state?: 'loading' | 'ready' | 'failed';
  readonly error?: string;
}

/** What /v1/models/{name} and the status page show of a model's rollout. */
export interface RolloutView {
  readonly name: string;
  readonly mode: RolloutMode;
  readonly percent: number;
  readonly source: Rollout['source'];
  readonly champion: RolloutSideView;
  readonly challenger: RolloutSideView;
  /** Tags that were read but not followed (a bad percent…), and a failed read of them. */
  readonly problems: readonly string[];
  readonly tagsReadAt?: Date;
}
