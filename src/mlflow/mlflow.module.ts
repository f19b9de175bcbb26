import { Module } from '@nestjs/common';
import { basicAuthorization } from '../common/http/basic-auth';
import { MlflowConfig, mlflowConfig } from '../config/mlflow.config';
import { UpstreamConfig, upstreamConfig } from '../config/upstream.config';
import { MLFLOW_HTTP_OPTIONS, MlflowClient, MlflowClientOptions } from './mlflow.client';

/** Credentials as MLflow's own client picks them: basic first, then a bearer token. */
export function mlflowAuthHeaders(config: MlflowConfig): Record<string, string> {
  if (config.username && config.password) {
    return { Authorization: basicAuthorization(config.username, config.password) };
  }
  return config.token ? { Authorization: `Bearer ${config.token}` } : {};
}

/** The client's options from configuration (also used by the doctor command). */
export function mlflowClientOptions(config: MlflowConfig, upstream: UpstreamConfig): MlflowClientOptions {
  const headers = mlflowAuthHeaders(config);
  return {
    baseUrl: config.trackingUri,
    timeoutMs: config.timeoutMs,
    insecureTls: config.insecureTls,
    retry: upstream.retryPolicy(config.maxRetries),
    artifactDownloadTimeoutMs: config.artifactDownloadTimeoutMs,
    authorize: () => Promise.resolve(headers),
  };
}

@Module({
  providers: [
    {
      provide: MLFLOW_HTTP_OPTIONS,
      inject: [mlflowConfig.KEY, upstreamConfig.KEY],
      useFactory: mlflowClientOptions,
    },
    MlflowClient,
  ],
  exports: [MlflowClient],
})
export class MlflowModule {}
