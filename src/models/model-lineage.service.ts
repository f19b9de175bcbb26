import { Inject, Injectable, Logger } from '@nestjs/common';
import { messageOf } from '../common/values';
import { AirflowConfig, airflowConfig } from '../config/airflow.config';
import { MlflowClient } from '../mlflow/mlflow.client';
import { ModelVersion } from '../mlflow/mlflow.types';
import { DAG_ID_TAG, DAG_RUN_ID_TAG, ModelLineage } from './model-lineage';

/**
 * Reads a version's lineage from MLflow when it loads (one `runs/get`). A
 * failure to read it never fails the load: the lineage then says why.
 */
@Injectable()
export class ModelLineageReader {
  private readonly logger = new Logger(ModelLineageReader.name);

  constructor(
    @Inject(MlflowClient) private readonly mlflow: Pick<MlflowClient, 'getRun' | 'trackingUri'>,
    @Inject(airflowConfig.KEY) private readonly airflow: AirflowConfig,
  ) {}

  async of(version: ModelVersion): Promise<ModelLineage> {
    const none = { params: {}, metrics: {}, datasets: [] };
    if (!version.runId) return { ...none, error: 'the version names no run' };
    try {
      const run = await this.mlflow.getRun(version.runId);
      const dagId = run.tags[DAG_ID_TAG] ?? version.tags[DAG_ID_TAG];
      const dagRunId = run.tags[DAG_RUN_ID_TAG] ?? version.tags[DAG_RUN_ID_TAG];
      return {
        runId: run.runId,
        runName: run.runName,
        experimentId: run.experimentId,
        params: run.params,
        metrics: run.metrics,
        datasets: run.datasets,
        dagId,
        dagRunId,
        mlflowRunUrl: `${this.mlflow.trackingUri}/#/experiments/${encodeURIComponent(run.experimentId)}/runs/${encodeURIComponent(run.runId)}`,
        airflowRunUrl:
          dagId && dagRunId && this.airflow.configured
            ? `${this.airflow.publicUrl}/dags/${encodeURIComponent(dagId)}/runs/${encodeURIComponent(dagRunId)}`
            : undefined,
      };
    } catch (error) {
      this.logger.warn(
        `${version.name} v${version.version}: its run ${version.runId} could not be read (${messageOf(error)}); serving it without lineage`,
      );
      return { ...none, runId: version.runId, error: messageOf(error) };
    }
  }
}
