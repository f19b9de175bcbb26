import { Injectable, Logger } from '@nestjs/common';
import { ModelRegistry, ReloadOutcome } from '../models/model-registry.service';
import { AirflowCallbackDto } from './airflow-callback.dto';

export interface CallbackOutcome {
  accepted: true;
  /** The same callback arrived before; it was not acted on again. */
  duplicate: boolean;
  outcomes: ReloadOutcome[];
}

/** Callbacks remembered for idempotency; Airflow retries within minutes, not thousands of runs later. */
const REMEMBERED = 1000;

/**
 * Acts on the retraining DAG's "new version ready" callback: reload the model
 * so a moved alias is served at once. Idempotent: Airflow retries a task whose
 * answer it did not see, and the same callback twice reloads once.
 */
@Injectable()
export class CallbackHandler {
  private readonly logger = new Logger(CallbackHandler.name);
  private readonly seen = new Map<string, Promise<ReloadOutcome[]>>();

  constructor(private readonly registry: ModelRegistry) {}

  async handle(callback: AirflowCallbackDto): Promise<CallbackOutcome> {
    const key = `${callback.dag_id}/${callback.dag_run_id}/${callback.model_name}/${callback.version}`;
    const earlier = this.seen.get(key);
    if (earlier) {
      return { accepted: true, duplicate: true, outcomes: await earlier };
    }
    this.logger.log(
      `callback from ${callback.dag_id} run ${callback.dag_run_id}: ${callback.model_name} v${callback.version}` +
        ` ${callback.promoted ? `is now ${callback.alias}` : `not promoted to ${callback.alias}`}`,
    );
    const reload = this.registry.reloadModel(
      callback.model_name,
      `airflow callback ${callback.dag_run_id}`,
    );
    this.remember(key, reload);
    try {
      return { accepted: true, duplicate: false, outcomes: await reload };
    } catch (error) {
      this.seen.delete(key); // let Airflow's retry try again
      throw error;
    }
  }

  private remember(key: string, reload: Promise<ReloadOutcome[]>): void {
    this.seen.set(key, reload);
    if (this.seen.size > REMEMBERED) {
      this.seen.delete(this.seen.keys().next().value as string);
    }
  }
}
