import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnModuleDestroy,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { HealthIndicatorResult } from '@nestjs/terminus';
import { performance } from 'node:perf_hooks';
import { startNamedInterval, stopNamedInterval } from '../common/scheduling/named-interval';
import { HealthConfig, healthConfig } from '../config/health.config';
import { MetricsService } from '../metrics/metrics.service';
import { CheckTimeoutError, classifyFailure } from './failure-classifier';
import {
  CheckFailure,
  DEPENDENCY_INDICATORS,
  DependencyIndicator,
  DependencyReport,
  DependencyStatus,
  NOT_CONFIGURED,
} from './health.types';

/**
 * Checks every remote dependency (MLflow, Airflow; Redis later) every
 * HEALTH_CHECK_INTERVAL seconds, each under its own HEALTH_CHECK_TIMEOUT, and
 * keeps the last result. The probes answer from it: a burst of probes never
 * becomes a burst on MLflow, and a hanging dependency never hangs a probe.
 * A pass never overlaps the previous one; one dependency's failure never
 * stops the others' checks.
 */
@Injectable()
export class TopologyCheckJob implements OnApplicationBootstrap, OnModuleDestroy {
  static readonly jobName = 'topology-check';
  private readonly logger = new Logger(TopologyCheckJob.name);
  private readonly last = new Map<string, DependencyReport>();
  private running?: Promise<void>;

  constructor(
    @Inject(DEPENDENCY_INDICATORS) private readonly indicators: DependencyIndicator[],
    private readonly scheduler: SchedulerRegistry,
    @Inject(healthConfig.KEY) private readonly config: HealthConfig,
    private readonly metrics: MetricsService,
  ) {
    for (const indicator of indicators) this.last.set(indicator.name, pending(indicator));
  }

  onApplicationBootstrap(): void {
    void this.run();
    startNamedInterval(
      this.scheduler,
      TopologyCheckJob.jobName,
      this.config.intervalMs,
      () => void this.run(),
    );
  }

  onModuleDestroy(): void {
    stopNamedInterval(this.scheduler, TopologyCheckJob.jobName);
  }

  /** The last result of every dependency, in the order they were registered. */
  reports(): DependencyReport[] {
    return this.indicators.map((i) => this.last.get(i.name)!);
  }

  report(name: string): DependencyReport | undefined {
    return this.last.get(name);
  }

  /** One pass over every dependency; a call while a pass runs joins it. */
  run(): Promise<void> {
    this.running ??= Promise.all(this.indicators.map((i) => this.checkOne(i)))
      .then(() => undefined)
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private async checkOne(indicator: DependencyIndicator): Promise<void> {
    const started = performance.now();
    let status: DependencyStatus;
    let details: Record<string, unknown>;
    let failure: CheckFailure | undefined;
    try {
      const result = await withTimeout(indicator.check(), this.config.timeoutMs);
      ({ status, details, failure } = unpack(result, indicator.name));
    } catch (error) {
      status = 'down';
      details = {};
      failure = classifyFailure(error, {
        dependency: indicator.name,
        displayName: indicator.displayName,
        target: indicator.target,
        timeoutMs: this.config.timeoutMs,
      });
    }
    const latencyMs = Math.round((performance.now() - started) * 10) / 10;
    const previous = this.last.get(indicator.name)!;
    const now = new Date().toISOString();
    const report: DependencyReport = {
      ...previous,
      status,
      checkedAt: now,
      latencyMs,
      lastSuccess: status === 'up' ? now : previous.lastSuccess,
      consecutiveFailures: status === 'down' ? previous.consecutiveFailures + 1 : 0,
      details,
      failure: status === 'down' ? failure : undefined,
    };
    this.last.set(indicator.name, report);
    if (status === NOT_CONFIGURED) {
      if (!previous.checkedAt)
        this.logger.log({ msg: `${report.displayName} is not configured`, ...details });
      return;
    }
    this.metrics.dependencyChecked(
      indicator.name,
      status === 'up',
      latencyMs / 1000,
      report.failure?.kind,
      report.lastSuccess ? new Date(report.lastSuccess) : undefined,
    );
    this.logTransition(previous, report);
  }

  /** One line when a dependency's state changes, not one per check. */
  private logTransition(previous: DependencyReport, report: DependencyReport): void {
    const wasChecked = previous.checkedAt !== undefined;
    const line = {
      dependency: report.name,
      target: report.target,
      latencyMs: report.latencyMs,
    };
    if (report.status === 'down' && (previous.status === 'up' || !wasChecked)) {
      this.logger.warn({
        ...line,
        msg: `${report.displayName} is down: ${report.failure?.kind}`,
        kind: report.failure?.kind,
        hint: report.failure?.hint,
        error: report.failure?.message,
      });
    } else if (report.status === 'down' && previous.failure?.kind !== report.failure?.kind) {
      this.logger.warn({
        ...line,
        msg: `${report.displayName} is still down, now: ${report.failure?.kind}`,
        kind: report.failure?.kind,
        hint: report.failure?.hint,
        error: report.failure?.message,
      });
    } else if (report.status === 'up' && (previous.status === 'down' || !wasChecked)) {
      this.logger.log({ ...line, msg: `${report.displayName} is up` });
    }
  }
}

function pending(indicator: DependencyIndicator): DependencyReport {
  return {
    name: indicator.name,
    displayName: indicator.displayName,
    target: indicator.target,
    status: 'down',
    consecutiveFailures: 0,
    details: {},
    failure: {
      kind: 'not_checked_yet',
      message: 'no check has finished yet',
      hint: 'The first check runs at start; its result shows within HEALTH_CHECK_TIMEOUT',
    },
  };
}

/** Terminus's `{[name]: {status, ...data}}` → status, details and the failure, if any. */
function unpack(
  result: HealthIndicatorResult,
  name: string,
): { status: DependencyStatus; details: Record<string, unknown>; failure?: CheckFailure } {
  const { status, failure, ...details } = (result[name] ?? { status: 'down' }) as {
    status: DependencyStatus;
    failure?: CheckFailure;
  } & Record<string, unknown>;
  if (status === 'down' && !failure) {
    return {
      status,
      details,
      failure: { kind: 'unknown', message: 'reported down', hint: 'See this server’s log' },
    };
  }
  return { status, details, failure };
}

/** `promise`, or a CheckTimeoutError after `ms`; the late result is dropped. */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CheckTimeoutError(ms)), ms);
  });
  promise.catch(() => undefined); // settles after the timeout: not an unhandled rejection
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
