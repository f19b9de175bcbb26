import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { ClusterService } from '../cluster/cluster.service';
import { MemoryStateStore } from '../cluster/memory-state-store';
import { STATE_STORE, StateStore, StoreUnavailableError } from '../cluster/state-store';
import { formatModelReference } from '../common/model-reference';
import { ModelsConfig, modelsConfig } from '../config/models.config';
import { TrainingConfig, trainingConfig } from '../config/training.config';
import { ModelRegistry, RegistryFollowOutcome } from '../models/model-registry.service';
import { MlflowEventIn, referencesOf } from './mlflow-webhook.events';

export interface MlflowDelivery extends MlflowEventIn {
  /** `X-MLflow-Delivery-Id`, already verified with the signature. */
  deliveryId: string;
}

export interface MlflowWebhookOutcome {
  accepted: true;
  /** `entity.action`, e.g. `model_version_alias.created`. */
  event: string;
  deliveryId: string;
  /** The same delivery arrived before (MLflow retries): it was not acted on again. */
  duplicate: boolean;
  /** The instance that acted on it. */
  handledBy: string;
  /** Why nothing was done, for events that move no served version. */
  ignored?: string;
  /** The references the event may have moved, canonical (`iris@champion`). */
  references: string[];
  /** What was done about them; absent for duplicates and ignored events. */
  followed?: RegistryFollowOutcome;
}

/**
 * Acts on MLflow registry webhooks (the signature is checked before, by
 * MlflowWebhookGuard): the references an event may have moved are reloaded
 * here, and the reload broadcast takes each new version to every other
 * instance (references served only elsewhere are resolved and announced).
 * A delivery id is acted on once across the cluster: MLflow retries a
 * delivery on 5xx or a timeout, with the same id, and the balancer may send
 * the retry elsewhere. The id is remembered for twice the timestamp
 * tolerance, after which a replay is refused as stale anyway. Delivery is
 * fire-and-forget on MLflow's side: the refresh job's polling stays the
 * safety net.
 */
@Injectable()
export class MlflowWebhookHandler implements OnModuleDestroy {
  private readonly logger = new Logger(MlflowWebhookHandler.name);
  /** Delivery ids seen while the shared store was unreachable. */
  private readonly local = new MemoryStateStore();

  constructor(
    private readonly registry: ModelRegistry,
    @Inject(STATE_STORE) private readonly store: StateStore,
    private readonly cluster: ClusterService,
    @Inject(modelsConfig.KEY) private readonly models: Pick<ModelsConfig, 'defaultAlias'>,
    @Inject(trainingConfig.KEY) private readonly training: Pick<TrainingConfig, 'mlflowWebhook'>,
  ) {}

  async onModuleDestroy(): Promise<void> {
    await this.local.stop();
  }

  async handle(delivery: MlflowDelivery): Promise<MlflowWebhookOutcome> {
    const event = `${delivery.entity}.${delivery.action}`;
    const me = this.cluster.instanceId;
    const asked = referencesOf(delivery, this.models.defaultAlias);
    const refs = asked.kind === 'follow' ? asked.refs : [];
    const base = {
      accepted: true as const,
      event,
      deliveryId: delivery.deliveryId,
      references: refs.map(formatModelReference),
    };
    const key = `webhooks:mlflow:${delivery.deliveryId}`;
    const { store, claimed } = await this.claim(key, me);
    if (!claimed) {
      const by = (await store.get(key).catch(() => undefined)) ?? 'another instance';
      this.logger.log(`MLflow delivery ${delivery.deliveryId} (${event}) again: ignored`);
      return { ...base, duplicate: true, handledBy: by };
    }
    if (asked.kind === 'ignored') {
      this.logger.debug(`MLflow delivery ${delivery.deliveryId}: ${asked.reason}`);
      return { ...base, duplicate: false, handledBy: me, ignored: asked.reason };
    }
    this.logger.log(
      `MLflow ${event} for ${base.references.join(', ')} (delivery ${delivery.deliveryId})`,
    );
    try {
      const followed = await this.registry.followRegistry(
        refs,
        `mlflow webhook ${event} ${delivery.deliveryId}`,
      );
      return { ...base, duplicate: false, handledBy: me, followed };
    } catch (error) {
      // Let MLflow's retry act on it, here or on another instance.
      await store.deleteIfHolds(key, me).catch(() => undefined);
      throw error;
    }
  }

  private async claim(key: string, me: string): Promise<{ store: StateStore; claimed: boolean }> {
    const ttlMs = 2 * this.training.mlflowWebhook.toleranceSeconds * 1000;
    const store = this.store.connected ? this.store : this.local;
    try {
      return { store, claimed: await store.setIfAbsent(key, me, ttlMs) };
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      return { store: this.local, claimed: await this.local.setIfAbsent(key, me, ttlMs) };
    }
  }
}
