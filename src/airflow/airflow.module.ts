import { Module } from '@nestjs/common';
import { AirflowConfig, airflowConfig } from '../config/airflow.config';
import { UpstreamConfig, upstreamConfig } from '../config/upstream.config';
import { AIRFLOW_CLIENT_OPTIONS, AirflowClient, AirflowClientOptions } from './airflow.client';

/** The client's options from configuration (also used by the doctor command). */
export function airflowClientOptions(config: AirflowConfig, upstream: UpstreamConfig): AirflowClientOptions {
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

@Module({
  providers: [
    {
      provide: AIRFLOW_CLIENT_OPTIONS,
      inject: [airflowConfig.KEY, upstreamConfig.KEY],
      useFactory: airflowClientOptions,
    },
    AirflowClient,
  ],
  exports: [AirflowClient],
})
export class AirflowModule {}
