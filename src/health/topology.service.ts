import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import {
  HealthCheckResult,
  HealthIndicatorFunction,
  HealthIndicatorResult,
  HealthIndicatorService,
} from '@nestjs/terminus';
import { SERVICE_NAME, SERVICE_VERSION } from '../common/version';
import { AuthConfig, authConfig } from '../config/auth.config';
import { HealthConfig, healthConfig } from '../config/health.config';
import { MetricsService } from '../metrics/metrics.service';
import { ApiHealthIndicator } from './api.health';
import { DependencyReport, NOT_CONFIGURED } from './health.types';
import { LifecycleState } from './lifecycle.state';
import { TopologyCheckJob } from './topology-check.job';

export type ServiceStatus = 'ok' | 'degraded' | 'starting' | 'unavailable' | 'draining';

/** `GET /`: the service and a one-line-per-server summary of the topology. */
export interface ServiceSummary {
  service: string;
  version: string;
  status: ServiceStatus;
  ready: boolean;
  topology: Record<
    string,
    Pick<DependencyReport, 'status' | 'target' | 'latencyMs' | 'checkedAt' | 'lastSuccess'> & {
      failure?: { kind: string; hint: string };
    }
  >;
  links: Record<string, string>;
}

/**
 * What the probes answer, built from the background job's last results and
 * this process's own state, never from a call made for the probe.
 */
@Injectable()
export class TopologyService implements OnModuleInit {
  constructor(
    private readonly job: TopologyCheckJob,
    private readonly api: ApiHealthIndicator,
    private readonly lifecycle: LifecycleState,
    private readonly health: HealthIndicatorService,
    @Inject(healthConfig.KEY) private readonly config: HealthConfig,
    private readonly metrics: MetricsService,
    @Inject(authConfig.KEY) private readonly auth: Pick<AuthConfig, 'enabled'>,
  ) {}

  onModuleInit(): void {
    // With workers: ready only when every worker is, draining once any is.
    this.metrics.gaugeFrom(
      'ready',
      'What /health/ready answers: 1 ready, 0 not',
      [],
      () => [{ value: this.isReady() ? 1 : 0 }],
      'min',
    );
    this.metrics.gaugeFrom(
      'draining',
      '1 once SIGTERM was received',
      [],
      () => [{ value: this.lifecycle.draining ? 1 : 0 }],
      'max',
    );
  }

  /**
   * Readiness: this process, plus MLflow / Airflow when READINESS_REQUIRES_* says so
   * (a dependency that is not configured is not required).
   */
  readinessChecks(): HealthIndicatorFunction[] {
    return [() => this.api.check(), ...this.gates().map((r) => () => this.asResult(r))];
  }

  /** Every server of the topology: this one, then each dependency's last check. */
  topologyChecks(): HealthIndicatorFunction[] {
    // API_AUTH=off must be visible to whoever looks at the topology.
    const mode = this.auth.enabled ? 'on' : 'off';
    const api = () => ({ api: { ...this.api.check().api, auth: { mode } } });
    return [
      api,
      ...this.job
        .reports()
        .filter((r) => r.status !== NOT_CONFIGURED)
        .map((r) => () => this.asResult(r)),
    ];
  }

  /**
   * The dependencies that are not configured, as terminus would show them if
   * it knew the status: terminus drops anything neither up nor down, so the
   * topology probe adds these to its `info` and `details` itself.
   */
  withNotConfigured(result: HealthCheckResult): HealthCheckResult {
    const entries = Object.fromEntries(
      this.job
        .reports()
        .filter((r) => r.status === NOT_CONFIGURED)
        .map((r) => [r.name, { status: r.status, target: r.target, ...r.details }]),
      // Terminus types a status as up or down; this one is neither, on purpose.
    ) as unknown as HealthIndicatorResult;
    return {
      ...result,
      info: { ...result.info, ...entries },
      details: { ...result.details, ...entries },
    };
  }

  private gates(): DependencyReport[] {
    return this.job
      .reports()
      .filter(
        (r) =>
          r.status !== NOT_CONFIGURED &&
          this.config.readinessRequires[r.name as 'mlflow' | 'airflow'] === true,
      );
  }

  /** This process and every dependency, for the status page. */
  reports(): DependencyReport[] {
    return [this.api.report(), ...this.job.reports()];
  }

  isReady(): boolean {
    return this.api.report().status === 'up' && this.gates().every((r) => r.status === 'up');
  }

  summary(): ServiceSummary {
    const reports = this.reports();
    const ready = this.isReady();
    const api = reports[0];
    const status: ServiceStatus = this.lifecycle.draining
      ? 'draining'
      : api.failure?.kind === 'model_load_failed'
        ? 'unavailable'
        : api.status === 'down'
          ? 'starting'
          : !ready
            ? 'unavailable'
            : reports.some((r) => r.status === 'down')
              ? 'degraded'
              : 'ok';
    return {
      service: SERVICE_NAME,
      version: SERVICE_VERSION,
      status,
      ready,
      topology: Object.fromEntries(
        reports.map((r) => [
          r.name,
          {
            status: r.status,
            target: r.target,
            latencyMs: r.latencyMs,
            checkedAt: r.checkedAt,
            lastSuccess: r.lastSuccess,
            failure: r.failure && { kind: r.failure.kind, hint: r.failure.hint },
          },
        ]),
      ),
      links: {
        ready: '/health/ready',
        topology: '/health/topology',
        metrics: '/metrics',
        status: '/status',
        models: '/v1/models',
        docs: '/docs',
      },
    };
  }

  /** A dependency's last report as terminus's indicator result. */
  private asResult(report: DependencyReport): HealthIndicatorResult {
    const indicator = this.health.check(report.name);
    const data = {
      target: report.target,
      checkedAt: report.checkedAt,
      latencyMs: report.latencyMs,
      lastSuccess: report.lastSuccess,
      consecutiveFailures: report.consecutiveFailures,
      ...report.details,
    };
    return report.status === 'up'
      ? indicator.up(data)
      : indicator.down({ ...data, failure: report.failure });
  }
}
