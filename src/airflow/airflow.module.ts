import { Module } from '@nestjs/common';
import { AirflowConfig, airflowConfig } from '../config/airflow.config';
import { UpstreamConfig, upstreamConfig } from '../config/upstream.config';
import { AIRFLOW_CLIENT_OPTIONS, AirflowClient, AirflowClientOptions } from './airflow.client';

@Module({
  providers: [
    {
      provide: AIRFLOW_CLIENT_OPTIONS,
      inject: [airflowConfig.KEY, upstreamConfig.KEY],
      useFactory: (config: AirflowConfig, upstream: UpstreamConfig): AirflowClientOptions => ({
        baseUrl: config.baseUrl,
        timeoutMs: config.timeoutMs,
        insecureTls: config.insecureTls,
        retry: upstream.retryPolicy(config.maxRetries),
        credentials: { username: config.username, password: config.password },
        apiVersion: config.apiVersion,
        tokenRenewMarginMs: config.tokenRenewMarginMs,
      }),
    },
    AirflowClient,
  ],
  exports: [AirflowClient],
})
export class AirflowModule {}
