import { MlflowConfig } from '../config/mlflow.config';
import { mlflowAuthHeaders as sut } from './mlflow.module';

function config(overrides: Partial<MlflowConfig> = {}): MlflowConfig {
  return {
    trackingUri: 'http://mlflow:5000',
    token: undefined,
    username: undefined,
    password: undefined,
    insecureTls: false,
    timeoutMs: 10_000,
    maxRetries: 3,
    artifactDownloadTimeoutMs: 300_000,
    ...overrides,
  };
}

describe('mlflowAuthHeaders', () => {
  it('sends basic credentials when a username and password are set', () => {
    expect(sut(config({ username: 'alice', password: 's3cret' }))).toEqual({
      Authorization: `Basic ${Buffer.from('alice:s3cret').toString('base64')}`,
    });
  });

  it('prefers basic credentials over a token, as MLflow does', () => {
    const headers = sut(config({ username: 'alice', password: 's3cret', token: 'tok' }));

    expect(headers.Authorization).toMatch(/^Basic /);
  });

  it('sends a bearer token when only a token is set', () => {
    expect(sut(config({ token: 'tok-123' }))).toEqual({ Authorization: 'Bearer tok-123' });
  });

  it('falls back to the token when the password is missing', () => {
    expect(sut(config({ username: 'alice', token: 'tok-123' }))).toEqual({
      Authorization: 'Bearer tok-123',
    });
  });

  it('sends no credentials when none are configured', () => {
    expect(sut(config())).toEqual({});
  });

  it('encodes non-ASCII credentials as UTF-8', () => {
    const headers = sut(config({ username: 'jöran', password: 'pä:ss' }));

    expect(Buffer.from(headers.Authorization.slice(6), 'base64').toString('utf8')).toBe(
      'jöran:pä:ss',
    );
  });
});
