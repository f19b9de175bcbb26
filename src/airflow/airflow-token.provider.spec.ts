import { Logger } from '@nestjs/common';
import { UpstreamHttp } from '../common/http/upstream-http';
import { FakeRetryEnvironment, FakeTransport } from '../common/testing/fake-transport';
import { UpstreamUnauthorizedError } from '../common/upstream/upstream.error';
import { AirflowTokenProvider, tokenLifetimeMs } from './airflow-token.provider';
import { parseAirflowError } from './airflow.client';

function jwt(claims: Record<string, unknown>): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'HS512', typ: 'JWT' })}.${part(claims)}.sig`;
}

describe('tokenLifetimeMs', () => {
  const now = 1_700_000_000_000;

  it('measures the lifetime from iat to exp, whatever the local clock says', () => {
    expect(tokenLifetimeMs(jwt({ iat: 100, exp: 3700 }), now)).toBe(3_600_000);
  });

  it('measures from now when the token has no iat', () => {
    expect(tokenLifetimeMs(jwt({ exp: now / 1000 + 90 }), now)).toBe(90_000);
  });

  it('never answers a negative lifetime', () => {
    expect(tokenLifetimeMs(jwt({ exp: now / 1000 - 90 }), now)).toBe(0);
  });

  it.each([
    ['no exp claim', jwt({ iat: 1 })],
    ['an opaque token', 'not-a-jwt'],
    ['a payload that is not JSON', 'a.bm90IGpzb24.c'],
    ['a non-numeric exp', jwt({ exp: 'tomorrow' })],
  ])('knows nothing for %s', (_, token) => {
    expect(tokenLifetimeMs(token, now)).toBeUndefined();
  });
});

describe('AirflowTokenProvider', () => {
  let transport: FakeTransport;
  let env: FakeRetryEnvironment;
  let issued: string[];

  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  beforeEach(() => {
    transport = new FakeTransport();
    env = new FakeRetryEnvironment();
    issued = [];
  });

  function create(margin = 60_000): AirflowTokenProvider {
    const http = new UpstreamHttp({
      service: 'airflow',
      baseUrl: 'http://airflow:8080',
      timeoutMs: 1000,
      retry: { maxRetries: 1, baseDelayMs: 10, maxDelayMs: 10, maxTotalMs: 1000 },
      parseErrorBody: parseAirflowError,
      adapter: transport.adapter,
      retryEnvironment: env,
    });
    return new AirflowTokenProvider(http, { username: 'admin', password: 'pw' }, margin, () => env.time);
  }

  function issue(claims: (n: number) => Record<string, unknown> = () => ({ iat: 0, exp: 3600 })) {
    transport.on('POST', '/auth/token', () => {
      const token = jwt({ ...claims(issued.length), n: issued.length + 1 });
      issued.push(token);
      return { status: 201, data: { access_token: token } };
    });
  }

  it('keeps a token without exp for Airflow’s default day', async () => {
    const sut = create();
    issue(() => ({}));

    await sut.token();
    env.advance(24 * 3600_000 - 60_000 - 1);
    await sut.token();
    expect(sut.issuedCount).toBe(1);

    env.advance(1);
    await sut.token();
    expect(sut.issuedCount).toBe(2);
  });

  it('retries the exchange after a transient failure', async () => {
    const sut = create();
    const token = jwt({ iat: 0, exp: 3600 });
    transport.reply(503, {}).reply(201, { access_token: token });

    await expect(sut.token()).resolves.toBe(token);
    expect(transport.requests).toHaveLength(2);
  });

  it('drops the token a failed request used, so the next call exchanges again', async () => {
    const sut = create();
    issue();
    const first = await sut.token();
    env.advance(1000);

    sut.invalidate(first);
    const second = await sut.token();

    expect(second).not.toBe(first);
    expect(sut.issuedCount).toBe(2);
  });

  it('keeps a newer token when an older, rejected one is invalidated', async () => {
    const sut = create();
    issue();
    const token = await sut.token();

    sut.invalidate('an-older-token-another-request-used');

    await expect(sut.token()).resolves.toBe(token);
    expect(sut.issuedCount).toBe(1);
  });

  it('rejects an answer without an access_token', async () => {
    const sut = create();
    transport.on('POST', '/auth/token', { status: 200, data: { token_type: 'bearer' } });

    await expect(sut.token()).rejects.toThrow('without an access_token');
  });

  it('reports wrong credentials as unauthorized and tries again on the next call', async () => {
    const sut = create();
    transport.reply(401, { detail: 'Invalid credentials' });
    transport.reply(201, { access_token: jwt({ iat: 0, exp: 60 }) });

    await expect(sut.token()).rejects.toBeInstanceOf(UpstreamUnauthorizedError);
    await expect(sut.token()).resolves.toEqual(expect.any(String));
    expect(transport.requests).toHaveLength(2);
  });
});
