import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { AirflowClient } from '../airflow/airflow.client';
import { HealthConfig, healthConfig } from '../config/health.config';
import { UnhealthyComponentError, indicatorFailure } from './failure-classifier';
import { HEALTH_AIRFLOW_CLIENT } from './health-clients';
import { DependencyIndicator } from './health.types';

/** Without these Airflow runs nothing (as AirflowClient's `healthy` counts them). */
const REQUIRED = new Set(['metadatabase', 'scheduler']);

/**
 * Airflow: each component's health (metadatabase, scheduler, triggerer,
 * dag processor), then one authenticated call (list one DAG), so wrong
 * credentials show here and not at the first training request.
 */
@Injectable()
export class AirflowHealthIndicator implements DependencyIndicator {
  readonly name = 'airflow';
  readonly displayName = 'Airflow';

  constructor(
    @Inject(HEALTH_AIRFLOW_CLIENT) private readonly airflow: AirflowClient,
    private readonly health: HealthIndicatorService,
    @Inject(healthConfig.KEY) private readonly config: HealthConfig,
  ) {}

  get target(): string {
    return this.airflow.baseUrl;
  }

  async check(): Promise<HealthIndicatorResult> {
    const indicator = this.health.check(this.name);
    const seen: Record<string, unknown> = {};
    try {
      const health = await this.airflow.health();
      seen.components = Object.fromEntries(
        Object.entries(health.components).map(([name, c]) => [
          name,
          { status: c.status, latestHeartbeat: c.latestHeartbeat?.toISOString() },
        ]),
      );
      seen.apiVersion = await this.airflow.apiVersion();
      const { total } = await this.airflow.listDags({ limit: 1 });
      seen.authenticated = true;
      seen.dags = total;
      if (!health.healthy) {
        const failing = Object.entries(health.components)
          .filter(
            ([name, c]) =>
              c.status === 'unhealthy' || (REQUIRED.has(name) && c.status !== 'healthy'),
          )
          .map(([name, c]) => `${name} (${c.status})`);
        throw new UnhealthyComponentError(failing);
      }
      return indicator.up(seen);
    } catch (error) {
      return indicator.down({
        ...seen,
        failure: indicatorFailure(this, error, this.config.timeoutMs),
      });
    }
  }
}
