import { clusterConfig as sut } from './cluster.config';
import { ConfigValidationError } from './env.validation';

/** The distributed-configuration guide's backend variables (issue 16, item 3). */
describe('clusterConfig: the distributed backend variables', () => {
  const original = process.env;
  const distributed = {
    API_ENABLE_DISTRIBUTED: 'true',
    API_CLUSTER_SECRET: 'a-cluster-secret-of-at-least-32-chars',
  };

  afterEach(() => {
    process.env = original;
  });

  it('selects Redis by default in distributed mode', () => {
    process.env = { ...distributed };

    expect(sut()).toMatchObject({
      distributed: true,
      redis: { target: 'redis://127.0.0.1:6379/0' },
    });
  });

  it.each(['API_DISTRIBUTED_BACKEND', 'API_SESSION_STORE', 'API_MEMORY_BACKEND'])(
    'accepts %s=redis, as the guide writes it',
    (variable) => {
      process.env = { ...distributed, [variable]: 'redis' };

      expect(sut()).toMatchObject({ distributed: true, redis: { host: '127.0.0.1' } });
    },
  );

  it.each(['API_DISTRIBUTED_BACKEND', 'API_SESSION_STORE', 'API_MEMORY_BACKEND'])(
    'stops the start when %s names another backend, saying only Redis is supported',
    (variable) => {
      process.env = { ...distributed, [variable]: 'mongodb' };

      expect(() => sut()).toThrow(ConfigValidationError);
      expect(() => sut()).toThrow(`${variable}: only redis is supported`);
    },
  );

  it('names every bad backend variable in one message, never the value', () => {
    process.env = {
      ...distributed,
      API_DISTRIBUTED_BACKEND: 'mongodb',
      API_SESSION_STORE: 'memcached',
      API_MEMORY_BACKEND: 'etcd',
    };

    const error = captured(() => sut());

    expect(error.problems).toEqual([
      'API_DISTRIBUTED_BACKEND: only redis is supported (set it to redis or leave it unset)',
      'API_SESSION_STORE: only redis is supported (set it to redis or leave it unset)',
      'API_MEMORY_BACKEND: only redis is supported (set it to redis or leave it unset)',
    ]);
    expect(error.message).not.toMatch(/mongodb|memcached|etcd/);
  });

  it('checks the backend variables without distributed mode too, so a wrong one never waits to be found', () => {
    process.env = { API_DISTRIBUTED_BACKEND: 'mongodb' };

    expect(() => sut()).toThrow('API_DISTRIBUTED_BACKEND: only redis is supported');
  });

  it('leaves the state in the process when distributed mode is off, whatever the backend says', () => {
    process.env = { API_DISTRIBUTED_BACKEND: 'redis', API_SESSION_STORE: 'redis' };

    expect(sut()).toMatchObject({ distributed: false });
  });
});

function captured(fn: () => unknown): ConfigValidationError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigValidationError) return error;
    throw error;
  }
  throw new Error('expected a ConfigValidationError');
}
