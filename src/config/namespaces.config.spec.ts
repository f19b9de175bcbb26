import { clusterConfig } from './cluster.config';
import { airflowConfig } from './airflow.config';
import { ConfigValidationError } from './env.validation';
import { mlflowConfig } from './mlflow.config';
import { serverConfig } from './server.config';
import { upstreamConfig } from './upstream.config';

describe('configuration namespaces', () => {
  const original = process.env;

  function setEnv(vars: Record<string, string>): void {
    process.env = { ...vars };
  }

  afterEach(() => {
    process.env = original;
  });

  describe('mlflowConfig', () => {
    it('splits credentials out of MLFLOW_TRACKING_URI', () => {
      setEnv({ MLFLOW_TRACKING_URI: 'http://u:p@mlflow:5000/' });

      const sut = mlflowConfig();

      expect(sut.trackingUri).toBe('http://mlflow:5000');
      expect(sut.username).toBe('u');
      expect(sut.password).toBe('p');
    });

    it('decodes percent-encoded credentials in the URI', () => {
      setEnv({ MLFLOW_TRACKING_URI: 'https://bob:p%40ss%3Aword@mlflow.example.com/prefix/' });

      const sut = mlflowConfig();

      expect(sut.trackingUri).toBe('https://mlflow.example.com/prefix');
      expect(sut.username).toBe('bob');
      expect(sut.password).toBe('p@ss:word');
    });

    it('prefers MLFLOW_TRACKING_USERNAME/PASSWORD over credentials in the URI', () => {
      setEnv({
        MLFLOW_TRACKING_URI: 'http://u:p@mlflow:5000',
        MLFLOW_TRACKING_USERNAME: 'alice',
        MLFLOW_TRACKING_PASSWORD: 'wonder',
      });

      expect(mlflowConfig()).toMatchObject({ username: 'alice', password: 'wonder' });
    });

    it('converts seconds to milliseconds and fills the defaults', () => {
      setEnv({ MLFLOW_TRACKING_URI: 'http://mlflow:5000', MLFLOW_HTTP_REQUEST_TIMEOUT: '2.5' });

      expect(mlflowConfig()).toEqual({
        trackingUri: 'http://mlflow:5000',
        token: undefined,
        username: undefined,
        password: undefined,
        insecureTls: false,
        timeoutMs: 2500,
        maxRetries: 3,
        artifactDownloadTimeoutMs: 300_000,
      });
    });

    it('reads a bearer token', () => {
      setEnv({ MLFLOW_TRACKING_URI: 'http://mlflow:5000', MLFLOW_TRACKING_TOKEN: 'tok' });

      expect(mlflowConfig().token).toBe('tok');
    });

    it('fails with a ConfigValidationError that does not show the URI', () => {
      setEnv({ MLFLOW_TRACKING_URI: 'mlflow:5000?token=hidden-value' });

      expect(() => mlflowConfig()).toThrow(ConfigValidationError);
      expect(() => mlflowConfig()).not.toThrow(/hidden-value/);
    });
  });

  describe('airflowConfig', () => {
    const base = {
      AIRFLOW_BASE_URL: 'http://airflow:8080/',
      AIRFLOW_USERNAME: 'admin',
      AIRFLOW_PASSWORD: 'pw',
    };

    it('builds the client settings with defaults converted to milliseconds', () => {
      setEnv(base);

      expect(airflowConfig()).toEqual({
        configured: true,
        baseUrl: 'http://airflow:8080',
        publicUrl: 'http://airflow:8080',
        username: 'admin',
        password: 'pw',
        apiVersion: undefined,
        insecureTls: false,
        timeoutMs: 10_000,
        maxRetries: 3,
        tokenRenewMarginMs: 60_000,
      });
    });

    it('reads the API version, the public URL, and seconds as milliseconds', () => {
      setEnv({
        ...base,
        AIRFLOW_API_VERSION: '2',
        AIRFLOW_PUBLIC_URL: 'https://airflow.example.com/',
        AIRFLOW_HTTP_REQUEST_TIMEOUT: '0.5',
        AIRFLOW_TOKEN_RENEW_MARGIN: '30',
        AIRFLOW_INSECURE_TLS: '1',
      });

      expect(airflowConfig()).toMatchObject({
        apiVersion: 2,
        publicUrl: 'https://airflow.example.com',
        timeoutMs: 500,
        tokenRenewMarginMs: 30_000,
        insecureTls: true,
      });
    });

    it('strips credentials from the base URL', () => {
      setEnv({ ...base, AIRFLOW_BASE_URL: 'http://x:y@airflow:8080' });

      expect(airflowConfig()).toMatchObject({ baseUrl: 'http://airflow:8080' });
    });

    it('is not configured without a base URL, naming the variables to set', () => {
      setEnv({ AIRFLOW_USERNAME: 'admin', AIRFLOW_PASSWORD: 'pw' });

      expect(airflowConfig()).toEqual({ configured: false, missing: ['AIRFLOW_BASE_URL'] });
    });

    it('is not configured without credentials: a serving-only instance needs none', () => {
      setEnv({ AIRFLOW_BASE_URL: 'http://airflow:8080' });

      expect(airflowConfig()).toEqual({
        configured: false,
        missing: ['AIRFLOW_USERNAME', 'AIRFLOW_PASSWORD'],
      });
    });

    it('is not configured with no Airflow variable at all', () => {
      setEnv({});

      expect(airflowConfig()).toEqual({
        configured: false,
        missing: ['AIRFLOW_BASE_URL', 'AIRFLOW_USERNAME', 'AIRFLOW_PASSWORD'],
      });
    });

    it('refuses half a pair of credentials, naming the other half', () => {
      setEnv({ AIRFLOW_BASE_URL: 'http://airflow:8080', AIRFLOW_USERNAME: 'admin' });

      expect(() => airflowConfig()).toThrow(ConfigValidationError);
      expect(() => airflowConfig()).toThrow(
        /AIRFLOW_PASSWORD must be set when AIRFLOW_USERNAME is/,
      );
    });

    it('still checks a base URL that is set', () => {
      setEnv({ ...base, AIRFLOW_BASE_URL: 'airflow:8080' });

      expect(() => airflowConfig()).toThrow(/AIRFLOW_BASE_URL must be an http\(s\) URL/);
    });
  });

  describe('serverConfig', () => {
    it('listens on 0.0.0.0:8000 by default', () => {
      setEnv({});

      expect(serverConfig()).toEqual({
        host: '0.0.0.0',
        port: 8000,
        logLevel: 'log',
        trustProxy: false,
        maxEventLoopDelayMs: 1000,
      });
    });

    it('trusts the proxies API_TRUST_PROXY lists', () => {
      setEnv({ API_TRUST_PROXY: '127.0.0.1, 10.0.0.0/8' });
      expect(serverConfig().trustProxy).toEqual(['127.0.0.1', '10.0.0.0/8']);
    });

    it('refuses API_TRUST_PROXY=true, saying to list the proxies', () => {
      setEnv({ API_TRUST_PROXY: 'true' });
      expect(() => serverConfig()).toThrow(/API_TRUST_PROXY.*list the proxies/);
    });
  });

  describe('clusterConfig', () => {
    it('keeps state in memory, with no Redis, by default', () => {
      setEnv({});

      expect(clusterConfig()).toMatchObject({
        distributed: false,
        heartbeatMs: 2000,
        instanceTtlMs: 6000,
        leaseTtlMs: 10_000,
        rateLimit: { limit: 0, windowMs: 60_000 },
        redis: { target: 'redis://127.0.0.1:6379/0', prefix: 'modelgate:' },
      });
    });

    it('reads distributed mode from the API_REDIS_* parts', () => {
      setEnv({
        API_ENABLE_DISTRIBUTED: 'true',
        API_CLUSTER_SECRET: 'a-cluster-secret-of-at-least-32-chars',
        API_REDIS_HOST: 'redis',
        API_REDIS_PORT: '6380',
        API_REDIS_DB: '2',
        API_REDIS_PASSWORD: 's3cret',
        API_REDIS_PREFIX: 'prod:mg:',
        API_INSTANCE_ID: 'api-7',
        CLUSTER_HEARTBEAT_INTERVAL: '0.5',
      });

      expect(clusterConfig()).toMatchObject({
        distributed: true,
        instanceId: 'api-7',
        heartbeatMs: 500,
        instanceTtlMs: 1500,
        redis: {
          host: 'redis',
          port: 6380,
          db: 2,
          password: 's3cret',
          prefix: 'prod:mg:',
          target: 'redis://redis:6380/2',
        },
      });
    });

    it('never shows the password of API_REDIS_URL in the target', () => {
      setEnv({
        API_ENABLE_DISTRIBUTED: 'true',
        API_CLUSTER_SECRET: 'a-cluster-secret-of-at-least-32-chars',
        API_REDIS_URL: 'redis://:s3cret@redis:6379/1',
      });

      const { redis } = clusterConfig();

      expect(redis.url).toBe('redis://:s3cret@redis:6379/1');
      expect(redis.target).toBe('redis://redis:6379/1');
    });

    it('requires API_CLUSTER_SECRET, of 32 characters at least, in distributed mode only', () => {
      setEnv({ API_ENABLE_DISTRIBUTED: 'true' });
      expect(() => clusterConfig()).toThrow(/API_CLUSTER_SECRET is required/);

      setEnv({ API_ENABLE_DISTRIBUTED: 'true', API_CLUSTER_SECRET: 'short' });
      expect(() => clusterConfig()).toThrow(/API_CLUSTER_SECRET must be at least 32 characters/);

      setEnv({});
      expect(clusterConfig().secret).toBeUndefined();
    });

    it('connects as a Redis ACL user, over TLS when asked', () => {
      setEnv({
        API_ENABLE_DISTRIBUTED: 'true',
        API_CLUSTER_SECRET: 'a-cluster-secret-of-at-least-32-chars',
        API_REDIS_HOST: 'redis.internal',
        API_REDIS_USERNAME: 'modelgate',
        API_REDIS_PASSWORD: 's3cret',
        API_REDIS_TLS: 'true',
      });

      expect(clusterConfig().redis).toMatchObject({
        username: 'modelgate',
        password: 's3cret',
        tls: true,
        target: 'rediss://redis.internal:6379/0',
      });
    });

    it('names every bad variable', () => {
      setEnv({
        API_ENABLE_DISTRIBUTED: 'maybe',
        API_REDIS_URL: 'http://redis',
        API_REDIS_DB: '16',
      });

      expect(() => clusterConfig()).toThrow(ConfigValidationError);
      expect(() => clusterConfig()).toThrow(
        /API_ENABLE_DISTRIBUTED[\s\S]*API_REDIS_URL|API_REDIS_URL[\s\S]*API_ENABLE_DISTRIBUTED/,
      );
      expect(() => clusterConfig()).toThrow(/API_REDIS_DB/);
    });
  });

  describe('upstreamConfig', () => {
    it('builds a retry policy with each client’s retry count', () => {
      setEnv({ UPSTREAM_RETRY_BASE_DELAY_MS: '50' });

      expect(upstreamConfig().retryPolicy(5)).toEqual({
        maxRetries: 5,
        baseDelayMs: 50,
        maxDelayMs: 3000,
        maxTotalMs: 15000,
      });
    });
  });
});
