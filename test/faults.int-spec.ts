import { INestApplicationContext } from '@nestjs/common';
import { UpstreamTransientError } from '../src/common/upstream/upstream.error';
import { MlflowClient } from '../src/mlflow/mlflow.client';
import { bootApp, stackEnv } from './support/app';
import { sharedStack } from './support/shared-stack';
import { RunningMlflow, startMlflow } from './support/stack';

describe('MlflowClient when MLflow goes away', () => {
  let mlflow: RunningMlflow;
  let app: INestApplicationContext;
  let sut: MlflowClient;

  beforeAll(async () => {
    mlflow = await startMlflow();
    app = await bootApp({
      ...stackEnv({ ...sharedStack(), mlflowUrl: mlflow.url }),
      MLFLOW_HTTP_REQUEST_MAX_RETRIES: '3',
    });
    sut = app.get(MlflowClient);
  });

  afterAll(async () => {
    await app?.close();
    await mlflow?.container.stop().catch(() => undefined);
  });

  it('gives the transient error after a bounded number of retries once the server is stopped', async () => {
    await expect(sut.health()).resolves.toBe('OK');

    await mlflow.container.stop();
    const error = (await sut
      .searchRegisteredModels()
      .catch((e: unknown) => e)) as UpstreamTransientError;

    expect(error).toBeInstanceOf(UpstreamTransientError);
    expect(error.reason).toBe('connection_refused');
    expect(error.details.attempts).toBe(4); // the first attempt and MLFLOW_HTTP_REQUEST_MAX_RETRIES more
  });

  it('names a host that does not resolve as a DNS failure', async () => {
    const unresolvable = await bootApp({
      ...stackEnv(sharedStack()),
      MLFLOW_TRACKING_URI: 'http://mlflow.invalid:5000', // RFC 2606: .invalid never resolves
      MLFLOW_HTTP_REQUEST_MAX_RETRIES: '1',
    });
    try {
      const error = (await unresolvable
        .get(MlflowClient)
        .health()
        .catch((e: unknown) => e)) as UpstreamTransientError;

      expect(error).toBeInstanceOf(UpstreamTransientError);
      expect(error.reason).toBe('dns');
      expect(error.details.attempts).toBe(2);
    } finally {
      await unresolvable.close();
    }
  });
});
