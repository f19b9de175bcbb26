import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { HealthConfig, healthConfig } from '../config/health.config';
import { MlflowClient } from '../mlflow/mlflow.client';
import { InvalidResponseError, indicatorFailure } from './failure-classifier';
import { HEALTH_MLFLOW_CLIENT } from './health-clients';
import { DependencyIndicator } from './health.types';

/**
 * MLflow: `GET /health`, then one real registry call with the configured
 * credentials. `/health` alone says OK while MLflow 3 rejects every API call
 * whose Host header it does not allow, or while the credentials are wrong.
 */
@Injectable()
export class MlflowHealthIndicator implements DependencyIndicator {
  readonly name = 'mlflow';
  readonly displayName = 'MLflow';
  /** Asked once per healthy stretch: it does not change while MLflow stays up. */
  private version?: string;

  constructor(
    @Inject(HEALTH_MLFLOW_CLIENT) private readonly mlflow: MlflowClient,
    private readonly health: HealthIndicatorService,
    @Inject(healthConfig.KEY) private readonly config: HealthConfig,
  ) {}

  get target(): string {
    return this.mlflow.trackingUri;
  }

  async check(): Promise<HealthIndicatorResult> {
    const indicator = this.health.check(this.name);
    const seen: Record<string, unknown> = {};
    try {
      seen.health = await this.mlflow.health();
      if (seen.health !== 'OK') {
        throw new InvalidResponseError(
          `GET /health answered "${String(seen.health).slice(0, 80)}"`,
        );
      }
      await this.mlflow.searchRegisteredModels({ maxResults: 1 });
      seen.registry = 'ok';
      this.version ??= await this.mlflow.version().catch(() => undefined);
      return indicator.up({ ...seen, version: this.version });
    } catch (error) {
      this.version = undefined;
      return indicator.down({
        ...seen,
        failure: indicatorFailure(this, error, this.config.timeoutMs),
      });
    }
  }
}
