/**
 * Every event one module tells the others, declared once (after Immich's
 * `EventMap`). Payloads are plain data (names, versions, durations), never a
 * feature's class instance, so any module can import this file without
 * depending on the module that emits.
 */

/** A version finished loading (download, load, warm-up). */
export interface ModelLoadedEvent {
  name: string;
  version: string;
  durationMs: number;
}

/** A version could not be loaded; what served before serves on. */
export interface ModelFailedEvent {
  name: string;
  version: string;
  durationMs: number;
  error: string;
}

/** A reference moved to a new version: swapped in, or its new version failed to load (the old one serves on). */
export interface ModelSwappedEvent {
  reference: string;
  name: string;
  from: string;
  to: string;
  outcome: 'swapped' | 'failed';
  durationMs: number;
}

/** A loaded version was unloaded to keep the cache within its bounds. */
export interface ModelEvictedEvent {
  name: string;
  version: string;
}

/**
 * A reference was resolved against MLflow (first load, reload endpoint,
 * callback, refresh job): the version it names now. Versions applied because
 * a peer told them are not resolutions and are not reported.
 */
export interface ModelResolvedEvent {
  reference: string;
  name: string;
  version: string;
  trigger: string;
}

/**
 * A caller of this instance's repository API loaded or unloaded a model here;
 * the other instances do the same (the reload broadcast tells them). What an
 * instance does because a peer told it is not reported again.
 */
export interface RepositoryChangedEvent {
  action: 'load' | 'unload';
  name: string;
  trigger: string;
}

export interface PredictionStartedEvent {
  name: string;
  version: string;
}

/**
 * How a prediction ended: `ok`; `failed`, the model's fault (its runtime threw
 * or it was unavailable); `rejected`, the caller's (input the signature or the
 * runtime refused); `refused`, nobody's (a full queue, a caller gone).
 */
export type PredictionOutcome = 'ok' | 'failed' | 'rejected' | 'refused';

export interface PredictionFinishedEvent {
  name: string;
  version: string;
  outcome: PredictionOutcome;
  /** From the version's acquisition to its answer (or its failure). */
  durationMs: number;
  /** Absent unless the prediction answered. */
  rows?: number;
  /** Under a rollout: the side that answered, or `shadow` for the challenger's copy (absent otherwise). */
  variant?: PredictionVariant;
}

/**
 * One runtime call of a model version: the rows and requests it took (one
 * request when the version is not batched) and how long each request waited
 * for it (none for a request run again alone after its stacked call failed).
 */
export interface PredictionBatchedEvent {
  name: string;
  version: string;
  rows: number;
  requests: number;
  queueWaitsMs: number[];
}

/** Requests of a version waiting for a runtime call now (its batcher's queue). */
export interface PredictionQueueEvent {
  name: string;
  version: string;
  depth: number;
}

/** What this instance says of its health changed (the cluster's heartbeats carry it). */
export interface InstanceStatusEvent {
  status: 'starting' | 'ok' | 'degraded' | 'unavailable' | 'draining';
}

/**
 * SIGTERM: readiness is false from now on; listeners keep serving for
 * `drainDelayMs`, then take no new calls, and calls in flight get
 * `gracePeriodMs` (src/health/graceful-shutdown.ts). For listeners other
 * than the HTTP server's (the gRPC one).
 */
export interface InstanceDrainingEvent {
  drainDelayMs: number;
  gracePeriodMs: number;
}

/**
 * A listener other than the HTTP server's (the gRPC one) started, began to
 * drain or stopped: what /health/topology shows of it.
 */
export interface ListenerChangedEvent {
  protocol: 'grpc';
  state: 'listening' | 'draining' | 'stopped';
  host: string;
  port: number;
  tls: 'off' | 'on' | 'mutual';
}

// --- Rollouts (issue 13 part 2): champion and challenger ---

/** Which side of a rollout ran a prediction: the answer's, or the challenger's shadow copy. */
export type PredictionVariant = 'champion' | 'challenger' | 'shadow';

/**
 * A shadow copy of a request the champion answered: `compared` (the
 * challenger answered too, and the pair was compared), `failed` (it did not
 * answer), `dropped` (ROLLOUT_SHADOW_MAX_IN_FLIGHT copies were running).
 */
export interface RolloutShadowedEvent {
  name: string;
  championVersion: string;
  challengerVersion?: string;
  outcome: 'compared' | 'failed' | 'dropped';
  /** Whether the outputs that are labels (not floating point) are equal; absent when the model has none. */
  labelsEqual?: boolean;
  /** The largest absolute difference between the pair's floating-point outputs; absent when it has none. */
  scoreDifference?: number;
}

// --- Rollback (issue 13 part 3): the watch after a promotion ---

/** What a watched version did, as the rollback watch judged it (src/rollback/breach-rule.ts). */
export interface RolloutFigures {
  /** Requests answered or failed (rejected and refused ones are nobody's verdict on the model). */
  requests: number;
  /** Of them, failed. */
  errors: number;
  /** errors / requests (0 with no requests). */
  errorRate: number;
  /** Of the answered requests, in milliseconds; absent with none answered. */
  p99Ms?: number;
}

/**
 * A version promoted by an alias did worse than the one it replaced and the
 * alias was moved back in MLflow (every instance follows the reload). Told
 * by the instance that acted, once per rollback.
 */
export interface ModelRolledBackEvent {
  reference: string;
  name: string;
  /** The bad version. */
  from: string;
  /** The version the alias names again. */
  to: string;
  reason: string;
  figures: RolloutFigures;
  baseline: RolloutFigures;
  /** What of the bookkeeping (tags, run metrics) could not be written; empty when all was. */
  incomplete: string[];
}

/**
 * Why the alias could not be moved back: MLflow answered 401/403 (no registry
 * write credentials), or anything else went wrong (5xx, timeout, refused
 * connection).
 */
export type VetoCause = 'mlflow refused' | 'mlflow unavailable';

/**
 * A bad version could not be rolled back in MLflow: instances stop routing
 * to it and keep the version it replaced. Told by the instance that vetoed
 * it, once (the others apply the veto quietly).
 */
export interface ModelVetoedEvent {
  reference: string;
  name: string;
  /** The vetoed version. */
  version: string;
  /** The version served instead. */
  fallback: string;
  /** The watch's verdict. */
  reason: string;
  cause: VetoCause;
  /** The rollback bookkeeping (tags, run metrics) not written: all of it. */
  incomplete: string[];
}

/**
 * A veto lapsed here: the reference's alias was resolved to another version
 * (`cause` says which), or an operator lifted it. Told by the instance that
 * saw it, once; the rollback module deletes the shared record and tells the
 * peers, which lift it quietly.
 */
export interface ModelVetoLiftedEvent {
  reference: string;
  name: string;
  /** The version that was vetoed. */
  version: string;
  cause: string;
}

export interface EventMap {
  'model.loaded': ModelLoadedEvent;
  'model.failed': ModelFailedEvent;
  'model.swapped': ModelSwappedEvent;
  'model.evicted': ModelEvictedEvent;
  'model.resolved': ModelResolvedEvent;
  'model.rolledBack': ModelRolledBackEvent;
  'model.vetoed': ModelVetoedEvent;
  'model.vetoLifted': ModelVetoLiftedEvent;
  'repository.changed': RepositoryChangedEvent;
  'prediction.started': PredictionStartedEvent;
  'prediction.finished': PredictionFinishedEvent;
  'prediction.batched': PredictionBatchedEvent;
  'prediction.queue': PredictionQueueEvent;
  'instance.status': InstanceStatusEvent;
  'instance.draining': InstanceDrainingEvent;
  'listener.changed': ListenerChangedEvent;
  // Rollouts (issue 13 part 2).
  'rollout.shadowed': RolloutShadowedEvent;
}

export type EventName = keyof EventMap;

/**
 * The events told once or more per prediction, dispatched synchronously by
 * the bus (hot-listeners.ts) rather than through @nestjs/event-emitter: its
 * loader wraps every listener in an async function, a few promises per
 * listener per event, which was the largest allocation of a prediction
 * (5.4% of its bytes in a heap profile under load, and each promise also
 * runs AsyncLocalStorage's hooks). Their listeners are counter and ring
 * updates, so they need no promise, and may not return one.
 */
const HOT_EVENT_NAMES = [
  'prediction.started',
  'prediction.finished',
  'prediction.batched',
  'prediction.queue',
] as const satisfies readonly EventName[];

export type HotEventName = (typeof HOT_EVENT_NAMES)[number];

/** The events that go through @nestjs/event-emitter. */
export type ColdEventName = Exclude<EventName, HotEventName>;

const HOT_EVENTS: ReadonlySet<EventName> = new Set(HOT_EVENT_NAMES);

export function isHotEvent(event: EventName): event is HotEventName {
  return HOT_EVENTS.has(event);
}
