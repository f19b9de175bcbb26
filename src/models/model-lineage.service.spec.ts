import { UpstreamTransientError } from '../common/upstream/upstream.error';
import { AirflowConfig } from '../config/airflow.config';
import { MlflowClient } from '../mlflow/mlflow.client';
import { ModelVersion, Run } from '../mlflow/mlflow.types';
import { ModelLineageReader } from './model-lineage.service';

const RUN: Run = {
  runId: 'run-1',
  runName: 'iris-C1',
  experimentId: '4',
  params: { C: '1.0' },
  metrics: { accuracy: 0.97 },
  tags: { 'modelgate.dag_id': 'modelgate_retrain', 'modelgate.dag_run_id': 'manual__2026' },
  datasets: [{ name: 'iris', digest: 'abc', context: 'training' }],
};

const VERSION: ModelVersion = {
  name: 'iris',
  version: '3',
  stage: 'None',
  status: 'READY',
  runId: 'run-1',
  aliases: [],
  tags: {},
};

class FakeMlflow implements Pick<MlflowClient, 'getRun' | 'trackingUri'> {
  readonly trackingUri = 'http://mlflow:5000';
  failure?: Error;
  asked: string[] = [];
  getRun(runId: string): Promise<Run> {
    this.asked.push(runId);
    return this.failure ? Promise.reject(this.failure) : Promise.resolve(RUN);
  }
}

const AIRFLOW = { configured: true, publicUrl: 'https://airflow.example.com' } as AirflowConfig;

describe(ModelLineageReader.name, () => {
  it("gives the run's params, metrics, datasets and links to the run and its DAG run", async () => {
    const mlflow = new FakeMlflow();
    const sut = new ModelLineageReader(mlflow, AIRFLOW);

    const lineage = await sut.of(VERSION);

    expect(mlflow.asked).toEqual(['run-1']);
    expect(lineage).toEqual({
      runId: 'run-1',
      runName: 'iris-C1',
      experimentId: '4',
      params: { C: '1.0' },
      metrics: { accuracy: 0.97 },
      datasets: [{ name: 'iris', digest: 'abc', context: 'training' }],
      dagId: 'modelgate_retrain',
      dagRunId: 'manual__2026',
      mlflowRunUrl: 'http://mlflow:5000/#/experiments/4/runs/run-1',
      airflowRunUrl: 'https://airflow.example.com/dags/modelgate_retrain/runs/manual__2026',
    });
  });

  it('links no DAG run when Airflow is not configured', async () => {
    const sut = new ModelLineageReader(new FakeMlflow(), { configured: false, missing: [] });

    expect((await sut.of(VERSION)).airflowRunUrl).toBeUndefined();
  });

  it('says why when the run cannot be read, without throwing', async () => {
    const mlflow = new FakeMlflow();
    mlflow.failure = new UpstreamTransientError('mlflow', 'timeout', 'MLflow answered 503');
    const sut = new ModelLineageReader(mlflow, AIRFLOW);

    const lineage = await sut.of(VERSION);

    expect(lineage).toMatchObject({ runId: 'run-1', params: {}, metrics: {}, datasets: [] });
    expect(lineage.error).toContain('503');
  });

  it('asks nothing of MLflow for a version without a run', async () => {
    const mlflow = new FakeMlflow();

    const lineage = await new ModelLineageReader(mlflow, AIRFLOW).of({
      ...VERSION,
      runId: undefined,
    });

    expect(mlflow.asked).toEqual([]);
    expect(lineage.error).toBe('the version names no run');
  });
});
