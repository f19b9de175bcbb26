import { runDoctor } from '../src/doctor';
import { stackEnv } from './support/app';
import { withEnvironment } from './support/env';
import { RedisServer, startRedisServer } from './support/redis';
import { sharedStack } from './support/shared-stack';

/** Runs the doctor with `env` over the process environment. */
function doctorWith(env: Record<string, string>): ReturnType<typeof runDoctor> {
  return withEnvironment(env, runDoctor);
}

describe('npm run doctor against real MLflow and Airflow', () => {
  it('passes every check when both servers are reachable with the right credentials', async () => {
    const report = await doctorWith(stackEnv(sharedStack()));

    expect(report.ok).toBe(true);
    expect(report.checks.MLflow.steps.map((s) => s.ok)).toEqual([true, true, true]);
    expect(report.checks.Airflow.steps.map((s) => s.ok)).toEqual([true, true, true]);
  });

  it('names a wrong Airflow password as unauthorized and points at the credential settings', async () => {
    const report = await doctorWith({
      ...stackEnv(sharedStack()),
      AIRFLOW_PASSWORD: 'wrong-password',
    });
    const failed = report.checks.Airflow.steps.find((s) => !s.ok)!;

    expect(report.ok).toBe(false);
    expect(failed.failure).toMatchObject({
      kind: 'unauthorized',
      hint: expect.stringContaining('AIRFLOW_PASSWORD'),
    });
    expect(JSON.stringify(report)).not.toContain('wrong-password');
  });

  it('names a closed port as connection refused, and an unknown host as DNS', async () => {
    const report = await doctorWith({
      ...stackEnv(sharedStack()),
      MLFLOW_TRACKING_URI: 'http://127.0.0.1:9',
      AIRFLOW_BASE_URL: 'http://airflow.invalid:8080',
    });

    expect(report.checks.MLflow.steps[0].failure?.kind).toBe('connection_refused');
    expect(report.checks.Airflow.steps[0].failure?.kind).toBe('dns');
  });

  describe('in distributed mode, against a real Redis', () => {
    let redis: RedisServer;

    beforeAll(async () => {
      redis = await startRedisServer({ password: 'doctor-s3cret' });
    });

    afterAll(() => redis?.stop());

    const distributed = (redisEnv: Record<string, string>) =>
      doctorWith({
        ...stackEnv(sharedStack()),
        API_ENABLE_DISTRIBUTED: 'true',
        API_CLUSTER_SECRET: 'doctor-test-cluster-secret-0123456789',
        ...redisEnv,
      });

    it('connects, pings, writes and reads a key, and lists the instances registered', async () => {
      const report = await distributed({
        API_REDIS_PORT: String(redis.port),
        API_REDIS_PASSWORD: 'doctor-s3cret',
      });

      expect(report.ok).toBe(true);
      expect(report.checks.Redis.target).toBe(`redis://127.0.0.1:${redis.port}/0`);
      expect(report.checks.Redis.steps.map((s) => [s.check, s.ok])).toEqual([
        ['connect', true],
        ['PING', true],
        ['write, read and delete a key', true],
        ['instances registered', true],
      ]);
      expect(report.checks.Redis.steps[3].detail).toBe('none running');
    });

    it('names a wrong password as unauthorized, never showing it', async () => {
      const report = await distributed({
        API_REDIS_URL: `redis://:not-the-password@127.0.0.1:${redis.port}/0`,
      });

      expect(report.ok).toBe(false);
      expect(report.checks.Redis.steps[0].failure).toMatchObject({
        kind: 'unauthorized',
        hint: expect.stringContaining('API_REDIS_PASSWORD'),
      });
      expect(JSON.stringify(report)).not.toContain('not-the-password');
    });

    it('names a closed port as connection refused', async () => {
      const report = await distributed({ API_REDIS_PORT: '9' });

      expect(report.checks.Redis.steps[0].failure?.kind).toBe('connection_refused');
    });
  });
});
