import { Inject, Injectable } from '@nestjs/common';
import { ModelsConfig, modelsConfig } from '../config/models.config';
import { MlflowClient } from '../mlflow/mlflow.client';
import { DatasetInput, ModelVersion, Run } from '../mlflow/mlflow.types';
import { CacheStats, ModelRegistry, ReloadEvent } from './model-registry.service';
import { ModelLineage } from './model-lineage';
import { ModelView } from './model-view';
import { ModelSignature } from './model-signature.types';
import { WarmupOutcome } from './model-warmup';
import { redactText } from '../common/logging/redact';
import { Rollouts } from './rollouts/rollouts.service';
import { RolloutView } from './rollouts/rollout.types';
import { RollbackRecord, rollbackRecord } from '../common/rollback-tags';

export interface LoadedModelView {
  reference: string;
  name: string;
  state: string;
  pinned: boolean;
  /** A rollout's challenger. */
  challenger: boolean;
  version?: string;
  flavor?: string;
  runtime?: string;
  /** Why that runtime serves the version (e.g. why it was or was not converted to ONNX). */
  runtimeReason?: string;
  signature?: ModelSignature;
  loadedAt?: string;
  loadDurationMs?: number;
  sizeBytes?: number;
  fromCache?: boolean;
  warmup?: WarmupOutcome;
  requests?: number;
  failures?: number;
  lastCheckedAt?: string;
  lineage?: ModelLineage;
  lastError?: { message: string; version?: string; at: string };
  /** A version vetoed for this reference here (the rollback watch could not move the alias back). */
  veto?: { version: string; fallback: string; reason: string; at: string };
}

export interface LoadedModelsView {
  models: LoadedModelView[];
  cache: CacheStats & {
    loadedVersions: number;
    loadedBytes: number;
    maxModels: number;
    maxBytes: number;
  };
  recentReloads: ReloadEvent[];
}

export interface RegistryVersionView {
  version: string;
  stage: string;
  status: string;
  aliases: string[];
  source?: string;
  runId?: string;
  createdAt?: string;
  loadedHere: boolean;
  /** For a version loaded here: the runtime serving it, and why that one. */
  runtime?: string;
  runtimeReason?: string;
  run?:
    | {
        params: Record<string, string>;
        metrics: Record<string, number>;
        datasets: DatasetInput[];
        status?: string;
      }
    | { error: string };
  /** For a version loaded here: its lineage as read when it loaded. */
  lineage?: ModelLineage;
  /** What its tags say of a rollback to or from it (src/rollback/). */
  rollback?: RollbackRecord;
  /** References served here that veto it (the alias names it, something else serves). */
  vetoedFor?: string[];
}

/** Versions whose training runs are read from MLflow tracking, newest first. */
const RUNS_READ = 20;

/** The models API's views: what this server has loaded, and what the registry holds. */
@Injectable()
export class ModelCatalog {
  constructor(
    private readonly registry: ModelRegistry,
    private readonly mlflow: MlflowClient,
    @Inject(modelsConfig.KEY) private readonly config: ModelsConfig,
    private readonly rollouts: Rollouts,
  ) {}

  loaded(): LoadedModelsView {
    const views = this.registry.list();
    return {
      models: views.map(loadedModelView),
      cache: {
        ...this.registry.stats,
        loadedVersions: new Set(views.flatMap((m) => (m.versionKey ? [m.versionKey] : []))).size,
        loadedBytes: this.registry.loadedBytes(),
        maxModels: this.config.maxModels,
        maxBytes: this.config.maxBytes,
      },
      recentReloads: [...this.registry.recentReloads()],
    };
  }

  /** The registry's view of one model, with each version's training run (params, metrics). */
  async registered(name: string): Promise<unknown> {
    this.registry.assertServable(name);
    const model = await this.mlflow.getRegisteredModel(name);
    const versions: ModelVersion[] = [];
    for await (const version of this.mlflow.allModelVersions(name)) versions.push(version);
    versions.sort((a, b) => Number(b.version) - Number(a.version));
    const loadedHere = new Map(
      this.registry.list().flatMap((m) => (m.version && m.name === name ? [[m.version, m]] : [])),
    );
    const views = await Promise.all(
      versions.map(async (v, index): Promise<RegistryVersionView> => ({
        version: v.version,
        stage: v.stage,
        status: v.status,
        aliases: Object.entries(model.aliases)
          .filter(([, version]) => version === v.version)
          .map(([alias]) => alias),
        source: publicSource(v.source),
        runId: v.runId,
        createdAt: v.createdAt?.toISOString(),
        loadedHere: loadedHere.has(v.version),
        runtime: loadedHere.get(v.version)?.runtime,
        runtimeReason: loadedHere.get(v.version)?.runtimeReason,
        lineage: loadedHere.get(v.version)?.lineage,
        run: v.runId && index < RUNS_READ ? await this.runSummary(v.runId) : undefined,
        rollback: rollbackRecord(v.tags),
        vetoedFor: vetoedFor(this.registry.list(), name, v.version),
      })),
    );
    return {
      name: model.name,
      description: model.description,
      aliases: model.aliases,
      tags: model.tags,
      createdAt: model.createdAt?.toISOString(),
      updatedAt: model.updatedAt?.toISOString(),
      rollout: rolloutJson(this.rollouts.view(name)),
      versions: views,
    };
  }

  private async runSummary(runId: string): Promise<RegistryVersionView['run']> {
    try {
      const run: Run = await this.mlflow.getRun(runId);
      return {
        params: run.params,
        metrics: run.metrics,
        datasets: run.datasets,
        status: run.status,
      };
    } catch (error) {
      return { error: error instanceof Error ? error.message : String(error) };
    }
  }
}

function loadedModelView(m: ModelView): LoadedModelView {
  return {
    reference: m.key,
    name: m.name,
    state: m.state,
    pinned: m.pinned,
    challenger: m.challenger,
    version: m.version,
    flavor: m.flavor,
    runtime: m.runtime,
    runtimeReason: m.runtimeReason,
    signature: m.signature,
    loadedAt: m.loadedAt?.toISOString(),
    loadDurationMs: m.loadDurationMs,
    sizeBytes: m.sizeBytes,
    fromCache: m.fromCache,
    warmup: m.warmup,
    requests: m.requests,
    failures: m.failures,
    lastCheckedAt: m.lastCheckedAt?.toISOString(),
    lineage: m.lineage,
    lastError: m.lastError && { ...m.lastError, at: m.lastError.at.toISOString() },
    veto: m.veto && {
      version: m.veto.version,
      fallback: m.veto.fallback,
      reason: m.veto.reason,
      at: m.veto.at.toISOString(),
    },
  };
}

/** A rollout as answers show it (dates as text); absent when the model has none. */
function rolloutJson(view: RolloutView | undefined): unknown {
  return view && { ...view, tagsReadAt: view.tagsReadAt?.toISOString() };
}

function vetoedFor(
  views: readonly ModelView[],
  name: string,
  version: string,
): string[] | undefined {
  const references = views
    .filter((m) => m.name === name && m.veto?.version === version)
    .map((m) => m.key);
  return references.length > 0 ? references : undefined;
}

/** A version's source as answers show it: no credentials, and no path on MLflow's disk. */
function publicSource(source: string | undefined): string | undefined {
  if (source === undefined || source.startsWith('/') || source.startsWith('file:'))
    return undefined;
  return redactText(source);
}
