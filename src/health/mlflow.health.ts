import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { HealthConfig, healthConfig } from '../config/health.config';
import { MlflowClient } from '../mlflow/mlflow.client';
import { CheckStep, SteppedIndicator, runSteps } from './check-steps';
import { InvalidResponseError, indicatorFailure } from './failure-classifier';
import { HEALTH_MLFLOW_CLIENT } from './health-clients';

/**
 * MLflow: `GET /health`, then one real registry call with the configured
 * credentials. `/health` alone says OK while MLflow 3 rejects every API call
 * whose Host header it does not allow, or while the credentials are wrong.
 */
@Injectable()
export class MlflowHealthIndicator implements SteppedIndicator {
  readonly name = 'mlflow';
  readonly displayName = 'MLflow';
  /** Asked once per healthy stretch: it does not change while MLflow stays up. */
  private version?: string;

  constructor(
    @Inject(HEALTH_MLFLOW_CLIENT) private readonly mlflow: MlflowClient,
    private readonly health: HealthIndicatorService,
    @Inject(healthConfig.KEY) private readonly config: Pick<HealthConfig, 'timeoutMs'>,
  ) {}

  get target(): string {
    return this.mlflow.trackingUri;
  }

  steps(): CheckStep[] {
    return [
      {
        name: 'GET /health',
        run: async (seen) => {
          seen.health = await this.mlflow.health();
          if (seen.health !== 'OK') {
            throw new InvalidResponseError(
              `GET /health answered "${String(seen.health).slice(0, 80)}"`,
            );
          }
          return 'answered OK';
        },
      },
      {
        name: 'registry call (registered-models/search)',
        run: async (seen) => {
          const { items } = await this.mlflow.searchRegisteredModels({ maxResults: 1 });
          seen.registry = 'ok';
          return items.length ? 'models found' : 'no models yet';
        },
      },
      {
        // Informative only: an MLflow that does not say its version still serves.
        name: 'GET /version',
        run: async (seen) => {
          this.version ??= await this.mlflow.version().catch(() => undefined);
          seen.version = this.version;
          return this.version ? `MLflow ${this.version}` : 'version not reported';
        },
      },
    ];
  }

  async check(): Promise<HealthIndicatorResult> {
    const indicator = this.health.check(this.name);
    const { seen, error } = await runSteps(this.steps());
    if (error === undefined) return indicator.up(seen);
    this.version = undefined;
    return indicator.down({
      ...seen,
      failure: indicatorFailure(this, error, this.config.timeoutMs),
    });
  }
}
