import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { AirflowClient } from '../airflow/airflow.client';
import { AirflowHealth } from '../airflow/airflow.types';
import { AirflowConfig, airflowConfig } from '../config/airflow.config';
import { HealthConfig, healthConfig } from '../config/health.config';
import { CheckStep, SteppedIndicator, runSteps } from './check-steps';
import { UnhealthyComponentError, indicatorFailure } from './failure-classifier';
import { HEALTH_AIRFLOW_CLIENT } from './health-clients';
import { NOT_CONFIGURED } from './health.types';

/** Without these Airflow runs nothing (as AirflowClient's `healthy` counts them). */
const REQUIRED = new Set(['metadatabase', 'scheduler']);

/**
 * Airflow: each component's health (metadatabase, scheduler, triggerer,
 * dag processor), then one authenticated call (list one DAG), so wrong
 * credentials show here and not at the first training request; then the
 * verdict on the components. Components need no credentials, so they are
 * seen even when the login fails. Without Airflow configured the check says
 * `not_configured`, which is no failure: serving needs no Airflow.
 */
@Injectable()
export class AirflowHealthIndicator implements SteppedIndicator {
  readonly name = 'airflow';
  readonly displayName = 'Airflow';

  constructor(
    /** Null when Airflow is not configured (health-clients.ts). */
    @Inject(HEALTH_AIRFLOW_CLIENT) private readonly airflow: AirflowClient | null,
    private readonly health: HealthIndicatorService,
    @Inject(healthConfig.KEY) private readonly config: Pick<HealthConfig, 'timeoutMs'>,
    @Inject(airflowConfig.KEY) private readonly settings: AirflowConfig,
  ) {}

  get target(): string {
    return this.airflow?.baseUrl ?? 'not configured';
  }

  steps(): CheckStep[] {
    const airflow = this.airflow;
    if (!airflow) return [];
    let health: AirflowHealth | undefined;
    return [
      {
        name: 'REST API version and component health',
        run: async (seen) => {
          health = await airflow.health();
          seen.components = Object.fromEntries(
            Object.entries(health.components).map(([name, c]) => [
              name,
              { status: c.status, latestHeartbeat: c.latestHeartbeat?.toISOString() },
            ]),
          );
          seen.apiVersion = await airflow.apiVersion();
          return `/api/v${String(seen.apiVersion)}; ${Object.entries(health.components)
            .map(([name, c]) => `${name} ${c.status}`)
            .join(', ')}`;
        },
      },
      {
        name: 'authenticated call (list DAGs)',
        run: async (seen) => {
          const { total } = await airflow.listDags({ limit: 1 });
          seen.authenticated = true;
          seen.dags = total;
          return `${total} DAGs`;
        },
      },
      {
        name: 'required components healthy',
        run: () => {
          if (health && !health.healthy) {
            const failing = Object.entries(health.components)
              .filter(
                ([name, c]) =>
                  c.status === 'unhealthy' || (REQUIRED.has(name) && c.status !== 'healthy'),
              )
              .map(([name, c]) => `${name} (${c.status})`);
            return Promise.reject(new UnhealthyComponentError(failing));
          }
          return Promise.resolve('metadatabase and scheduler healthy, none unhealthy');
        },
      },
    ];
  }

  /** What to set for Airflow to be checked (and training to work); empty when configured. */
  get missing(): string[] {
    return this.settings.configured ? [] : this.settings.missing;
  }

  async check(): Promise<HealthIndicatorResult> {
    if (!this.airflow) {
      return {
        [this.name]: {
          // Not terminus's up or down: the topology shows it as it is (topology.service.ts).
          status: NOT_CONFIGURED as 'up',
          missing: this.missing,
          hint: `Airflow is optional: set ${this.missing.join(', ')} to enable training and its check`,
        },
      };
    }
    const indicator = this.health.check(this.name);
    const { seen, error } = await runSteps(this.steps());
    if (error === undefined) return indicator.up(seen);
    return indicator.down({
      ...seen,
      failure: indicatorFailure(this, error, this.config.timeoutMs),
    });
  }
}
