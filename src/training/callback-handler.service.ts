import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { ClusterService } from '../cluster/cluster.service';
import { MemoryStateStore } from '../cluster/memory-state-store';
import { STATE_STORE, StateStore, StoreUnavailableError } from '../cluster/state-store';
import { inSpan } from '../common/tracing/spans';
import { ModelRegistry, ReloadOutcome } from '../models/model-registry.service';
import { AirflowCallbackDto } from './airflow-callback.dto';

export interface CallbackOutcome {
  accepted: true;
  /** The same callback arrived before; it was not acted on again. */
  duplicate: boolean;
  /** The instance that acted on it. */
  handledBy: string;
  /** Its reloads; empty while that instance is still at it. */
  outcomes: ReloadOutcome[];
}

/** How long one instance may take a callback before another may (its holder died). */
const HANDLING_TTL_MS = 60_000;
/** How long a handled callback is remembered; Airflow retries within minutes. */
const DONE_TTL_MS = 24 * 3600_000;
/** How long a duplicate waits for the instance handling the original. */
const WAIT_FOR_HOLDER_MS = 10_000;
const POLL_MS = 50;

type Claim =
  { state: 'handling'; by: string } | { state: 'done'; by: string; outcomes: ReloadOutcome[] };

/**
 * Acts on the retraining DAG's "new version ready" callback: reload the model
 * so a moved alias is served at once (the reload broadcast takes it to every
 * other instance). Idempotent across the cluster: Airflow retries a task
 * whose answer it did not see, and the balancer may send the retry to another
 * instance; the first to claim the callback in the state store acts on it (a
 * claim that expires, should that instance die), the others answer with its
 * outcome. While the store is unreachable the claim is kept in this process.
 */
@Injectable()
export class CallbackHandler implements OnModuleDestroy {
  private readonly logger = new Logger(CallbackHandler.name);
  /** Claims made while the shared store was unreachable. */
  private readonly local = new MemoryStateStore();
  /** Callbacks this process is acting on now, so duplicates here just wait. */
  private readonly inFlight = new Map<string, Promise<CallbackOutcome>>();

  constructor(
    private readonly registry: ModelRegistry,
    @Inject(STATE_STORE) private readonly store: StateStore,
    private readonly cluster: ClusterService,
  ) {}

  async onModuleDestroy(): Promise<void> {
    await this.local.stop();
  }

  /**
   * In an `airflow.callback` span: the request's server span is its parent,
   * and that continues the traceparent the DAG run was given at its trigger.
   */
  handle(callback: AirflowCallbackDto): Promise<CallbackOutcome> {
    const attributes = {
      'modelgate.dag.id': callback.dag_id,
      'modelgate.dag.run_id': callback.dag_run_id,
      'modelgate.model.name': callback.model_name,
      'modelgate.model.version': callback.version,
    };
    return inSpan('airflow.callback', attributes, async (span) => {
      const outcome = await this.handleOnce(callback);
      span.setAttribute('modelgate.callback.duplicate', outcome.duplicate);
      return outcome;
    });
  }

  private async handleOnce(callback: AirflowCallbackDto): Promise<CallbackOutcome> {
    const key = `callbacks:${callback.dag_id}/${callback.dag_run_id}/${callback.model_name}/${callback.version}`;
    const here = this.inFlight.get(key);
    if (here) return { ...(await here), duplicate: true };
    const handling = this.claimAndHandle(key, callback).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, handling);
    return handling;
  }

  private async claimAndHandle(
    key: string,
    callback: AirflowCallbackDto,
  ): Promise<CallbackOutcome> {
    const me = this.cluster.instanceId;
    const claim = JSON.stringify({ state: 'handling', by: me } satisfies Claim);
    let store = this.store.connected ? this.store : this.local;
    let claimed: boolean;
    try {
      claimed = await store.setIfAbsent(key, claim, HANDLING_TTL_MS);
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      store = this.local;
      claimed = await store.setIfAbsent(key, claim, HANDLING_TTL_MS);
    }
    if (!claimed) return this.outcomeOfEarlier(store, key, callback);

    this.logger.log(
      `callback from ${callback.dag_id} run ${callback.dag_run_id}: ${callback.model_name} v${callback.version}` +
        ` ${callback.promoted ? `is now ${callback.alias}` : `not promoted to ${callback.alias}`}`,
    );
    let outcomes: ReloadOutcome[];
    try {
      outcomes = await this.registry.reloadModel(
        callback.model_name,
        `airflow callback ${callback.dag_run_id}`,
      );
    } catch (error) {
      // Let Airflow's retry try again, here or on another instance.
      await store.deleteIfHolds(key, claim).catch(() => undefined);
      throw error;
    }
    const done: Claim = { state: 'done', by: me, outcomes };
    await store.set(key, JSON.stringify(done), DONE_TTL_MS).catch(() => undefined);
    return { accepted: true, duplicate: false, handledBy: me, outcomes };
  }

  /** Another instance (or an earlier request) claimed it: its outcome, once it has one. */
  private async outcomeOfEarlier(
    store: StateStore,
    key: string,
    callback: AirflowCallbackDto,
  ): Promise<CallbackOutcome> {
    const deadline = Date.now() + WAIT_FOR_HOLDER_MS;
    let claim = await readClaim(store, key);
    while (claim?.state === 'handling' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      claim = await readClaim(store, key);
    }
    if (!claim) {
      // The holder gave up (its reload failed) or its claim expired: act on it ourselves.
      return this.claimAndHandle(key, callback);
    }
    return {
      accepted: true,
      duplicate: true,
      handledBy: claim.by,
      outcomes: claim.state === 'done' ? claim.outcomes : [],
    };
  }
}

async function readClaim(store: StateStore, key: string): Promise<Claim | undefined> {
  const value = await store.get(key).catch(() => undefined);
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value) as Claim;
  } catch {
    return undefined;
  }
}
