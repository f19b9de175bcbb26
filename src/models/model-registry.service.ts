import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { ModelReference, formatModelReference } from '../common/model-reference';
import { messageOf } from '../common/values';
import { ModelsConfig, modelsConfig } from '../config/models.config';
import { LoadedModel } from './loaded-model';
import { LoadedVersionStats, LoadedVersions } from './loaded-versions.service';
import { ModelNotFoundError, ModelNotReadyError, ModelPinnedError } from './model.errors';
import { modelNameFilter } from './model-access';
import { ModelBindings } from './model-bindings.service';
import { ModelReloader } from './model-reloader.service';
import { ModelView } from './model-view';
import { ReloadEvent, ReloadOutcome } from './reload-journal';
import { VersionVeto } from './version-vetoes';

export type { BindingState } from './model-binding';
export type { ReloadEvent, ReloadOutcome } from './reload-journal';

export interface CacheStats extends LoadedVersionStats {
  hits: number;
  misses: number;
  swaps: number;
}

/** What `followRegistry` did for each reference. */
export interface RegistryFollowOutcome {
  /** References served here, reloaded. */
  reloaded: ReloadOutcome[];
  /** References not served here, resolved and told to the peers (or why they could not be). */
  announced: { reference: string; version?: string; error?: string }[];
  /** Fixed versions already loaded, and names MODEL_ALLOW refuses. */
  skipped: string[];
}

type RegistryConfig = Pick<ModelsConfig, 'models' | 'loadOnDemand' | 'allow'>;

/** A version in use by one request: `release` when the request is done (once; more calls do nothing). */
export interface AcquiredModel {
  model: LoadedModel;
  release: () => void;
}

/**
 * What the rest of the server asks of the model lifecycle: the version that
 * answers a reference (`acquire`), reloads, and read-only views. The work is
 * done by three parts, each with one job: the bindings (references served),
 * the loaded versions (cache, de-duplication, LRU, drain) and the reloader
 * (resolve → load → warm → swap → retire, following peers, the journal).
 * It also owns who may be served: MODEL_ALLOW, and MODEL_LOAD_ON_DEMAND.
 */
@Injectable()
export class ModelRegistry implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly allowed: (name: string) => boolean;
  private hits = 0;
  private misses = 0;

  constructor(
    private readonly bindings: ModelBindings,
    private readonly versions: LoadedVersions,
    private readonly reloader: ModelReloader,
    @Inject(modelsConfig.KEY) private readonly config: RegistryConfig,
  ) {
    this.allowed = modelNameFilter(config.allow);
  }

  /** Starts loading MODELS without holding up the server: readiness reports when they are in. */
  onApplicationBootstrap(): void {
    for (const ref of this.config.models) {
      void this.reloader.firstLoad(this.bindings.bind(ref, true), 'start');
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.bindings.clear();
    await this.versions.disposeAll();
  }

  /** The model of `/invocations`: the first of MODELS. */
  get defaultReference(): ModelReference | undefined {
    return this.config.models[0];
  }

  /** Every served reference, as a snapshot. */
  list(): readonly ModelView[] {
    return this.bindings.views();
  }

  /** The view of the binding that answers `ref` now (a bare name: a served binding of it), if any. */
  answering(ref: ModelReference): ModelView | undefined {
    const binding = this.bindings.answering(ref);
    return binding && this.bindings.view(binding.key);
  }

  /**
   * The version serving the served reference `reference` now, for a look at
   * it (no request counted, nothing loaded); undefined if none serves.
   */
  serving(reference: string): LoadedModel | undefined {
    return this.bindings.get(reference)?.model;
  }

  /** Recent reloads, newest first. */
  recentReloads(): readonly ReloadEvent[] {
    return this.reloader.journal.recent();
  }

  loadedBytes(): number {
    return this.versions.bytes();
  }

  get stats(): CacheStats {
    return {
      hits: this.hits,
      misses: this.misses,
      ...this.versions.stats,
      swaps: this.reloader.swaps,
    };
  }

  /** True when every model of MODELS has a version serving. */
  get pinnedReady(): boolean {
    return this.bindings.all().every((b) => !b.pinned || b.model !== undefined);
  }

  /**
   * Throws ModelNotFoundError unless the model `name` may be served here: a
   * name among MODELS or served already always may; any other must match
   * MODEL_ALLOW, and loading on demand must be on. Routes that name a model
   * without loading it (metadata, reload) ask this first.
   */
  assertServable(name: string): void {
    if (this.bindings.all().some((b) => b.ref.name === name)) return;
    this.assertLoadable(name);
  }

  /**
   * {@link acquire} when a version answers `ref` already, without a promise
   * (the prediction path's common case); undefined when it has to load, or
   * `ref` may not be served (acquire says which).
   */
  acquireLoaded(ref: ModelReference): AcquiredModel | undefined {
    const model = this.bindings.answering(ref)?.model;
    if (!model) return undefined;
    this.hits++;
    return { model, release: model.acquire() };
  }

  /**
   * The version answering `ref` now, marked in use: call `release` when the
   * request is done. Loads it on first use when loading on demand is on.
   */
  async acquire(ref: ModelReference): Promise<AcquiredModel> {
    const loaded = this.acquireLoaded(ref);
    if (loaded) return loaded;
    let binding = this.bindings.answering(ref);
    this.misses++;
    const key = formatModelReference(ref);
    if (!binding) {
      this.assertLoadable(ref.name, key);
      binding = this.bindings.bind(ref, false);
    }
    const model = await this.reloader
      .firstLoad(binding, 'first request')
      .catch((error: unknown) => {
        if (error instanceof ModelNotFoundError) throw error;
        throw new ModelNotReadyError(key, messageOf(error));
      });
    return { model, release: model.acquire() };
  }

  /** Follows the registry for one served reference now; undefined if it is not served. */
  reload(reference: string, trigger: string): Promise<ReloadOutcome> | undefined {
    const binding = this.bindings.get(reference);
    return binding && this.reloader.reload(binding, trigger);
  }

  /** Moves a served reference to the version a peer resolved (see ModelReloader.followVersion). */
  followVersion(
    reference: string,
    version: string,
    trigger: string,
  ): Promise<ReloadOutcome | undefined> {
    return this.reloader.followVersion(reference, version, trigger);
  }

  /**
   * Vetoes `veto.version` for its reference here: it is never loaded for it
   * again while the veto stands, and a binding serving it moves to the
   * fallback version now. Undefined if the reference is not served here.
   */
  veto(veto: VersionVeto, trigger: string): Promise<ReloadOutcome | undefined> {
    return this.reloader.veto(veto, trigger);
  }

  /** Lifts the veto of `reference` here (see ModelReloader.liftVeto); undefined when none stands. */
  liftVeto(
    reference: string,
    cause: string,
    options?: { quiet?: boolean; version?: string },
  ): VersionVeto | undefined {
    return this.reloader.liftVeto(reference, cause, options);
  }

  /** Reloads every reference of one registered model; binds its default reference if none (when allowed). */
  async reloadModel(name: string, trigger: string): Promise<ReloadOutcome[]> {
    let bindings = this.bindings.named(name);
    if (bindings.length === 0) {
      this.assertServable(name);
      bindings = [this.bindings.bind({ name, selector: { kind: 'default' } }, false)];
    }
    return Promise.all(bindings.map((b) => this.reloader.reload(b, trigger)));
  }

  /**
   * Follows the registry for these references now, on every instance: those
   * served here are reloaded (a fixed version already loaded cannot move);
   * those not served here but servable are resolved and announced, so the
   * peers serving them follow (the reload broadcast). Names MODEL_ALLOW
   * refuses are skipped. Never throws: failures are outcomes.
   */
  async followRegistry(
    refs: readonly ModelReference[],
    trigger: string,
  ): Promise<RegistryFollowOutcome> {
    const reloaded: Promise<ReloadOutcome>[] = [];
    const announced: Promise<{ reference: string; version?: string; error?: string }>[] = [];
    const skipped: string[] = [];
    for (const ref of refs) {
      const key = formatModelReference(ref);
      const binding = this.bindings.get(key);
      if (binding) {
        if (ref.selector.kind === 'version' && binding.model) skipped.push(key);
        else reloaded.push(this.reloader.reload(binding, trigger));
      } else if (this.allowed(ref.name)) {
        announced.push(
          this.reloader.announce(ref, trigger).then(
            (v) => ({ reference: key, version: v.version }),
            (error: unknown) => ({ reference: key, error: messageOf(error) }),
          ),
        );
      } else {
        skipped.push(key);
      }
    }
    return {
      reloaded: await Promise.all(reloaded),
      announced: await Promise.all(announced),
      skipped,
    };
  }

  /**
   * Loads the model `name` (the repository's load): reloads it when served,
   * as `reloadModel` does; otherwise binds its default reference and loads it,
   * throwing what stopped the load (ModelNotFoundError, ModelLoadError, …)
   * rather than reporting it as an outcome.
   */
  async loadModel(name: string, trigger: string): Promise<ReloadOutcome[]> {
    if (this.bindings.named(name).length > 0) return this.reloadModel(name, trigger);
    this.assertLoadable(name);
    const binding = this.bindings.bind({ name, selector: { kind: 'default' } }, false);
    const model = await this.reloader.firstLoad(binding, trigger);
    return [{ reference: binding.key, status: 'loaded', to: model.version }];
  }

  /**
   * Stops serving the model `name` here: once any load of it under way has
   * settled, unbinds every reference of it and unloads their versions after
   * their requests are done (MODEL_DRAIN_TIMEOUT_MS at most).
   * @returns the versions unloaded (`name/version`); none when it was not served.
   * @throws ModelPinnedError when MODELS lists it (readiness depends on it).
   * @throws ModelNotFoundError when it is not served and may not be.
   */
  async unloadModel(name: string): Promise<string[]> {
    this.assertUnloadable(name);
    const underWay = this.bindings.named(name).flatMap((b) => [b.pending, b.reloading]);
    await Promise.allSettled(underWay.filter((p) => p !== undefined));
    this.assertUnloadable(name);
    const models = new Set<LoadedModel>();
    for (const binding of this.bindings.named(name)) {
      this.bindings.remove(binding.key);
      if (binding.model) models.add(binding.model);
    }
    const retired = await Promise.all(
      [...models].map(async (m) => ((await this.versions.retireIfUnused(m)) ? [m.key] : [])),
    );
    return retired.flat();
  }

  /** Reloads everything that can move (fixed versions cannot), or those `only` picks; one failure never stops the rest. */
  async reloadAll(
    trigger: string,
    only: (reference: string) => boolean = () => true,
  ): Promise<ReloadOutcome[]> {
    const movable = this.bindings
      .all()
      .filter((b) => (b.ref.selector.kind !== 'version' || !b.model) && only(b.key));
    return Promise.all(movable.map((b) => this.reloader.reload(b, trigger)));
  }

  private assertUnloadable(name: string): void {
    const bindings = this.bindings.named(name);
    if (bindings.some((b) => b.pinned)) throw new ModelPinnedError(name);
    if (bindings.length === 0) this.assertLoadable(name);
  }

  /** A reference not bound yet may be bound (and loaded) only when its name is allowed and loading on demand is on. */
  private assertLoadable(name: string, reference = name): void {
    if (!this.allowed(name)) {
      throw new ModelNotFoundError(reference, 'its name is not allowed by MODEL_ALLOW');
    }
    if (!this.config.loadOnDemand) {
      throw new ModelNotFoundError(
        reference,
        'it is not among MODELS and loading on demand is off',
      );
    }
  }
}
