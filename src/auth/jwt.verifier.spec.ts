import { Logger } from '@nestjs/common';
import { JWK, KeyLike, SignJWT, exportJWK, generateKeyPair } from 'jose';
import { AddressInfo } from 'node:net';
import * as http from 'node:http';
import { AuthenticationError, AuthenticationErrorCode } from './authentication.error';
import { JwtSettings, JwtVerifier, scopesOf } from './jwt.verifier';

const ISSUER = 'https://idp.test/';
const AUDIENCE = 'modelgate';

interface SigningKey {
  kid: string;
  privateKey: KeyLike;
  jwk: JWK;
}

async function signingKey(kid: string, alg = 'RS256'): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/** A JWKS endpoint on 127.0.0.1 whose keys (or failure) the test sets. */
class JwksServer {
  keys: JWK[] = [];
  mode: 'serve' | 'fail' | 'hang' = 'serve';
  downloads = 0;
  private readonly server = http.createServer((_req, res) => {
    this.downloads++;
    if (this.mode === 'hang') return; // never answers
    if (this.mode === 'fail') return void res.writeHead(500).end('down');
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ keys: this.keys }));
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/jwks.json`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

interface TokenOptions {
  alg?: string;
  iss?: string;
  aud?: string;
  exp?: string | number;
}

function token(
  key: SigningKey,
  claims: Record<string, unknown> = {},
  { alg = 'RS256', iss = ISSUER, aud = AUDIENCE, exp = '5m' }: TokenOptions = {},
): Promise<string> {
  return new SignJWT({ scope: 'predict read', ...claims })
    .setProtectedHeader({ alg, kid: key.kid })
    .setSubject('client-1')
    .setIssuer(iss)
    .setAudience(aud)
    .setIssuedAt()
    .setExpirationTime(exp)
    .sign(key.privateKey);
}

async function refusal(promise: Promise<unknown>): Promise<AuthenticationError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AuthenticationError) return error;
    throw error;
  }
  throw new Error('expected the token to be refused');
}

describe(JwtVerifier.name, () => {
  let jwks: JwksServer;
  let settings: JwtSettings;
  let first: SigningKey;

  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  beforeEach(async () => {
    jwks = new JwksServer();
    first = await signingKey('key-1');
    jwks.keys = [first.jwk];
    settings = {
      jwksUrl: await jwks.start(),
      issuer: ISSUER,
      audience: AUDIENCE,
      scopesClaim: undefined,
      algorithms: ['RS256', 'ES256', 'EdDSA'],
      clockToleranceSeconds: 30,
      jwksTimeoutMs: 500,
      jwksCooldownMs: 0,
    };
  });

  afterEach(() => jwks.stop());

  it('admits a valid token as its subject with the scopes of "scope"', async () => {
    const sut = new JwtVerifier(settings);

    const principal = await sut.verify(await token(first));

    expect(principal).toEqual({
      name: 'client-1',
      kind: 'jwt',
      scopes: new Set(['predict', 'read']),
    });
  });

  it('downloads the JWKS once for many tokens', async () => {
    const sut = new JwtVerifier(settings);

    for (let i = 0; i < 3; i++) await sut.verify(await token(first));

    expect(jwks.downloads).toBe(1);
  });

  it.each([
    ['an expired token', { exp: Math.floor(Date.now() / 1000) - 120 }, 'the token has expired'],
    ['another audience', { aud: 'someone-else' }, 'the token\'s "aud" claim is not accepted'],
    ['another issuer', { iss: 'https://evil.test/' }, 'the token\'s "iss" claim is not accepted'],
  ])('refuses %s as an invalid token', async (_what, options, message) => {
    const sut = new JwtVerifier(settings);

    const error = await refusal(sut.verify(await token(first, {}, options)));

    expect(error.code).toBe(AuthenticationErrorCode.InvalidToken);
    expect(error.message).toBe(message);
  });

  it('admits a token expired for less than the clock tolerance', async () => {
    const sut = new JwtVerifier(settings);

    await expect(
      sut.verify(await token(first, {}, { exp: Math.floor(Date.now() / 1000) - 10 })),
    ).resolves.toMatchObject({ name: 'client-1' });
  });

  it('refuses a token signed by another key under a known kid', async () => {
    const forger = await signingKey('key-1');
    const sut = new JwtVerifier(settings);

    const error = await refusal(sut.verify(await token(forger)));

    expect(error).toMatchObject({
      code: AuthenticationErrorCode.InvalidToken,
      message: 'the token signature does not verify',
    });
  });

  it('refuses an algorithm outside the list, and HS256 signed with the public key', async () => {
    const es = await signingKey('key-es', 'ES384');
    jwks.keys = [first.jwk, es.jwk];
    const sut = new JwtVerifier(settings);
    const publicAsSecret = new TextEncoder().encode(JSON.stringify(first.jwk));
    const hs = await new SignJWT({ scope: 'admin' })
      .setProtectedHeader({ alg: 'HS256', kid: 'key-1' })
      .setSubject('x')
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime('5m')
      .sign(publicAsSecret);

    expect((await refusal(sut.verify(await token(es, {}, { alg: 'ES384' })))).code).toBe(
      AuthenticationErrorCode.InvalidToken,
    );
    expect((await refusal(sut.verify(hs))).code).toBe(AuthenticationErrorCode.InvalidToken);
  });

  it('refuses an unsigned (alg none) token', async () => {
    const sut = new JwtVerifier(settings);
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const unsigned = `${b64({ alg: 'none' })}.${b64({ sub: 'x', iss: ISSUER, aud: AUDIENCE, exp: 2e9, scope: 'admin' })}.`;

    expect((await refusal(sut.verify(unsigned))).code).toBe(AuthenticationErrorCode.InvalidToken);
  });

  it('downloads the JWKS again for an unknown kid and admits the rotated key', async () => {
    const sut = new JwtVerifier(settings);
    await sut.verify(await token(first));
    const second = await signingKey('key-2');
    jwks.keys = [second.jwk];

    await expect(sut.verify(await token(second))).resolves.toMatchObject({ name: 'client-1' });
    expect(jwks.downloads).toBe(2);
  });

  it('refuses an unknown kid that the fresh JWKS does not have either', async () => {
    const sut = new JwtVerifier(settings);
    const stranger = await signingKey('key-x');

    const error = await refusal(sut.verify(await token(stranger)));

    expect(error).toMatchObject({
      code: AuthenticationErrorCode.InvalidToken,
      message: 'no key of the identity provider matches the token',
    });
  });

  it('answers "JWKS unavailable" when the endpoint fails, is closed, or never answers', async () => {
    jwks.mode = 'fail';
    expect((await refusal(new JwtVerifier(settings).verify(await token(first)))).code).toBe(
      AuthenticationErrorCode.JwksUnavailable,
    );

    jwks.mode = 'hang';
    expect((await refusal(new JwtVerifier(settings).verify(await token(first)))).code).toBe(
      AuthenticationErrorCode.JwksUnavailable,
    );

    await jwks.stop();
    expect((await refusal(new JwtVerifier(settings).verify(await token(first)))).code).toBe(
      AuthenticationErrorCode.JwksUnavailable,
    );
    jwks = new JwksServer(); // afterEach stops a server again
    await jwks.start();
  });

  it('refuses a token without a subject', async () => {
    const sut = new JwtVerifier(settings);
    const anonymous = await new SignJWT({ scope: 'read' })
      .setProtectedHeader({ alg: 'RS256', kid: 'key-1' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime('5m')
      .sign(first.privateKey);

    expect(await refusal(sut.verify(anonymous))).toMatchObject({
      message: 'the token names no subject (sub)',
    });
  });
});

describe('scopesOf', () => {
  it('reads "scope" as space-separated words, ignoring scopes we do not know', () => {
    expect(scopesOf({ scope: 'openid predict  read email' })).toEqual(new Set(['predict', 'read']));
  });

  it('reads "scp" as an array', () => {
    expect(scopesOf({ scp: ['reload', 'profile', 7] })).toEqual(new Set(['reload']));
  });

  it('reads the configured claim instead', () => {
    expect(scopesOf({ scope: 'admin', roles: ['train'] }, 'roles')).toEqual(new Set(['train']));
  });

  it('is empty without any scope claim', () => {
    expect(scopesOf({})).toEqual(new Set());
  });
});
