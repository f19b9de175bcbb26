import { AirflowEnvironment } from './airflow.config';
import {
  ConfigValidationError,
  Environment,
  assertValidEnvironment,
  parseEnvironment,
} from './env.validation';
import { ENVIRONMENT_CLASSES } from './environment';
import { MlflowEnvironment } from './mlflow.config';
import { ServerEnvironment } from './server.config';
import { UpstreamEnvironment } from './upstream.config';

const valid: Environment = {
  MLFLOW_TRACKING_URI: 'http://mlflow:5000',
  AIRFLOW_BASE_URL: 'http://airflow:8080',
  AIRFLOW_USERNAME: 'admin',
  AIRFLOW_PASSWORD: 'airflow-secret-pw',
};

function problemsOf(env: Environment): ConfigValidationError {
  try {
    assertValidEnvironment(ENVIRONMENT_CLASSES, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigValidationError);
    return error as ConfigValidationError;
  }
  throw new Error('expected the environment to be refused');
}

describe('assertValidEnvironment', () => {
  it('accepts the minimal environment', () => {
    expect(() => assertValidEnvironment(ENVIRONMENT_CLASSES, valid)).not.toThrow();
  });

  it('ignores variables it does not know', () => {
    expect(() =>
      assertValidEnvironment(ENVIRONMENT_CLASSES, { ...valid, PATH: '/bin', HOME: '/root' }),
    ).not.toThrow();
  });

  it('names every bad variable in one error', () => {
    const error = problemsOf({
      MLFLOW_TRACKING_URI: 'not a url',
      API_PORT: '70000',
      LOG_LEVEL: 'loud',
      UPSTREAM_RETRY_BASE_DELAY_MS: '-1',
      MLFLOW_HTTP_REQUEST_MAX_RETRIES: '2.5',
      AIRFLOW_API_VERSION: '3',
    });

    for (const name of [
      'MLFLOW_TRACKING_URI',
      'API_PORT',
      'LOG_LEVEL',
      'UPSTREAM_RETRY_BASE_DELAY_MS',
      'MLFLOW_HTTP_REQUEST_MAX_RETRIES',
      'AIRFLOW_API_VERSION',
    ]) {
      expect(error.message).toContain(name);
    }
    expect(error.message).toMatch(/^Invalid configuration:\n {2}- /);
    // Airflow is optional (a serving-only instance has none): its unset URL and credentials are no problem.
    expect(error.problems.length).toBeGreaterThanOrEqual(6);
  });

  it('never shows a secret value in its message', () => {
    const error = problemsOf({
      ...valid,
      MLFLOW_TRACKING_URI: 'ftp://bob:mlflow-secret-pw@mlflow:5000',
      MLFLOW_TRACKING_USERNAME: 'bob',
      AIRFLOW_BASE_URL: 'airflow:8080',
      API_PORT: 'not-a-port',
    });

    expect(error.message).toContain('MLFLOW_TRACKING_URI');
    expect(error.message).toContain('MLFLOW_TRACKING_PASSWORD');
    expect(error.message).not.toContain('mlflow-secret-pw');
    expect(error.message).not.toContain('airflow-secret-pw');
    expect(error.message).not.toContain('bob');
  });

  it('shows no value of any bad variable', () => {
    const marked = (n: number) => `VALUE-MARK-${n}`;
    const env: Environment = {
      ...valid,
      API_PORT: marked(1),
      LOG_LEVEL: marked(2),
      UPSTREAM_RETRY_MAX_DELAY_MS: marked(3),
      MLFLOW_TRACKING_URI: marked(4),
      MLFLOW_TRACKING_INSECURE_TLS: marked(5),
      MLFLOW_HTTP_REQUEST_TIMEOUT: marked(6),
      AIRFLOW_BASE_URL: marked(7),
      AIRFLOW_API_VERSION: marked(8),
      AIRFLOW_TOKEN_RENEW_MARGIN: marked(9),
    };

    const error = problemsOf(env);

    expect(error.problems.length).toBeGreaterThanOrEqual(9);
    expect(error.message).not.toContain('VALUE-MARK');
  });

  it('counts an empty string as unset', () => {
    const error = problemsOf({ ...valid, AIRFLOW_PASSWORD: '' });

    expect(error.message).toContain('AIRFLOW_PASSWORD must be set');
  });

  it('refuses MLFLOW_TRACKING_USERNAME without MLFLOW_TRACKING_PASSWORD', () => {
    const error = problemsOf({ ...valid, MLFLOW_TRACKING_USERNAME: 'bob' });

    expect(error.problems).toEqual([
      'MLFLOW_TRACKING_PASSWORD must be set when MLFLOW_TRACKING_USERNAME is',
    ]);
  });

  it('refuses MLFLOW_TRACKING_PASSWORD without MLFLOW_TRACKING_USERNAME', () => {
    const error = problemsOf({ ...valid, MLFLOW_TRACKING_PASSWORD: 'pw' });

    expect(error.problems).toEqual([
      'MLFLOW_TRACKING_USERNAME must be set when MLFLOW_TRACKING_PASSWORD is',
    ]);
  });

  it('accepts credentials written into MLFLOW_TRACKING_URI', () => {
    expect(() =>
      assertValidEnvironment(ENVIRONMENT_CLASSES, {
        ...valid,
        MLFLOW_TRACKING_URI: 'http://u:p@mlflow:5000/',
      }),
    ).not.toThrow();
  });
});

describe('parseEnvironment', () => {
  it('fills the server defaults', () => {
    const sut = parseEnvironment(ServerEnvironment, {});

    expect(sut.API_HOST).toBe('0.0.0.0');
    expect(sut.API_PORT).toBe(8000);
    expect(sut.LOG_LEVEL).toBe('log');
  });

  it('uses the default for a variable set to the empty string', () => {
    expect(parseEnvironment(ServerEnvironment, { API_PORT: '', API_HOST: '' })).toMatchObject({
      API_PORT: 8000,
      API_HOST: '0.0.0.0',
    });
  });

  it('turns numbers into numbers', () => {
    expect(parseEnvironment(ServerEnvironment, { API_PORT: ' 9000 ' }).API_PORT).toBe(9000);
    expect(
      parseEnvironment(UpstreamEnvironment, { UPSTREAM_RETRY_MAX_TOTAL_MS: '1000' })
        .UPSTREAM_RETRY_MAX_TOTAL_MS,
    ).toBe(1000);
  });

  it.each([
    ['true', true],
    ['false', false],
    ['1', true],
    ['0', false],
    ['TRUE', true],
    ['yes', true],
    ['off', false],
  ])('reads the boolean %p as %p', (value, expected) => {
    const sut = parseEnvironment(MlflowEnvironment, {
      MLFLOW_TRACKING_URI: 'http://mlflow:5000',
      MLFLOW_TRACKING_INSECURE_TLS: value,
    });

    expect(sut.MLFLOW_TRACKING_INSECURE_TLS).toBe(expected);
  });

  it('refuses a boolean it cannot read', () => {
    expect(() =>
      parseEnvironment(AirflowEnvironment, { ...valid, AIRFLOW_INSECURE_TLS: 'maybe' }),
    ).toThrow(/AIRFLOW_INSECURE_TLS must be a boolean/);
  });

  it('refuses a timeout that is not a number, naming the unit', () => {
    expect(() =>
      parseEnvironment(MlflowEnvironment, {
        MLFLOW_TRACKING_URI: 'http://mlflow:5000',
        MLFLOW_HTTP_REQUEST_TIMEOUT: 'ten',
      }),
    ).toThrow('MLFLOW_HTTP_REQUEST_TIMEOUT must be a number of seconds');
  });

  it('checks only its own class', () => {
    expect(() =>
      parseEnvironment(ServerEnvironment, { MLFLOW_TRACKING_URI: 'nope' }),
    ).not.toThrow();
  });
});
