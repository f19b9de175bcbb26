import { HealthIndicatorService } from '@nestjs/terminus';
import { AirflowClient } from '../airflow/airflow.client';
import { AirflowConfig } from '../config/airflow.config';
import { AirflowHealth, Dag } from '../airflow/airflow.types';
import {
  UpstreamTransientError,
  UpstreamUnauthorizedError,
} from '../common/upstream/upstream.error';
import { HealthConfig } from '../config/health.config';
import { MlflowClient } from '../mlflow/mlflow.client';
import { Page, RegisteredModel } from '../mlflow/mlflow.types';
import { AirflowHealthIndicator } from './airflow.health';
import { MlflowHealthIndicator } from './mlflow.health';

const config: HealthConfig = {
  intervalMs: 15_000,
  timeoutMs: 5_000,
  readinessRequires: { mlflow: false, airflow: false },
};

type MlflowCalls = Pick<
  MlflowClient,
  'trackingUri' | 'health' | 'searchRegisteredModels' | 'version'
>;

/** MLflow as the check sees it; each call answers what the test set, and is recorded. */
class FakeMlflow implements MlflowCalls {
  readonly trackingUri = 'http://mlflow:5000';
  calls: string[] = [];
  healthAnswer: () => Promise<string> = () => Promise.resolve('OK');
  searchAnswer: () => Promise<Page<RegisteredModel>> = () => Promise.resolve({ items: [] });

  health(): Promise<string> {
    this.calls.push('health');
    return this.healthAnswer();
  }
  searchRegisteredModels(): Promise<Page<RegisteredModel>> {
    this.calls.push('search');
    return this.searchAnswer();
  }
  version(): Promise<string> {
    this.calls.push('version');
    return Promise.resolve('3.17.2');
  }
}

type AirflowCalls = Pick<AirflowClient, 'baseUrl' | 'health' | 'apiVersion' | 'listDags'>;

class FakeAirflow implements AirflowCalls {
  readonly baseUrl = 'http://airflow:8080';
  components: AirflowHealth['components'] = {
    metadatabase: { status: 'healthy' },
    scheduler: { status: 'healthy', latestHeartbeat: new Date('2025-03-01T12:00:00Z') },
    triggerer: { status: 'not_running' },
  };
  listAnswer: () => Promise<{ dags: Dag[]; total: number }> = () =>
    Promise.resolve({ dags: [], total: 3 });

  health(): Promise<AirflowHealth> {
    const required = ['metadatabase', 'scheduler'].every(
      (n) => this.components[n]?.status === 'healthy',
    );
    const healthy =
      required && Object.values(this.components).every((c) => c.status !== 'unhealthy');
    return Promise.resolve({ healthy, components: this.components });
  }
  apiVersion(): Promise<2> {
    return Promise.resolve(2);
  }
  listDags(): Promise<{ dags: Dag[]; total: number }> {
    return this.listAnswer();
  }
}

describe('MlflowHealthIndicator', () => {
  let mlflow: FakeMlflow;
  let sut: MlflowHealthIndicator;

  beforeEach(() => {
    mlflow = new FakeMlflow();
    sut = new MlflowHealthIndicator(
      mlflow as unknown as MlflowClient,
      new HealthIndicatorService(),
      config,
    );
  });

  it('is up after /health and one registry call, and asks the version once', async () => {
    const first = await sut.check();
    await sut.check();

    expect(first.mlflow).toEqual({ status: 'up', health: 'OK', registry: 'ok', version: '3.17.2' });
    expect(mlflow.calls).toEqual(['health', 'search', 'version', 'health', 'search']);
  });

  it('is down as rejected_host when /health says OK but the registry call is refused', async () => {
    mlflow.searchAnswer = () =>
      Promise.reject(
        new UpstreamUnauthorizedError('mlflow', 'rejected_host', '403 Invalid Host header'),
      );

    const result = await sut.check();

    expect(result.mlflow).toMatchObject({
      status: 'down',
      health: 'OK',
      failure: { kind: 'rejected_host' },
    });
  });

  it('is down as invalid_response when /health answers something else', async () => {
    mlflow.healthAnswer = () => Promise.resolve('<html>login</html>');

    expect((await sut.check()).mlflow).toMatchObject({
      status: 'down',
      failure: { kind: 'invalid_response' },
    });
    expect(mlflow.calls).toEqual(['health']);
  });
});

describe('AirflowHealthIndicator', () => {
  let airflow: FakeAirflow;
  let sut: AirflowHealthIndicator;

  beforeEach(() => {
    airflow = new FakeAirflow();
    sut = new AirflowHealthIndicator(
      airflow as unknown as AirflowClient,
      new HealthIndicatorService(),
      config,
      { configured: true } as AirflowConfig,
    );
  });

  it('is up with each component, the API version and the DAG count', async () => {
    expect((await sut.check()).airflow).toEqual({
      status: 'up',
      components: {
        metadatabase: { status: 'healthy', latestHeartbeat: undefined },
        scheduler: { status: 'healthy', latestHeartbeat: '2025-03-01T12:00:00.000Z' },
        triggerer: { status: 'not_running', latestHeartbeat: undefined },
      },
      apiVersion: 2,
      authenticated: true,
      dags: 3,
    });
  });

  it('is down as unhealthy_component naming the scheduler', async () => {
    airflow.components.scheduler = { status: 'unhealthy' };

    const result = await sut.check();

    expect(result.airflow).toMatchObject({
      status: 'down',
      failure: { kind: 'unhealthy_component' },
    });
    expect(JSON.stringify(result)).toContain('scheduler (unhealthy)');
  });

  it('reports refused credentials before an unhealthy component', async () => {
    airflow.components.scheduler = { status: 'unhealthy' };
    airflow.listAnswer = () =>
      Promise.reject(new UpstreamUnauthorizedError('airflow', 'unauthorized', '401'));

    expect((await sut.check()).airflow).toMatchObject({ failure: { kind: 'unauthorized' } });
  });

  it('is down as connection_refused when the API server does not answer', async () => {
    airflow.health = () =>
      Promise.reject(new UpstreamTransientError('airflow', 'connection_refused', 'refused'));

    expect((await sut.check()).airflow).toMatchObject({
      status: 'down',
      failure: { kind: 'connection_refused' },
    });
  });
});

describe('AirflowHealthIndicator without Airflow configured', () => {
  it('is not_configured, names the variables to set, and calls nothing', async () => {
    const sut = new AirflowHealthIndicator(null, new HealthIndicatorService(), config, {
      configured: false,
      missing: ['AIRFLOW_USERNAME', 'AIRFLOW_PASSWORD'],
    });

    const result = await sut.check();

    expect(result.airflow).toEqual({
      status: 'not_configured',
      missing: ['AIRFLOW_USERNAME', 'AIRFLOW_PASSWORD'],
      hint: expect.stringContaining('AIRFLOW_USERNAME, AIRFLOW_PASSWORD') as unknown,
    });
    expect(sut.target).toBe('not configured');
    expect(sut.steps()).toEqual([]);
  });
});
