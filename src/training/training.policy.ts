import { Inject, Injectable } from '@nestjs/common';
import { Principal, hasScope } from '../auth/principal';
import { Scope } from '../common/scopes';
import { ConfValueType, TrainingConfig, trainingConfig } from '../config/training.config';
import { TrainingRequestError } from './training.errors';

/**
 * Conf keys that change what gets promoted: the shipped DAG moves `alias` of
 * `model_name`, and `force` moves it even for a worse model
 * (airflow/dags/retrain_dag.py). Sending any of them needs this scope.
 */
export const PROMOTION_KEYS: readonly string[] = ['force', 'model_name', 'alias'];
export const PROMOTION_SCOPE: Scope = 'promote';

const IS: Record<ConfValueType, (value: unknown) => boolean> = {
  string: (value) => typeof value === 'string',
  number: (value) => typeof value === 'number' && Number.isFinite(value),
  integer: (value) => Number.isInteger(value),
  boolean: (value) => typeof value === 'boolean',
  object: (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
  array: (value) => Array.isArray(value),
};

const A: Record<ConfValueType, string> = {
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'true or false',
  object: 'a JSON object',
  array: 'an array',
};

/**
 * Training is the operator's: which DAGs callers may run (TRAINING_DAGS), which
 * conf keys they may send to each (TRAINING_CONF_KEYS) and of what type, and
 * which keys need the `promote` scope. Pure: decides before Airflow is called.
 */
@Injectable()
export class TrainingPolicy {
  constructor(
    @Inject(trainingConfig.KEY)
    private readonly config: Pick<TrainingConfig, 'dags' | 'confKeys'>,
  ) {}

  /** Unlisted DAGs are answered as absent: callers are not told which DAGs exist. */
  assertListed(dagId: string): void {
    if (!this.config.dags.includes(dagId)) {
      throw new TrainingRequestError('unknown_dag', `no such training DAG: ${dagId}`);
    }
  }

  /** Whether `caller` may run `dagId` with `conf`; throws naming every fault of one kind. */
  assertMayTrigger(dagId: string, conf: Record<string, unknown>, caller: Principal): void {
    this.assertListed(dagId);
    const accepted = this.config.confKeys.get(dagId) ?? new Map<string, undefined>();
    const keys = Object.keys(conf);

    const unknown = keys.filter((key) => !accepted.has(key));
    if (unknown.length > 0) {
      const list = [...accepted.keys()].sort();
      throw new TrainingRequestError(
        'invalid_request',
        `conf keys not accepted by ${dagId}: ${unknown.join(', ')} ` +
          (list.length > 0 ? `(accepted: ${list.join(', ')})` : '(it takes no conf)'),
      );
    }

    const mistyped = keys.flatMap((key) => {
      const type = accepted.get(key);
      return type === undefined || IS[type](conf[key]) ? [] : [`conf.${key} must be ${A[type]}`];
    });
    if (mistyped.length > 0) {
      throw new TrainingRequestError('invalid_request', mistyped.join('; '));
    }

    const promoting = keys.filter((key) => PROMOTION_KEYS.includes(key));
    if (promoting.length > 0 && !hasScope(caller, PROMOTION_SCOPE)) {
      throw new TrainingRequestError(
        'missing_scope',
        `conf ${promoting.join(', ')} changes what gets promoted: it needs the ` +
          `"${PROMOTION_SCOPE}" scope`,
      );
    }
  }
}
