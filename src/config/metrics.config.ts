import { ConfigType, registerAs } from '@nestjs/config';
import { IsBoolean } from 'class-validator';
import { parseEnvironment } from './env.validation';
import { ToBoolean } from './env.transforms';

export class MetricsEnvironment {
  /** Serve GET /metrics (Prometheus text format) and record the metrics behind it. */
  @ToBoolean()
  @IsBoolean()
  METRICS_ENABLED = true;
}

export const metricsConfig = registerAs('metrics', () => {
  const env = parseEnvironment(MetricsEnvironment, process.env);
  return { enabled: env.METRICS_ENABLED };
});

export type MetricsConfig = ConfigType<typeof metricsConfig>;
