import { Inject, Injectable, Logger } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { EventBus } from '../common/events/event-bus';
import { messageOf } from '../common/values';
import { ModelsConfig, modelsConfig } from '../config/models.config';
import { ModelVersion } from '../mlflow/mlflow.types';
import { LoadedModel } from './loaded-model';
import { ModelBindings } from './model-bindings.service';
import { ModelLoader } from './model-loader.service';

export interface LoadedVersionStats {
  loads: number;
  loadFailures: number;
  evictions: number;
}

/**
 * The model versions in memory, by `name/version`: each loaded once however
 * many references ask for it at the same time, kept within MODEL_CACHE_MAX_MODELS
 * and MODEL_CACHE_MAX_BYTES (least recently used out first), drained and
 * unloaded when replaced or evicted.
 *
 * Hand-written rather than lru-cache: eviction here must skip entries, and
 * lru-cache always evicts its least recently used entry. A version that a
 * binding of MODELS serves is never evicted (MODELS promises it is loaded),
 * nor one with requests in flight (disposing it would fail them); the cache
 * may stay over its bounds until those become evictable, and the next load
 * evicts again. Unloading also waits for a drain, which lru-cache's
 * synchronous `dispose` cannot.
 */
@Injectable()
export class LoadedVersions {
  private readonly logger = new Logger(LoadedVersions.name);
  private readonly loaded = new Map<string, LoadedModel>();
  private readonly loads = new Map<string, Promise<LoadedModel>>();
  readonly stats: LoadedVersionStats = { loads: 0, loadFailures: 0, evictions: 0 };

  constructor(
    @Inject(ModelLoader) private readonly loader: Pick<ModelLoader, 'load' | 'unload'>,
    private readonly bindings: ModelBindings,
    private readonly events: EventBus,
    @Inject(modelsConfig.KEY)
    private readonly config: Pick<ModelsConfig, 'maxModels' | 'maxBytes' | 'drainTimeoutMs'>,
  ) {}

  get count(): number {
    return this.loaded.size;
  }

  bytes(): number {
    let total = 0;
    for (const model of this.loaded.values()) total += model.info.sizeBytes;
    return total;
  }

  /** Loads a version once however many references ask for it at the same time. */
  load(version: ModelVersion): Promise<LoadedModel> {
    const key = `${version.name}/${version.version}`;
    const existing = this.loaded.get(key);
    if (existing) return Promise.resolve(existing);
    let load = this.loads.get(key);
    if (!load) {
      const started = performance.now();
      const { name } = version;
      // The loader holds the version's files in the disk cache until it unloads them.
      load = this.loader
        .load(version)
        .then((model) => {
          const durationMs = performance.now() - started;
          this.events.emit('model.loaded', { name, version: version.version, durationMs });
          this.loaded.set(key, model);
          this.stats.loads++;
          this.evictBeyondBounds(model);
          return model;
        })
        .catch((error: unknown) => {
          this.stats.loadFailures++;
          const durationMs = performance.now() - started;
          const message = messageOf(error);
          this.events.emit('model.failed', {
            name,
            version: version.version,
            durationMs,
            error: message,
          });
          throw error;
        })
        .finally(() => this.loads.delete(key));
      this.loads.set(key, load);
    }
    return load;
  }

  /**
   * Unloads a replaced or unbound version once no binding uses it and its
   * requests are done (or the drain timed out).
   * @returns whether it was unloaded here (false: a binding still uses it, or
   * it was retired or evicted already).
   */
  async retireIfUnused(model: LoadedModel): Promise<boolean> {
    if (this.bindings.uses(model) || this.loaded.get(model.key) !== model) return false;
    this.loaded.delete(model.key);
    await this.unload(model);
    return true;
  }

  /** Unloads everything at once (the app is closing; requests are done by then). */
  async disposeAll(): Promise<void> {
    const models = [...this.loaded.values()];
    this.loaded.clear();
    await Promise.allSettled(models.map((m) => this.loader.unload(m)));
  }

  private evictBeyondBounds(keep: LoadedModel): void {
    while (this.loaded.size > this.config.maxModels || this.bytes() > this.config.maxBytes) {
      const victim = [...this.loaded.values()]
        .filter((m) => m !== keep && !m.busy && !this.bindings.pins(m))
        .sort((a, b) => a.lastUsedAt - b.lastUsedAt)[0];
      if (!victim) {
        this.logger.warn(
          'model cache is over its bounds, but every other loaded model is pinned by MODELS or answering requests',
        );
        return;
      }
      this.bindings.unbind(victim);
      this.loaded.delete(victim.key);
      this.stats.evictions++;
      this.logger.log(`evicted ${victim.key} (least recently used)`);
      this.events.emit('model.evicted', { name: victim.name, version: victim.version });
      void this.unload(victim);
    }
  }

  private async unload(model: LoadedModel): Promise<void> {
    const drained = await model.drain(this.config.drainTimeoutMs);
    if (!drained) {
      this.logger.warn(
        `${model.key}: requests still running after the drain timeout; unloading anyway`,
      );
    }
    await this.loader
      .unload(model)
      .catch((error: unknown) => this.logger.warn(`${model.key}: ${messageOf(error)}`));
  }
}
