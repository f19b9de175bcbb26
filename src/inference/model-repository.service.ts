import { Injectable, Logger } from '@nestjs/common';
import { EventBus } from '../common/events/event-bus';
import { InvalidModelReferenceError, parseModelReference } from '../common/model-reference';
import { ModelLoadError, ModelNotReadyError } from '../models/model.errors';
import { ModelRegistry } from '../models/model-registry.service';
import { ModelView } from '../models/model-view';

/** One model version in the repository index, as Triton and MLServer list it. */
export interface RepositoryEntry {
  name: string;
  /** Absent while nothing is loaded for the reference. */
  version?: string;
  state: 'READY' | 'LOADING' | 'UNAVAILABLE';
  /** Why it is not READY; empty when it is. */
  reason: string;
}

export interface IndexOptions {
  /** Only the versions that can answer now. */
  ready?: boolean;
}

const STATES: Record<ModelView['state'], RepositoryEntry['state']> = {
  ready: 'READY',
  loading: 'LOADING',
  failed: 'UNAVAILABLE',
};

/**
 * The Open Inference model repository extension (Triton's and MLServer's
 * `/v2/repository/*`), for REST and gRPC alike: what is served, load, unload.
 * Loads go through the registry's reload path, so MODEL_ALLOW and loading on
 * demand decide as they do for a first request; a model of MODELS cannot be
 * unloaded. What a caller changes here, the other instances follow
 * (`repository.changed`, told on by the reload broadcast).
 */
@Injectable()
export class ModelRepository {
  private readonly logger = new Logger(ModelRepository.name);

  constructor(
    private readonly registry: ModelRegistry,
    private readonly events: EventBus,
  ) {}

  /** One entry per served model version (two references on one version are one entry). */
  index(options: IndexOptions = {}): RepositoryEntry[] {
    const entries = new Map<string, RepositoryEntry>();
    for (const view of this.registry.list()) {
      const entry = entryOf(view);
      if (options.ready && entry.state !== 'READY') continue;
      const key = `${entry.name}/${entry.version ?? `(${view.key})`}`;
      const known = entries.get(key);
      if (!known || rank(entry) < rank(known)) entries.set(key, entry);
    }
    return [...entries.values()].sort(
      (a, b) => a.name.localeCompare(b.name) || (a.version ?? '').localeCompare(b.version ?? ''),
    );
  }

  /**
   * Loads the model `name`, or follows the registry for it when it is served
   * (as a reload does); resolves once it serves.
   * @throws ModelNotFoundError when it may not be served here or MLflow has no such model.
   * @throws ModelLoadError when its version failed to load (an older version, if any, serves on).
   * @throws ModelNotReadyError when the registry could not be asked.
   * @throws InvalidModelReferenceError when `name` is not a model name (an alias or a version with it).
   */
  async load(name: string): Promise<void> {
    checkModelName(name);
    const outcomes = await this.registry.loadModel(name, 'repository load');
    const failed = outcomes.find((o) => o.status === 'failed');
    if (failed) {
      const reason = failed.error ?? 'unknown error';
      throw failed.to
        ? new ModelLoadError(name, failed.to, reason)
        : new ModelNotReadyError(failed.reference, reason);
    }
    this.events.emit('repository.changed', { action: 'load', name, trigger: 'repository load' });
  }

  /**
   * Stops serving the model `name`: its references are unbound and their
   * versions unloaded once their requests are done. Nothing to do when it is
   * not served.
   * @throws ModelPinnedError when MODELS lists it.
   * @throws ModelNotFoundError when it is not served and may not be.
   * @throws InvalidModelReferenceError when `name` is not a model name.
   */
  async unload(name: string): Promise<void> {
    checkModelName(name);
    const unloaded = await this.registry.unloadModel(name);
    this.logger.log(
      `unloaded ${name} (repository API)${unloaded.length ? `: ${unloaded.join(', ')}` : ': it was not loaded'}`,
    );
    this.events.emit('repository.changed', {
      action: 'unload',
      name,
      trigger: 'repository unload',
    });
  }
}

/** The repository names models, never references: `iris`, not `iris@champion` nor `iris/3`. */
function checkModelName(name: string): void {
  const ref = parseModelReference(name);
  if (ref.selector.kind !== 'default' || ref.name !== name) {
    throw new InvalidModelReferenceError(
      name,
      'the repository API takes a registered model name, without an alias or a version',
    );
  }
}

function entryOf(view: ModelView): RepositoryEntry {
  const state = STATES[view.state];
  return {
    name: view.name,
    version: view.version,
    state,
    reason: state === 'READY' ? '' : (view.lastError?.message ?? 'loading'),
  };
}

/** READY before LOADING before UNAVAILABLE, when two references tell of one version. */
function rank(entry: RepositoryEntry): number {
  return ['READY', 'LOADING', 'UNAVAILABLE'].indexOf(entry.state);
}
