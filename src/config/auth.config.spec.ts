import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { digestOfKey } from './api-keys.parser';
import { authConfig } from './auth.config';
import { ConfigValidationError } from './env.validation';

const KEY = 'mg_abcdefghijklmnopqrstuvwxyz012345';

describe('authConfig', () => {
  const original = process.env;
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'auth-config-'));
  });

  afterEach(async () => {
    process.env = original;
    await rm(dir, { recursive: true, force: true });
  });

  it('is on by default, with no keys, no JWT, open docs and metrics', () => {
    process.env = {};

    expect(authConfig()).toEqual({
      enabled: true,
      apiKeys: [],
      jwt: undefined,
      metricsToken: undefined,
      docs: 'open',
    });
  });

  it('merges API_KEYS and API_KEYS_FILE', async () => {
    const file = path.join(dir, 'keys');
    await writeFile(file, `# ops\nops:admin=sha256:${'a'.repeat(64)}\n`);
    process.env = { API_KEYS: `ci:predict=${KEY}`, API_KEYS_FILE: file };

    const sut = authConfig();

    expect(sut.apiKeys.map((k) => k.name)).toEqual(['ci', 'ops']);
    expect(sut.apiKeys[0].digest).toEqual(digestOfKey(KEY));
  });

  it('reads the JWT settings, seconds as milliseconds', () => {
    process.env = {
      API_JWT_JWKS_URL: 'https://idp.example.com/.well-known/jwks.json',
      API_JWT_ISSUER: 'https://idp.example.com/',
      API_JWT_AUDIENCE: 'modelgate',
      API_JWT_ALGORITHMS: 'RS256, ES256',
    };

    expect(authConfig().jwt).toEqual({
      jwksUrl: 'https://idp.example.com/.well-known/jwks.json',
      issuer: 'https://idp.example.com/',
      audience: 'modelgate',
      scopesClaim: undefined,
      algorithms: ['RS256', 'ES256'],
      clockToleranceSeconds: 30,
      jwksTimeoutMs: 3000,
      jwksCooldownMs: 30_000,
    });
  });

  it.each([
    [{ API_AUTH: 'maybe' }, /API_AUTH must be on or off/],
    [
      { API_JWT_JWKS_URL: 'https://idp/jwks' },
      /API_JWT_ISSUER is required[\s\S]*API_JWT_AUDIENCE is required/,
    ],
    [{ API_JWT_ALGORITHMS: 'HS256' }, /API_JWT_ALGORITHMS must be/],
    [{ API_JWT_ALGORITHMS: 'none' }, /API_JWT_ALGORITHMS must be/],
    [{ API_DOCS: 'sometimes' }, /API_DOCS must be open, auth or off/],
    [{ METRICS_TOKEN: 'short' }, /METRICS_TOKEN must be at least 16/],
    [{ API_KEYS: `ci:write=${KEY}` }, /API_KEYS entry 1: unknown scope "write"/],
    [{ API_KEYS_FILE: '/no/such/file' }, /API_KEYS_FILE cannot be read \(ENOENT\)/],
  ])('refuses %j with a message naming the variable', (env, message) => {
    process.env = env;

    expect(() => authConfig()).toThrow(ConfigValidationError);
    expect(() => authConfig()).toThrow(message);
  });

  it('never shows a key in its message', async () => {
    const file = path.join(dir, 'keys');
    await writeFile(file, `ci:read=${KEY}\n`);
    process.env = { API_KEYS: `ci:read=${KEY}x;ci:read=${KEY}`, API_KEYS_FILE: file };

    expect(() => authConfig()).toThrow(/API_KEYS entry 2: the name is used/);
    expect(() => authConfig()).toThrow(/API_KEYS_FILE entry 1: the secret must be sha256/);
    expect(() => authConfig()).not.toThrow(KEY);
  });
});
