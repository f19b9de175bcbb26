import { ModelReference } from '../common/model-reference';
import type { BindingState, ModelBinding } from './model-binding';
import { ModelLineage } from './model-lineage';
import { ModelSignature } from './model-signature.types';
import type { VersionVeto } from './version-vetoes';
import { WarmupOutcome } from './model-warmup';
import type { RuntimeKind } from './runtimes/model-runtime';

/**
 * What one served reference looks like now: the one shape every reader
 * (models API, status page, health, Open Inference, metrics, heartbeats)
 * picks its fields from. A frozen snapshot: reading it never changes, nor
 * waits on, the registry.
 */
export interface ModelView {
  /** The reference as served, canonical: `iris@champion`, `iris/3`, `iris`. */
  readonly key: string;
  readonly ref: Readonly<ModelReference>;
  readonly name: string;
  /** Listed in MODELS. */
  readonly pinned: boolean;
  /** Bound as a rollout's challenger (it answers only the share its rollout gives it). */
  readonly challenger: boolean;
  readonly state: BindingState;
  /** The version answering it; absent until one is loaded. */
  readonly version?: string;
  /** `name/version` of that loaded version (two references may share one). */
  readonly versionKey?: string;
  readonly flavor?: string;
  readonly runtime?: RuntimeKind;
  /** Why that runtime serves it, e.g. why a pyfunc version was not converted to ONNX. */
  readonly runtimeReason?: string;
  readonly signature?: ModelSignature;
  readonly loadedAt?: Date;
  readonly loadDurationMs?: number;
  readonly sizeBytes?: number;
  readonly fromCache?: boolean;
  /** Whether the input example ran before the version took traffic, and why not. */
  readonly warmup?: Readonly<WarmupOutcome>;
  readonly requests?: number;
  readonly failures?: number;
  /** The answering version's training run (and DAG run), read at load. */
  readonly lineage?: Readonly<ModelLineage>;
  readonly lastCheckedAt?: Date;
  readonly lastError?: Readonly<{ message: string; version?: string; at: Date }>;
  /** A version the rollback watch vetoed for this reference (it could not move the alias back). */
  readonly veto?: VersionVeto;
}

/** The one mapper from the registry's record to its view. */
export function modelView(binding: ModelBinding, veto?: VersionVeto): ModelView {
  const m = binding.model;
  return Object.freeze({
    key: binding.key,
    ref: Object.freeze({ ...binding.ref, selector: Object.freeze({ ...binding.ref.selector }) }),
    name: binding.ref.name,
    pinned: binding.pinned,
    challenger: binding.challenger === true,
    state: binding.state,
    version: m?.version,
    versionKey: m?.key,
    flavor: m?.info.flavor,
    runtime: m?.runtime.kind,
    runtimeReason: m?.info.runtimeReason,
    signature: m?.info.signature,
    loadedAt: m?.loadedAt,
    loadDurationMs: m?.info.loadDurationMs,
    sizeBytes: m?.info.sizeBytes,
    fromCache: m?.info.fromCache,
    warmup: m?.warmup,
    requests: m?.requests,
    failures: m?.failures,
    lineage: m?.info.lineage,
    lastCheckedAt: binding.lastCheckedAt,
    lastError: binding.lastError && Object.freeze({ ...binding.lastError }),
    veto,
  });
}
