import { EventEmitter2, EventEmitterReadinessWatcher } from '@nestjs/event-emitter';
import { EventBus } from '../../common/events/event-bus';
import { ColdEventName, EventMap, HotEventName } from '../../common/events/event-map';
import { HotListeners } from '../../common/events/hot-listeners';
import {
  ModelReference,
  formatModelReference,
  parseModelReference,
} from '../../common/model-reference';
import { ModelsConfig } from '../../config/models.config';
import { ModelVersion } from '../../mlflow/mlflow.types';
import { LoadedModel } from '../loaded-model';
import { LoadedVersions } from '../loaded-versions.service';
import { ModelLoadError, ModelNotFoundError } from '../model.errors';
import { ModelBindings } from '../model-bindings.service';
import { ModelLoader } from '../model-loader.service';
import { ModelRegistry } from '../model-registry.service';
import { VersionVetoes } from '../version-vetoes';
import { ModelReloader } from '../model-reloader.service';
import { ModelResolver } from '../model-resolver.service';
import { ModelRuntime, RuntimeAnswer } from '../runtimes/model-runtime';
import { TensorSpec } from '../tensor.types';

/** Fakes for the model lifecycle's specs: MLflow, the loader and the runtimes, in memory. */

export class FakeRuntime implements ModelRuntime {
  readonly kind = 'onnx';
  readonly platform = 'onnxruntime_onnx';
  readonly inputs: readonly TensorSpec[] = [];
  readonly outputs: readonly TensorSpec[] = [];
  disposed = false;

  predict(): Promise<RuntimeAnswer> {
    return Promise.resolve({ outputs: [] });
  }

  dispose(): Promise<void> {
    this.disposed = true;
    return Promise.resolve();
  }
}

/** Something that holds a call until the test lets it go. */
export class Gate {
  private opened?: () => void;
  readonly closed = new Promise<void>((resolve) => (this.opened = resolve));

  open(): void {
    this.opened?.();
  }
}

/** MLflow as the registry sees it: what each alias names now, and every reference asked about. */
export class FakeResolver implements Pick<ModelResolver, 'resolve'> {
  readonly names = new Map<string, string>();
  readonly asked: ModelReference[] = [];
  private gate?: Gate;

  /** The next resolve call waits until the returned gate is opened. */
  holdNext(): Gate {
    return (this.gate = new Gate());
  }

  async resolve(ref: ModelReference): Promise<ModelVersion> {
    this.asked.push(ref);
    const gate = this.gate;
    this.gate = undefined;
    await gate?.closed;
    const version =
      ref.selector.kind === 'version'
        ? ref.selector.version
        : this.names.get(formatModelReference(ref));
    if (!version) throw new ModelNotFoundError(formatModelReference(ref));
    return {
      name: ref.name,
      version,
      stage: 'None',
      status: 'READY',
      aliases: [],
      tags: {},
    };
  }
}

/** Loads instantly into a fake runtime, except the versions told to fail; `sizes` sets a version's bytes. */
export class FakeLoader implements Pick<ModelLoader, 'load' | 'unload'> {
  readonly loaded: string[] = [];
  /** Versions unloaded, in order. */
  readonly unloaded: string[] = [];
  readonly runtimes = new Map<string, FakeRuntime>();
  readonly failing = new Set<string>();
  readonly sizes = new Map<string, number>();
  private gate?: Gate;

  /** The next load waits until the returned gate is opened. */
  holdNext(): Gate {
    return (this.gate = new Gate());
  }

  async unload(model: LoadedModel): Promise<void> {
    this.unloaded.push(model.key);
    await model.runtime.dispose();
  }

  async load(version: ModelVersion): Promise<LoadedModel> {
    const key = `${version.name}/${version.version}`;
    const gate = this.gate;
    this.gate = undefined;
    await gate?.closed;
    if (this.failing.has(key)) {
      throw new ModelLoadError(version.name, version.version, 'bad files');
    }
    this.loaded.push(key);
    const runtime = new FakeRuntime();
    this.runtimes.set(key, runtime);
    return new LoadedModel({
      name: version.name,
      version: version.version,
      flavor: 'onnx',
      runtime,
      directory: `/tmp/${key}`,
      sizeBytes: this.sizes.get(key) ?? 1_000,
      fromCache: true,
      loadDurationMs: 1,
    });
  }
}

export function configServing(
  references: string[],
  overrides: Partial<ModelsConfig> = {},
): ModelsConfig {
  return {
    models: references.map((reference) => parseModelReference(`models:/${reference}`)),
    cacheDir: '.cache/models',
    maxModels: 16,
    maxBytes: 2 * 1024 ** 3,
    diskCacheMaxBytes: 10 * 1024 ** 3,
    defaultAlias: 'champion',
    loadOnDemand: false,
    allow: [],
    refreshIntervalMs: 0,
    drainTimeoutMs: 1_000,
    onnx: { intraOpThreads: 0, spinning: false },
    onnxAccelerate: { mode: 'off', tolerance: 1e-5, checkRows: 64, timeoutMs: 180_000 },
    admission: { maxConcurrent: 4, maxQueued: 64 },
    batching: { maxRows: 256, maxDelayMs: 2, maxQueued: 256, models: {} },
    scoringServers: {},
    scoringServerTimeoutMs: 30_000,
    scoringServerCoolDownMs: 10_000,
    ...overrides,
  };
}

/** A real event bus over a real emitter and hot listeners, its listeners attached (as after bootstrap). */
export function eventBus(emitter = new EventEmitter2(), hot = new HotListeners()): EventBus {
  const watcher = new EventEmitterReadinessWatcher();
  watcher.setReady();
  return new EventBus(emitter, watcher, hot);
}

/** Every event of `names` emitted on `emitter`, in order (the hot events never reach it: recordHotEvents). */
export function recordEvents<K extends ColdEventName>(
  emitter: EventEmitter2,
  ...names: K[]
): { event: K; payload: EventMap[K] }[] {
  const seen: { event: K; payload: EventMap[K] }[] = [];
  for (const event of names) {
    emitter.on(event, (payload: EventMap[K]) => seen.push({ event, payload }));
  }
  return seen;
}

/** Every hot event of `names` dispatched by `hot`, in order. */
export function recordHotEvents<K extends HotEventName>(
  hot: HotListeners,
  ...names: K[]
): { event: K; payload: EventMap[K] }[] {
  const seen: { event: K; payload: EventMap[K] }[] = [];
  for (const event of names) {
    hot.add(event, (payload: EventMap[K]) => seen.push({ event, payload }));
  }
  return seen;
}

export interface RegistryParts {
  registry: ModelRegistry;
  bindings: ModelBindings;
  versions: LoadedVersions;
  reloader: ModelReloader;
  emitter: EventEmitter2;
  vetoes: VersionVetoes;
}

/** The registry facade over its real parts, with MLflow and the loader faked. */
export function registryOver(
  resolver: FakeResolver,
  loader: FakeLoader,
  config: ModelsConfig,
  rollout?: { standbyMs: number },
): RegistryParts {
  const emitter = new EventEmitter2();
  const events = eventBus(emitter);
  const vetoes = new VersionVetoes();
  const bindings = new ModelBindings(vetoes);
  const versions = new LoadedVersions(loader, bindings, events, config);
  const reloader = new ModelReloader(resolver, versions, bindings, events, vetoes, rollout);
  const registry = new ModelRegistry(bindings, versions, reloader, config);
  return { registry, bindings, versions, reloader, emitter, vetoes };
}

export async function flush(turns = 5): Promise<void> {
  for (let turn = 0; turn < turns; turn++) await new Promise((resolve) => setImmediate(resolve));
}
