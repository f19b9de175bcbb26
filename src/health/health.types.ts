import type { HealthIndicatorResult } from '@nestjs/terminus';
import type { UpstreamFailureReason } from '../common/upstream/upstream.error';

/**
 * Why a dependency's check failed, worded after the deployment guide's
 * troubleshooting section. The network and HTTP kinds are the upstream
 * clients' own reasons (one vocabulary: a reason added there is a kind here,
 * and the compiler asks for its label and hint); a request the dependency
 * refused as malformed or conflicting reads as `invalid_response` (it did not
 * answer as the dependency would). The last kinds are what the dependency or
 * this process reported.
 */
export type FailureKind =
  | Exclude<UpstreamFailureReason, 'invalid_request' | 'conflict'>
  | 'invalid_response'
  | 'unhealthy_component'
  | 'not_checked_yet'
  | 'models_not_ready'
  | 'model_load_failed'
  | 'draining'
  | 'version_skew'
  | 'unknown';

export interface CheckFailure {
  kind: FailureKind;
  /** What an operator should look at, as a troubleshooting guide would say it. */
  hint: string;
  /** The error as it happened (no credentials: upstream errors never carry them). */
  message: string;
}

/**
 * A dependency this instance is not set up to use (Airflow on a serving-only
 * instance): neither up nor down, never a failure, never a reason for
 * readiness to fail. Terminus knows only up and down, so the probes add these
 * entries themselves (topology.service.ts).
 */
export const NOT_CONFIGURED = 'not_configured';

export type DependencyStatus = 'up' | 'down' | typeof NOT_CONFIGURED;

/** The last known state of one dependency, as the probes and the status page show it. */
export interface DependencyReport {
  /** Key in the topology: `api`, `mlflow`, `airflow`, and in a cluster `redis` and `cluster`. */
  name: string;
  displayName: string;
  /** Where it is reached (base URL without credentials), or `this process`. */
  target: string;
  status: DependencyStatus;
  /** When the last check finished; absent before the first one. */
  checkedAt?: string;
  latencyMs?: number;
  lastSuccess?: string;
  consecutiveFailures: number;
  /** What the check saw: versions, components, models. */
  details: Record<string, unknown>;
  failure?: CheckFailure;
}

/**
 * One remote dependency the background job checks (MLflow, Airflow; in
 * distributed mode Redis and the peer instances), listed in health.module.ts's
 * DEPENDENCY_INDICATORS factory.
 *
 * `check` resolves with terminus's result under its `name`: `up` with the
 * details to show, or `down` with the details seen so far and a `failure`.
 * It may also throw; the job classifies what it throws. It must not retry:
 * a check reports the first failure, the job tries again next interval.
 */
export interface DependencyIndicator {
  readonly name: string;
  readonly displayName: string;
  readonly target: string;
  check(): Promise<HealthIndicatorResult>;
}

export const DEPENDENCY_INDICATORS = Symbol('DEPENDENCY_INDICATORS');
