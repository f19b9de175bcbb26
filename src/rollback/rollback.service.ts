import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { UpstreamUnauthorizedError } from '../common/upstream/upstream.error';
import { messageOf } from '../common/values';
import { RollbackConfig, rollbackConfig } from '../config/rollback.config';
import { ClusterService } from '../cluster/cluster.service';
import { STATE_STORE, StateStore } from '../cluster/state-store';
import { ModelRegistry } from '../models/model-registry.service';
import { VersionVeto } from '../models/version-vetoes';
import { RollbackActions } from './rollback-actions';
import { RollbackLock } from './rollback-lock';
import { EventBus, OnAppEvent } from '../common/events/event-bus';
import type { ModelVetoLiftedEvent, VetoCause } from '../common/events/event-map';
import type { RollbackRequest } from './rollback-request';
import { SharedVetoes } from './shared-vetoes';

/** What one breach led to, for logs and tests. */
export type RollbackOutcome =
  'rolled-back' | 'vetoed' | 'disabled' | 'held-elsewhere' | 'cooling-down' | 'failed';

/**
 * Acts on a breach: takes the reference's lock (one instance acts per
 * cool-down), moves the alias back in MLflow, tags both versions and logs the
 * figures to the bad version's run, then reloads the reference here, which
 * the reload broadcast takes to every instance. When the move fails — MLflow
 * refuses it (401/403: no registry write credentials) or cannot answer (5xx,
 * timeout, down) — it vetoes the bad version instead: every instance stops
 * serving it and keeps the one it replaced, while the alias still names it in
 * MLflow — and says so and why (`model.vetoed`, logs).
 */
@Injectable()
export class RollbackService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(RollbackService.name);
  private readonly lock: RollbackLock;
  private readonly vetoes: SharedVetoes;

  constructor(
    @Inject(rollbackConfig.KEY) private readonly config: RollbackConfig,
    @Inject(RollbackActions)
    private readonly actions: Pick<RollbackActions, 'moveAlias' | 'record' | 'bookkeeping'>,
    @Inject(ModelRegistry)
    private readonly registry: Pick<ModelRegistry, 'veto' | 'reload' | 'liftVeto'>,
    private readonly events: EventBus,
    @Inject(ClusterService) cluster: Pick<ClusterService, 'instanceId'>,
    @Inject(STATE_STORE) store: StateStore,
  ) {
    this.lock = new RollbackLock(store, cluster.instanceId, config.cooldownMs);
    this.vetoes = new SharedVetoes(
      store,
      (veto, trigger) => this.registry.veto(veto, trigger),
      (reference, version, trigger) =>
        this.registry.liftVeto(reference, trigger, { quiet: true, version }),
    );
  }

  /** Before the first loads (they start at bootstrap): a vetoed version is not loaded even once. */
  async onModuleInit(): Promise<void> {
    await this.vetoes.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.vetoes.stop();
  }

  /**
   * A veto lapsed or was lifted here: the record goes, and the peers lift it
   * too. A store that is away keeps the record; an instance that restarts
   * then applies it until the reference is resolved again (and lapses it).
   */
  @OnAppEvent('model.vetoLifted')
  async vetoLifted(e: ModelVetoLiftedEvent): Promise<void> {
    try {
      await this.vetoes.withdraw(e.reference, e.version);
    } catch (error) {
      this.logger.error(
        `${e.reference}: the veto of v${e.version} is lifted here only: ${messageOf(error)}`,
      );
    }
  }

  async rollBack(request: RollbackRequest): Promise<RollbackOutcome> {
    const { reference, bad, good } = request;
    if (!this.config.rollback) {
      this.logger.warn(`${reference}: ROLLBACK is off; v${bad} keeps serving`);
      return 'disabled';
    }
    const lock = await this.lock.acquire(reference);
    if (lock === 'held' || lock === 'cooling') {
      this.logger.log(`${reference}: another rollback of it is under way or just done (${lock})`);
      return lock === 'held' ? 'held-elsewhere' : 'cooling-down';
    }
    const at = new Date();
    try {
      await this.actions.moveAlias(request);
    } catch (error) {
      // Anything but a refusal (5xx, timeout, refused connection) vetoes too: the
      // lock holds the reference for the cool-down, so nothing would try again
      // while the bad version served.
      const cause =
        error instanceof UpstreamUnauthorizedError ? 'mlflow refused' : 'mlflow unavailable';
      return this.veto(request, at, error, cause);
    }
    this.logger.warn(
      `${reference}: moved @${request.alias} back from v${bad} to v${good} in MLflow: ${request.reason}`,
    );
    const incomplete = await this.actions.record(request, at);
    this.events.emit('model.rolledBack', {
      reference,
      name: request.name,
      from: bad,
      to: good,
      reason: request.reason,
      figures: request.figures,
      baseline: request.baseline,
      incomplete,
    });
    // Resolving here tells the peers (the reload broadcast): every instance follows at once.
    const outcome = await this.registry.reload(reference, `rollback of v${bad}`);
    if (outcome?.status === 'failed') {
      this.logger.error(
        `${reference}: rolled back in MLflow but not reloaded here: ${outcome.error}`,
      );
    }
    return 'rolled-back';
  }

  private async veto(
    request: RollbackRequest,
    at: Date,
    error: unknown,
    cause: VetoCause,
  ): Promise<RollbackOutcome> {
    const veto: VersionVeto = {
      reference: request.reference,
      version: request.bad,
      fallback: request.good,
      reason: request.reason,
      at,
    };
    const what =
      cause === 'mlflow refused'
        ? `MLflow refused to move @${request.alias} back (${messageOf(error)})`
        : `MLflow could not be reached to move @${request.alias} back (${messageOf(error)})`;
    const todo =
      cause === 'mlflow refused'
        ? `move the alias in MLflow to v${request.good}`
        : `once MLflow answers, move the alias in MLflow to v${request.good}`;
    this.logger.error(
      `${request.reference}: ${what}; vetoing v${request.bad} on every instance, ` +
        `v${request.good} serves — ${todo} (the veto then lapses)`,
    );
    // Here first, so this instance stops serving it even if the store is away.
    await this.registry.veto(veto, 'rollback veto');
    try {
      await this.vetoes.publish(veto);
    } catch (publishError) {
      this.logger.error(
        `${request.reference}: the veto of v${request.bad} holds here only: ${messageOf(publishError)}`,
      );
    }
    this.events.emit('model.vetoed', {
      reference: request.reference,
      name: request.name,
      version: request.bad,
      fallback: request.good,
      reason: request.reason,
      cause,
      // Nothing was written: the alias move comes first, and the rest waits on it.
      incomplete: this.actions.bookkeeping(request),
    });
    return 'vetoed';
  }
}
