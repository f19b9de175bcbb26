import { ConfigValidationError } from './env.validation';
import { healthConfig } from './health.config';
import { loggingConfig, readLoggerSettings } from './logging.config';
import { metricsConfig } from './metrics.config';
import { shutdownConfig } from './shutdown.config';

describe('health, shutdown, logging and metrics configuration', () => {
  const original = process.env;

  afterEach(() => {
    process.env = original;
  });

  it('fills the defaults, in milliseconds', () => {
    process.env = {};

    expect(healthConfig()).toEqual({
      intervalMs: 15_000,
      timeoutMs: 5_000,
      readinessRequires: { mlflow: false, airflow: false },
    });
    expect(shutdownConfig()).toEqual({ gracePeriodMs: 25_000, drainDelayMs: 0 });
    expect(loggingConfig()).toEqual({ format: 'json', requestBodies: false, accessSample: 1 });
    expect(metricsConfig()).toEqual({ enabled: true });
  });

  it('reads every variable', () => {
    process.env = {
      HEALTH_CHECK_INTERVAL: '30',
      HEALTH_CHECK_TIMEOUT: '2.5',
      READINESS_REQUIRES_MLFLOW: 'true',
      READINESS_REQUIRES_AIRFLOW: '1',
      SHUTDOWN_GRACE_PERIOD: '10',
      SHUTDOWN_DRAIN_DELAY: '3',
      LOG_FORMAT: 'pretty',
      LOG_REQUEST_BODIES: 'yes',
      LOG_ACCESS_SAMPLE: '0.1',
      METRICS_ENABLED: 'false',
    };

    expect(healthConfig()).toEqual({
      intervalMs: 30_000,
      timeoutMs: 2_500,
      readinessRequires: { mlflow: true, airflow: true },
    });
    expect(shutdownConfig()).toEqual({ gracePeriodMs: 10_000, drainDelayMs: 3_000 });
    expect(loggingConfig()).toEqual({ format: 'pretty', requestBodies: true, accessSample: 0.1 });
    expect(metricsConfig()).toEqual({ enabled: false });
  });

  it.each([
    ['HEALTH_CHECK_INTERVAL', '0'],
    ['HEALTH_CHECK_TIMEOUT', 'soon'],
    ['SHUTDOWN_GRACE_PERIOD', '-1'],
    ['LOG_FORMAT', 'xml'],
    ['LOG_ACCESS_SAMPLE', '1.5'],
    ['LOG_ACCESS_SAMPLE', 'some'],
    ['METRICS_ENABLED', 'maybe'],
  ])('refuses %s=%s, naming it', (name, value) => {
    process.env = { [name]: value };
    const all = () => [healthConfig(), shutdownConfig(), loggingConfig(), metricsConfig()];

    expect(all).toThrow(ConfigValidationError);
    expect(all).toThrow(name);
  });

  it('gives main.ts the logger settings from an environment', () => {
    expect(readLoggerSettings({ LOG_LEVEL: 'debug', LOG_FORMAT: 'pretty' })).toEqual({
      format: 'pretty',
      level: 'debug',
      requestBodies: false,
    });
  });
});
