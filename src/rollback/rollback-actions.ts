import { Inject, Injectable, Logger } from '@nestjs/common';
import { ROLLBACK_TAGS as TAGS } from '../common/rollback-tags';
import { messageOf } from '../common/values';
import { MlflowClient } from '../mlflow/mlflow.client';
import { MetricPoint } from '../mlflow/mlflow.types';
import type { RollbackRequest } from './rollback-request';

/** MLflow caps a tag value at 5000 characters (mlflow/utils/validation.py MAX_TAG_VAL_LENGTH). */
const MAX_TAG_VALUE = 5000;

/**
 * What a rollback does in MLflow: moves the alias back (the step that needs
 * registry write credentials and may fail), then the bookkeeping — tags on
 * both versions and the watch's figures as metrics of the bad version's run —
 * each step tried even when another failed, reported, never thrown.
 */
@Injectable()
export class RollbackActions {
  private readonly logger = new Logger(RollbackActions.name);

  constructor(
    @Inject(MlflowClient)
    private readonly mlflow: Pick<
      MlflowClient,
      'setAlias' | 'setModelVersionTag' | 'getModelVersion' | 'logMetrics'
    >,
  ) {}

  /** Throws what MLflow answered: UpstreamUnauthorizedError without write credentials. */
  moveAlias(request: RollbackRequest): Promise<void> {
    return this.mlflow.setAlias(request.name, request.alias, request.good);
  }

  /** What `record` writes, by name: all of it is left unwritten when the alias could not move. */
  bookkeeping(request: RollbackRequest): string[] {
    return this.steps(request, new Date(0)).map(([what]) => what);
  }

  /** Tags and metrics; answers what could not be written (empty when all was). */
  async record(request: RollbackRequest, at: Date): Promise<string[]> {
    const incomplete: string[] = [];
    for (const [what, step] of this.steps(request, at)) {
      try {
        await step();
      } catch (error) {
        this.logger.warn(
          `${request.reference}: rollback bookkeeping: cannot ${what}: ${messageOf(error)}`,
        );
        incomplete.push(what);
      }
    }
    return incomplete;
  }

  private steps(request: RollbackRequest, at: Date): [string, () => Promise<void>][] {
    const { name, bad, good } = request;
    const reason = request.reason.slice(0, MAX_TAG_VALUE);
    const when = at.toISOString();
    return [
      [
        `tag v${bad} ${TAGS.rolledBackTo}`,
        () => this.mlflow.setModelVersionTag(name, bad, TAGS.rolledBackTo, good),
      ],
      [
        `tag v${bad} ${TAGS.reason}`,
        () => this.mlflow.setModelVersionTag(name, bad, TAGS.reason, reason),
      ],
      [`tag v${bad} ${TAGS.at}`, () => this.mlflow.setModelVersionTag(name, bad, TAGS.at, when)],
      [
        `tag v${good} ${TAGS.rolledBackFrom}`,
        () => this.mlflow.setModelVersionTag(name, good, TAGS.rolledBackFrom, bad),
      ],
      [
        `tag v${good} ${TAGS.reason}`,
        () => this.mlflow.setModelVersionTag(name, good, TAGS.reason, reason),
      ],
      [`tag v${good} ${TAGS.at}`, () => this.mlflow.setModelVersionTag(name, good, TAGS.at, when)],
      [`metrics of v${bad}'s run`, () => this.logFigures(request, at)],
    ];
  }

  private async logFigures(request: RollbackRequest, at: Date): Promise<void> {
    const version = await this.mlflow.getModelVersion(request.name, request.bad);
    if (!version.runId) throw new Error(`v${request.bad} names no run`);
    const timestamp = at.getTime();
    const { figures, baseline } = request;
    const points: MetricPoint[] = [
      { key: 'modelgate.rollback.requests', value: figures.requests, timestamp },
      { key: 'modelgate.rollback.errors', value: figures.errors, timestamp },
      { key: 'modelgate.rollback.error_rate', value: figures.errorRate, timestamp },
      { key: 'modelgate.rollback.baseline_requests', value: baseline.requests, timestamp },
      { key: 'modelgate.rollback.baseline_error_rate', value: baseline.errorRate, timestamp },
      { key: 'modelgate.rollback.watched_seconds', value: request.watchedMs / 1000, timestamp },
    ];
    if (figures.p99Ms !== undefined) {
      points.push({ key: 'modelgate.rollback.p99_ms', value: figures.p99Ms, timestamp });
    }
    if (baseline.p99Ms !== undefined) {
      points.push({ key: 'modelgate.rollback.baseline_p99_ms', value: baseline.p99Ms, timestamp });
    }
    await this.mlflow.logMetrics(version.runId, points);
  }
}
