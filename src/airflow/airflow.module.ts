import { Module } from '@nestjs/common';
import { AirflowConfig, AirflowConnectionConfig, airflowConfig } from '../config/airflow.config';
import { UpstreamConfig, upstreamConfig } from '../config/upstream.config';
import { AirflowClient, AirflowClientOptions } from './airflow.client';

/** The client's options from configuration (also used by the doctor command). */
export function airflowClientOptions(
  config: AirflowConnectionConfig,
  upstream: UpstreamConfig,
): AirflowClientOptions {
  return {
    baseUrl: config.baseUrl,
    timeoutMs: config.timeoutMs,
    insecureTls: config.insecureTls,
    retry: upstream.retryPolicy(config.maxRetries),
    credentials: { username: config.username, password: config.password },
    apiVersion: config.apiVersion,
    tokenRenewMarginMs: config.tokenRenewMarginMs,
  };
}

/**
 * Provides the AirflowClient, or null when Airflow is not configured: serving
 * needs no Airflow, and whoever needs it (training, the health check) says
 * "not configured" instead of failing at start.
 */
@Module({
  providers: [
    {
      provide: AirflowClient,
      inject: [airflowConfig.KEY, upstreamConfig.KEY],
      useFactory: (config: AirflowConfig, upstream: UpstreamConfig): AirflowClient | null =>
        config.configured ? new AirflowClient(airflowClientOptions(config, upstream)) : null,
    },
  ],
  exports: [AirflowClient],
})
export class AirflowModule {}
