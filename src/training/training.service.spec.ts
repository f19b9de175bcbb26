import { AirflowClient } from '../airflow/airflow.client';
import {
  AirflowApiVersion,
  Dag,
  DagRun,
  TaskInstance,
  TriggerRunOptions,
} from '../airflow/airflow.types';
import { ANONYMOUS, Principal } from '../auth/principal';
import { AirflowConnectionConfig } from '../config/airflow.config';
import { TrainingConfig, parseConfKeys } from '../config/training.config';
import { TrainingRequestError } from './training.errors';
import { TrainingPolicy } from './training.policy';
import { TrainingService } from './training.service';
import { RecordingTracer } from '../common/tracing/testing/recording-tracer';

class FakeAirflow {
  paused = true;
  version: AirflowApiVersion = 2;
  calls: string[] = [];
  triggered?: { dagId: string; options: TriggerRunOptions };

  apiVersion(): Promise<AirflowApiVersion> {
    return Promise.resolve(this.version);
  }

  getDag(dagId: string): Promise<Dag> {
    this.calls.push(`getDag ${dagId}`);
    return Promise.resolve({
      dagId,
      displayName: dagId,
      isPaused: this.paused,
      isActive: true,
      tags: [],
    });
  }

  setPaused(dagId: string, paused: boolean): Promise<Dag> {
    this.calls.push(`setPaused ${dagId} ${paused}`);
    this.paused = paused;
    return this.getDag(dagId);
  }

  triggerRun(dagId: string, options: TriggerRunOptions): Promise<DagRun> {
    this.calls.push(`triggerRun ${dagId}`);
    this.triggered = { dagId, options };
    return Promise.resolve({
      dagId,
      runId: options.runId ?? 'manual__1',
      state: 'queued',
      conf: options.conf ?? {},
    });
  }

  getRun(dagId: string, runId: string): Promise<DagRun> {
    return Promise.resolve({ dagId, runId, state: 'success', conf: {}, startDate: new Date(0) });
  }

  listTaskInstances(): Promise<TaskInstance[]> {
    return Promise.resolve([{ taskId: 'train', state: 'success', tryNumber: 1 }]);
  }
}

const AIRFLOW = {
  configured: true,
  publicUrl: 'https://airflow.example.com',
} as AirflowConnectionConfig;

const TRAINER: Principal = { name: 'trainer', kind: 'api-key', scopes: new Set(['train']) };

function create(airflow: FakeAirflow, overrides: { unpauseDag?: boolean } = {}): TrainingService {
  const config: TrainingConfig = {
    defaultDagId: 'modelgate_retrain',
    dags: ['modelgate_retrain', 'other'],
    confKeys: parseConfKeys('modelgate_retrain:C=number,force=boolean'),
    unpauseDag: overrides.unpauseDag ?? true,
    callbackToken: undefined,

    mlflowWebhook: { secret: undefined, toleranceSeconds: 300, url: undefined },
  };
  return new TrainingService(
    airflow as unknown as AirflowClient,
    config,
    AIRFLOW,
    new TrainingPolicy(config),
  );
}

describe(TrainingService.name, () => {
  it('unpauses the default DAG, triggers it with the conf and links the run in Airflow 3’s UI', async () => {
    const airflow = new FakeAirflow();
    const sut = create(airflow);

    const run = await sut.trigger({ conf: { C: 0.5 } }, TRAINER);

    expect(airflow.calls).toEqual([
      'getDag modelgate_retrain',
      'setPaused modelgate_retrain false',
      'getDag modelgate_retrain',
      'triggerRun modelgate_retrain',
    ]);
    expect(airflow.triggered?.options.conf).toEqual({ C: 0.5 });
    expect(run).toMatchObject({ dagId: 'modelgate_retrain', runId: 'manual__1', state: 'queued' });
    expect(run.url).toBe('https://airflow.example.com/dags/modelgate_retrain/runs/manual__1');
  });

  it('leaves the DAG paused state alone when unpausing is off', async () => {
    const airflow = new FakeAirflow();

    await create(airflow, { unpauseDag: false }).trigger({ dagId: 'other' }, TRAINER);

    expect(airflow.calls).toEqual(['triggerRun other']);
  });

  it('links Airflow 2 runs through the grid view', async () => {
    const airflow = new FakeAirflow();
    airflow.version = 1;

    const run = await create(airflow).trigger({ runId: 'r+1' }, TRAINER);

    expect(run.url).toBe(
      'https://airflow.example.com/dags/modelgate_retrain/grid?dag_run_id=r%2B1',
    );
  });

  it('reads a run with its tasks', async () => {
    const run = await create(new FakeAirflow()).get('modelgate_retrain', 'manual__1');

    expect(run).toMatchObject({
      state: 'success',
      tasks: [{ taskId: 'train', state: 'success', tryNumber: 1 }],
    });
  });

  it('never unpauses, reads or triggers a DAG that TRAINING_DAGS does not list', async () => {
    const airflow = new FakeAirflow();
    const sut = create(airflow);

    await expect(sut.trigger({ dagId: 'secret_dag' }, ANONYMOUS)).rejects.toMatchObject({
      code: 'unknown_dag',
    });
    await expect(sut.get('secret_dag', 'manual__1')).rejects.toBeInstanceOf(TrainingRequestError);
    expect(airflow.calls).toEqual([]);
  });

  it('refuses a conf before calling Airflow: the DAG stays paused and no run starts', async () => {
    const airflow = new FakeAirflow();
    const sut = create(airflow);

    await expect(sut.trigger({ conf: { force: true } }, TRAINER)).rejects.toMatchObject({
      code: 'missing_scope',
    });
    await expect(sut.trigger({ conf: { gamma: 1 } }, TRAINER)).rejects.toMatchObject({
      code: 'invalid_request',
    });
    expect(airflow.calls).toEqual([]);
    expect(airflow.paused).toBe(true);
  });

  it('passes a promoting conf through for a caller with the promote scope', async () => {
    const airflow = new FakeAirflow();
    const promoter: Principal = { ...TRAINER, scopes: new Set(['train', 'promote']) };

    await create(airflow).trigger({ conf: { force: true } }, promoter);

    expect(airflow.triggered?.options.conf).toEqual({ force: true });
  });
});

describe(`${TrainingService.name} traced`, () => {
  const tracer = new RecordingTracer();

  beforeAll(() => tracer.start());
  afterAll(() => tracer.stop());

  it('gives the run’s conf the traceparent of its training.trigger span, for the DAG’s callback to send back', async () => {
    const airflow = new FakeAirflow();

    await create(airflow).trigger({ conf: { C: 0.5 } }, TRAINER);

    const [span] = tracer.named('training.trigger');
    const { traceId, spanId } = span.spanContext();
    expect(airflow.triggered?.options.conf).toEqual({
      C: 0.5,
      traceparent: `00-${traceId}-${spanId}-01`,
    });
    expect(span.attributes).toEqual({
      'modelgate.dag.id': 'modelgate_retrain',
      'modelgate.dag.run_id': 'manual__1',
    });
  });
});
