import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnModuleDestroy,
} from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { ModelsConfig, modelsConfig } from '../config/models.config';
import { ModelVersion } from '../mlflow/mlflow.types';
import { LoadedModel } from './loaded-model';
import { ModelNotFoundError, ModelNotReadyError } from './model.errors';
import { ModelLoader } from './model-loader.service';
import {
  ModelReference,
  formatModelReference,
  parseModelReference,
} from '../common/model-reference';
import { ModelResolver } from './model-resolver.service';
import { messageOf } from '../common/values';

export type BindingState = 'loading' | 'ready' | 'failed';

/** A reference this server serves, and the version that answers it now. */
export interface ModelBinding {
  readonly ref: ModelReference;
  readonly key: string;
  /** Listed in MODELS: loaded at start, never evicted. */
  readonly pinned: boolean;
  model?: LoadedModel;
  state: BindingState;
  lastError?: { message: string; version?: string; at: Date };
  lastCheckedAt?: Date;
  pending?: Promise<LoadedModel>;
  reloading?: Promise<ReloadOutcome>;
}

export interface ReloadOutcome {
  reference: string;
  status: 'loaded' | 'swapped' | 'unchanged' | 'failed';
  from?: string;
  to?: string;
  error?: string;
}

export interface ReloadEvent extends ReloadOutcome {
  at: Date;
  trigger: string;
}

export interface CacheStats {
  hits: number;
  misses: number;
  loads: number;
  loadFailures: number;
  evictions: number;
  swaps: number;
}

/** A version load finished (download, load, warm-up). */
export interface ModelLoadEvent {
  name: string;
  version: string;
  outcome: 'loaded' | 'failed';
  durationMs: number;
}

/** A reference moved to a new version: swapped in, or failed to load (the old one serves on). */
export interface ModelSwapEvent {
  reference: string;
  name: string;
  from: string;
  to: string;
  outcome: 'swapped' | 'failed';
  durationMs: number;
}

/**
 * A reference was resolved against MLflow (first load, reload endpoint,
 * callback, refresh job): the version it names now. Versions applied with
 * `followVersion` (told by a peer) are not resolutions and are not reported.
 */
export interface ModelResolvedEvent {
  reference: string;
  name: string;
  version: string;
  trigger: string;
}

/** Told about loads, swaps and resolutions as they happen (metrics and the cluster register one each). */
export interface ModelRegistryObserver {
  modelLoaded?(event: ModelLoadEvent): void;
  modelSwapped?(event: ModelSwapEvent): void;
  modelResolved?(event: ModelResolvedEvent): void;
}

const RECENT_RELOADS = 50;

/**
 * The loaded-model registry (after MLServer's registry.py): a version loads
 * and warms before it takes traffic; on a new version the old one keeps serving
 * until the new one is ready, requests already on the old one finish, then it is
 * unloaded; a failed load leaves the old version serving and is reported.
 * Loaded versions live in an LRU bounded by count and bytes.
 */
@Injectable()
export class ModelRegistry implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ModelRegistry.name);
  private readonly bindings = new Map<string, ModelBinding>();
  /** Loaded versions by `name/version`; each is used by at least one binding. */
  private readonly loaded = new Map<string, LoadedModel>();
  private readonly loads = new Map<string, Promise<LoadedModel>>();
  private readonly recent: ReloadEvent[] = [];
  private readonly observers: ModelRegistryObserver[] = [];
  readonly stats: CacheStats = {
    hits: 0,
    misses: 0,
    loads: 0,
    loadFailures: 0,
    evictions: 0,
    swaps: 0,
  };

  constructor(
    private readonly resolver: ModelResolver,
    private readonly loader: ModelLoader,
    @Inject(modelsConfig.KEY) private readonly config: ModelsConfig,
  ) {}

  /** Starts loading MODELS without holding up the server: readiness reports when they are in. */
  onApplicationBootstrap(): void {
    for (const uri of this.config.models) {
      const ref = parseModelReference(uri);
      const binding = this.bind(ref, true);
      binding.pending = this.firstLoad(binding, 'start');
      binding.pending.catch(() => undefined);
    }
  }

  async onModuleDestroy(): Promise<void> {
    const models = [...this.loaded.values()];
    this.loaded.clear();
    this.bindings.clear();
    await Promise.allSettled(models.map((m) => m.runtime.dispose()));
  }

  /** The model of `/invocations`: the first of MODELS. */
  get defaultReference(): ModelReference | undefined {
    const first = this.config.models[0];
    return first ? parseModelReference(first) : undefined;
  }

  /** Registers an observer of loads and swaps; an observer that throws is logged and ignored. */
  observe(observer: ModelRegistryObserver): void {
    this.observers.push(observer);
  }

  /** Every binding, for the models API and health. */
  list(): readonly ModelBinding[] {
    return [...this.bindings.values()];
  }

  /** Recent reloads, newest first. */
  recentReloads(): readonly ReloadEvent[] {
    return [...this.recent].reverse();
  }

  loadedBytes(): number {
    let total = 0;
    for (const model of this.loaded.values()) total += model.info.sizeBytes;
    return total;
  }

  /** True when every model of MODELS has a version serving. */
  get pinnedReady(): boolean {
    return this.list().every((b) => !b.pinned || b.model !== undefined);
  }

  /**
   * The version answering `ref` now, marked in use: call `release` when the
   * request is done. Loads it on first use when loading on demand is on.
   */
  async acquire(ref: ModelReference): Promise<{ model: LoadedModel; release: () => void }> {
    const key = formatModelReference(ref);
    let binding = this.bindings.get(key);
    if (binding?.model) {
      this.stats.hits++;
      return { model: binding.model, release: binding.model.acquire() };
    }
    this.stats.misses++;
    if (!binding) {
      if (!this.config.loadOnDemand) {
        throw new ModelNotFoundError(key, 'it is not among MODELS and loading on demand is off');
      }
      binding = this.bind(ref, false);
    }
    binding.pending ??= this.firstLoad(binding, 'first request');
    const model = await binding.pending.catch((error: unknown) => {
      if (error instanceof ModelNotFoundError) throw error;
      throw new ModelNotReadyError(key, messageOf(error));
    });
    return { model, release: model.acquire() };
  }

  /** Follows the registry for one reference: loads and swaps in a new version if there is one. */
  reload(binding: ModelBinding, trigger: string): Promise<ReloadOutcome> {
    binding.reloading ??= this.follow(binding, trigger, () =>
      this.resolve(binding, trigger),
    ).finally(() => (binding.reloading = undefined));
    return binding.reloading;
  }

  /**
   * Moves one served reference to a version another instance resolved (the
   * cluster's reload broadcast), without asking MLflow what the reference
   * names. Runs after any reload of the reference already under way, so the
   * last version told wins. A reference this instance does not serve is left
   * alone (undefined).
   */
  async followVersion(
    reference: string,
    version: string,
    trigger: string,
  ): Promise<ReloadOutcome | undefined> {
    const binding = this.bindings.get(reference);
    if (!binding) return undefined;
    while (binding.reloading || binding.pending) {
      await Promise.allSettled([binding.reloading, binding.pending]);
    }
    if (!binding.model || binding.model.version === version) {
      return binding.model && { reference, status: 'unchanged', from: version, to: version };
    }
    const exact: ModelReference = {
      name: binding.ref.name,
      selector: { kind: 'version', version },
    };
    binding.reloading = this.follow(binding, trigger, () => this.resolver.resolve(exact)).finally(
      () => (binding.reloading = undefined),
    );
    return binding.reloading;
  }

  /** Every served reference and the version answering it, for the cluster's heartbeats. */
  servedVersions(): { reference: string; version?: string; state: BindingState }[] {
    return this.list().map((b) => ({
      reference: b.key,
      version: b.model?.version,
      state: b.state,
    }));
  }

  /** Reloads every reference of one registered model; binds its default reference if none. */
  async reloadModel(name: string, trigger: string): Promise<ReloadOutcome[]> {
    let bindings = this.list().filter((b) => b.ref.name === name);
    if (bindings.length === 0) {
      bindings = [this.bind({ name, selector: { kind: 'default' } }, false)];
    }
    return Promise.all(bindings.map((b) => this.reload(b, trigger)));
  }

  /** Reloads everything that can move (fixed versions cannot), or those `only` picks; one failure never stops the rest. */
  async reloadAll(
    trigger: string,
    only: (reference: string) => boolean = () => true,
  ): Promise<ReloadOutcome[]> {
    const movable = this.list().filter(
      (b) => (b.ref.selector.kind !== 'version' || !b.model) && only(b.key),
    );
    return Promise.all(movable.map((b) => this.reload(b, trigger)));
  }

  // ---- internals -------------------------------------------------------------

  private bind(ref: ModelReference, pinned: boolean): ModelBinding {
    const key = formatModelReference(ref);
    const binding: ModelBinding = this.bindings.get(key) ?? { ref, key, pinned, state: 'loading' };
    this.bindings.set(key, binding);
    return binding;
  }

  private async firstLoad(binding: ModelBinding, trigger: string): Promise<LoadedModel> {
    try {
      const version = await this.resolve(binding, trigger);
      const model = await this.loadVersion(version);
      binding.model = model;
      binding.state = 'ready';
      binding.lastError = undefined;
      this.record({ reference: binding.key, status: 'loaded', to: model.version }, trigger);
      return model;
    } catch (error) {
      binding.state = 'failed';
      binding.lastError = { message: messageOf(error), at: new Date() };
      this.record({ reference: binding.key, status: 'failed', error: messageOf(error) }, trigger);
      this.logger.error(`cannot serve ${binding.key}: ${messageOf(error)}`);
      // A name asked for once and not found is not kept: unknown names must not pile up.
      if (!binding.pinned) this.bindings.delete(binding.key);
      throw error;
    } finally {
      binding.pending = undefined;
    }
  }

  /** What the binding's reference names in MLflow now; observers hear of it. */
  private async resolve(binding: ModelBinding, trigger: string): Promise<ModelVersion> {
    const version = await this.resolver.resolve(binding.ref);
    binding.lastCheckedAt = new Date();
    const event = { reference: binding.key, name: version.name, version: version.version, trigger };
    this.notify((o) => o.modelResolved?.(event));
    return version;
  }

  private async follow(
    binding: ModelBinding,
    trigger: string,
    targetOf: () => Promise<ModelVersion>,
  ): Promise<ReloadOutcome> {
    const reference = binding.key;
    const current = binding.model;
    if (!current) {
      const pending = binding.pending ?? (binding.pending = this.firstLoad(binding, trigger));
      try {
        const model = await pending;
        return { reference, status: 'loaded', to: model.version };
      } catch (error) {
        return { reference, status: 'failed', error: messageOf(error) };
      }
    }
    let target: ModelVersion;
    try {
      target = await targetOf();
    } catch (error) {
      // The registry is unreachable or the alias is gone: keep serving what we have.
      binding.lastError = { message: messageOf(error), at: new Date() };
      return { reference, status: 'failed', from: current.version, error: messageOf(error) };
    }
    if (target.version === current.version) {
      return { reference, status: 'unchanged', from: current.version, to: current.version };
    }
    try {
      const swapStarted = performance.now();
      const next = await this.loadVersion(target).catch((error: unknown) => {
        this.notifySwap(binding, current.version, target.version, 'failed', swapStarted);
        throw error;
      });
      binding.model = next;
      binding.state = 'ready';
      binding.lastError = undefined;
      this.stats.swaps++;
      this.logger.log(
        `${reference}: now serving v${next.version} (was v${current.version}; ${trigger})`,
      );
      this.notifySwap(binding, current.version, next.version, 'swapped', swapStarted);
      void this.retireIfUnused(current);
      return this.record(
        { reference, status: 'swapped', from: current.version, to: next.version },
        trigger,
      );
    } catch (error) {
      binding.lastError = { message: messageOf(error), version: target.version, at: new Date() };
      this.logger.error(
        `${reference}: v${target.version} failed to load, v${current.version} keeps serving: ${messageOf(error)}`,
      );
      return this.record(
        {
          reference,
          status: 'failed',
          from: current.version,
          to: target.version,
          error: messageOf(error),
        },
        trigger,
      );
    }
  }

  /** Loads a version once however many references ask for it at the same time. */
  private loadVersion(version: ModelVersion): Promise<LoadedModel> {
    const key = `${version.name}/${version.version}`;
    const existing = this.loaded.get(key);
    if (existing) return Promise.resolve(existing);
    let load = this.loads.get(key);
    if (!load) {
      const started = performance.now();
      const loaded = (outcome: ModelLoadEvent['outcome']) =>
        this.notify((o) =>
          o.modelLoaded?.({
            name: version.name,
            version: version.version,
            outcome,
            durationMs: performance.now() - started,
          }),
        );
      load = this.loader
        .load(version, (loadedKey) => this.loaded.has(loadedKey) || this.loads.has(loadedKey))
        .then((model) => {
          loaded('loaded');
          this.loaded.set(key, model);
          this.stats.loads++;
          this.evictBeyondBounds(model);
          return model;
        })
        .catch((error: unknown) => {
          this.stats.loadFailures++;
          loaded('failed');
          throw error;
        })
        .finally(() => this.loads.delete(key));
      this.loads.set(key, load);
    }
    return load;
  }

  /** Unloads a replaced version once no binding uses it and its requests are done. */
  private async retireIfUnused(model: LoadedModel): Promise<void> {
    if (this.list().some((b) => b.model === model)) return;
    this.loaded.delete(model.key);
    await this.unload(model);
  }

  private evictBeyondBounds(keep: LoadedModel): void {
    const over = () =>
      this.loaded.size > this.config.maxModels || this.loadedBytes() > this.config.maxBytes;
    while (over()) {
      const victim = [...this.loaded.values()]
        .filter((m) => m !== keep && !this.list().some((b) => b.pinned && b.model === m))
        .sort((a, b) => a.lastUsedAt - b.lastUsedAt)[0];
      if (!victim) {
        this.logger.warn(
          'model cache is over its bounds, but every other loaded model is pinned by MODELS',
        );
        return;
      }
      for (const binding of this.list()) {
        if (binding.model === victim) this.bindings.delete(binding.key);
      }
      this.loaded.delete(victim.key);
      this.stats.evictions++;
      this.logger.log(`evicted ${victim.key} (least recently used)`);
      void this.unload(victim);
    }
  }

  private async unload(model: LoadedModel): Promise<void> {
    const drained = await model.drain(this.config.drainTimeoutMs);
    if (!drained)
      this.logger.warn(
        `${model.key}: requests still running after the drain timeout; unloading anyway`,
      );
    await model.runtime
      .dispose()
      .catch((error: unknown) => this.logger.warn(`${model.key}: ${messageOf(error)}`));
  }

  private notifySwap(
    binding: ModelBinding,
    from: string,
    to: string,
    outcome: ModelSwapEvent['outcome'],
    started: number,
  ): void {
    const durationMs = performance.now() - started;
    const event = { reference: binding.key, name: binding.ref.name, from, to, outcome, durationMs };
    this.notify((o) => o.modelSwapped?.(event));
  }

  private notify(call: (observer: ModelRegistryObserver) => void): void {
    for (const observer of this.observers) {
      try {
        call(observer);
      } catch (error) {
        this.logger.warn(`a registry observer failed: ${messageOf(error)}`);
      }
    }
  }

  private record(outcome: ReloadOutcome, trigger: string): ReloadOutcome {
    this.recent.push({ ...outcome, at: new Date(), trigger });
    if (this.recent.length > RECENT_RELOADS) this.recent.shift();
    return outcome;
  }
}
