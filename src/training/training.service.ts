import { Inject, Injectable, Logger } from '@nestjs/common';
import { Principal } from '../auth/principal';
import { AirflowClient } from '../airflow/airflow.client';
import { DagRun, TaskInstance } from '../airflow/airflow.types';
import { AirflowConfig, AirflowConnectionConfig, airflowConfig } from '../config/airflow.config';
import { TrainingConfig, trainingConfig } from '../config/training.config';
import { inSpan, traceHeaders } from '../common/tracing/spans';
import { TriggerTrainingRunDto } from './training.dto';
import { TrainingPolicy } from './training.policy';
import { AirflowNotConfiguredError } from './training.errors';

export interface TrainingRunView {
  dagId: string;
  runId: string;
  state: string;
  logicalDate?: string;
  startDate?: string;
  endDate?: string;
  conf: Record<string, unknown>;
  /** The run in Airflow's UI (AIRFLOW_PUBLIC_URL). */
  url: string;
  tasks?: {
    taskId: string;
    state?: string;
    tryNumber?: number;
    startDate?: string;
    endDate?: string;
  }[];
}

/** Starts and follows runs of the DAGs the operator listed (TrainingPolicy says which). */
@Injectable()
export class TrainingService {
  private readonly logger = new Logger(TrainingService.name);

  constructor(
    /** Null when Airflow is not configured (AirflowModule): this instance serves, and does not train. */
    @Inject(AirflowClient) private readonly client: AirflowClient | null,
    @Inject(trainingConfig.KEY) private readonly config: TrainingConfig,
    @Inject(airflowConfig.KEY) private readonly airflowSettings: AirflowConfig,
    private readonly policy: TrainingPolicy,
  ) {}

  /** The Airflow client; without one every training route is a 503 naming what to set. */
  private get airflow(): AirflowClient {
    return this.connection && this.client ? this.client : this.notConfigured();
  }

  private get connection(): AirflowConnectionConfig | undefined {
    return this.airflowSettings.configured ? this.airflowSettings : undefined;
  }

  private notConfigured(): never {
    const settings = this.airflowSettings;
    throw new AirflowNotConfiguredError(
      settings.configured
        ? ['AIRFLOW_BASE_URL', 'AIRFLOW_USERNAME', 'AIRFLOW_PASSWORD']
        : settings.missing,
    );
  }

  /**
   * In a `training.trigger` span, whose W3C trace context the run's conf
   * carries (`traceparent`, `tracestate`): the DAG's callback sends it
   * back, so the callback and the reload it causes continue this trace.
   */
  trigger(request: TriggerTrainingRunDto, caller: Principal): Promise<TrainingRunView> {
    const dagId = request.dagId ?? this.config.defaultDagId;
    return inSpan('training.trigger', { 'modelgate.dag.id': dagId }, async (span) => {
      const view = await this.triggerRun(dagId, request, caller);
      span.setAttribute('modelgate.dag.run_id', view.runId);
      return view;
    });
  }

  private async triggerRun(
    dagId: string,
    request: TriggerTrainingRunDto,
    caller: Principal,
  ): Promise<TrainingRunView> {
    // Before any call to Airflow: an unlisted DAG is never unpaused, a refused conf never runs.
    this.policy.assertMayTrigger(dagId, request.conf ?? {}, caller);
    if (this.config.unpauseDag) {
      const dag = await this.airflow.getDag(dagId);
      if (dag.isPaused) {
        await this.airflow.setPaused(dagId, false);
        this.logger.log(`unpaused ${dagId} (TRAINING_UNPAUSE_DAG)`);
      }
    }
    const run = await this.airflow.triggerRun(dagId, {
      // Added after the policy's check of the caller's keys: these are ours (empty when untraced).
      conf: { ...request.conf, ...traceHeaders() },
      runId: request.runId,
      note: request.note,
    });
    return this.view(run);
  }

  async get(dagId: string, runId: string): Promise<TrainingRunView> {
    this.policy.assertListed(dagId);
    const [run, tasks] = await Promise.all([
      this.airflow.getRun(dagId, runId),
      this.airflow.listTaskInstances(dagId, runId),
    ]);
    return { ...(await this.view(run)), tasks: tasks.map(taskView) };
  }

  private async view(run: DagRun): Promise<TrainingRunView> {
    return {
      dagId: run.dagId,
      runId: run.runId,
      state: run.state,
      logicalDate: run.logicalDate?.toISOString(),
      startDate: run.startDate?.toISOString(),
      endDate: run.endDate?.toISOString(),
      conf: run.conf,
      url: await this.runUrl(run.dagId, run.runId),
    };
  }

  /** Airflow 3's UI has a page per run; Airflow 2's grid view takes the run as a parameter. */
  private async runUrl(dagId: string, runId: string): Promise<string> {
    const base = this.connection?.publicUrl ?? this.notConfigured();
    const dag = encodeURIComponent(dagId);
    const run = encodeURIComponent(runId);
    return (await this.airflow.apiVersion()) === 2
      ? `${base}/dags/${dag}/runs/${run}`
      : `${base}/dags/${dag}/grid?dag_run_id=${run}`;
  }
}

function taskView(task: TaskInstance): NonNullable<TrainingRunView['tasks']>[number] {
  return {
    taskId: task.taskId,
    state: task.state,
    tryNumber: task.tryNumber,
    startDate: task.startDate?.toISOString(),
    endDate: task.endDate?.toISOString(),
  };
}
