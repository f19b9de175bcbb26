import { createHash } from 'node:crypto';
import { ApiKeyListError, digestOfKey, mergeApiKeys, parseApiKeys as sut } from './api-keys.parser';

const KEY = 'mg_abcdefghijklmnopqrstuvwxyz012345';
const HEX = createHash('sha256').update(KEY).digest('hex');

describe('parseApiKeys', () => {
  it('reads name, scopes joined by "+" or ",", models, and a plaintext key as its SHA-256', () => {
    const [entry] = sut(`ci:predict+read,reload:iris*,wine=${KEY}`, 'API_KEYS');

    expect(entry.name).toBe('ci');
    expect(entry.scopes).toEqual(['predict', 'read', 'reload']);
    expect(entry.models?.map(String)).toEqual(['/^iris.*$/', '/^wine$/']);
    expect(entry.digest.toString('hex')).toBe(HEX);
  });

  it('reads a sha256:<hex> secret as the digest itself', () => {
    const [entry] = sut(`ops:admin=sha256:${HEX.toUpperCase()}`, 'API_KEYS');

    expect(entry.digest.toString('hex')).toBe(HEX);
    expect(entry.models).toBeUndefined();
  });

  it('reads ";"-separated entries and lines, skipping blanks and # comments', () => {
    const entries = sut(
      `# the CI key\na:predict=sha256:${HEX}; \n\nb:read=${'x'.repeat(20)}\n`,
      'API_KEYS',
    );

    expect(entries.map((e) => e.name)).toEqual(['a', 'b']);
  });

  it('reads the JSON form with "key" or "sha256"', () => {
    const entries = sut(
      JSON.stringify([
        { name: 'a', scopes: ['predict'], models: ['iris'], key: KEY },
        { name: 'b', scopes: ['read'], sha256: 'f'.repeat(64) },
      ]),
      'API_KEYS',
    );

    expect(entries.map((e) => [e.name, e.digest.toString('hex')])).toEqual([
      ['a', HEX],
      ['b', 'f'.repeat(64)],
    ]);
  });

  it('is empty for an empty list', () => {
    expect(sut('  ', 'API_KEYS')).toEqual([]);
  });

  it.each([
    ['no secret', 'ci:predict', /entry 1: expected name:scopes\[:models\]=secret/],
    ['an unknown scope', `ci:predict+write=${KEY}`, /entry 1: unknown scope "write"/],
    ['no scope', `ci:=${KEY}`, /entry 1: no scope/],
    ['a bad name', `c i:read=${KEY}`, /entry 1: the name must be/],
    ['a short key', 'ci:read=short', /entry 1: the key must be 16-512 characters/],
    ['a bad hash', 'ci:read=sha256:abc', /entry 1: the key must be/],
    ['too many fields', `ci:read:iris:x=${KEY}`, /entry 1: expected/],
    ['an empty model list', `ci:read:=${KEY}`, /entry 1: an empty model list/],
    [
      'a repeated name',
      `a:read=${KEY};a:read=sha256:${'0'.repeat(64)}`,
      /entry 2: the name is used/,
    ],
    ['a repeated key', `a:read=${KEY};b:read=sha256:${HEX}`, /entry 2: the key is the same/],
    ['bad JSON', '[{', /API_KEYS starts with "\[" but is not valid JSON/],
    [
      'JSON with both secrets',
      `[{"name":"a","scopes":["read"],"key":"${KEY}","sha256":"${HEX}"}]`,
      /exactly one/,
    ],
  ])('refuses %s, naming the entry and never the key', (_what, text, message) => {
    expect(() => sut(text, 'API_KEYS')).toThrow(ApiKeyListError);
    expect(() => sut(text, 'API_KEYS')).toThrow(message);
    expect(() => sut(text, 'API_KEYS')).not.toThrow(KEY);
  });

  it('refuses a plaintext key in API_KEYS_FILE: the file holds hashes only', () => {
    expect(() => sut(`ci:read=${KEY}`, 'API_KEYS_FILE')).toThrow(
      'API_KEYS_FILE entry 1: the secret must be sha256:<64 hex digits> (the file holds no key)',
    );
    expect(() =>
      sut(JSON.stringify([{ name: 'a', scopes: ['read'], key: KEY }]), 'API_KEYS_FILE'),
    ).toThrow(/the file holds no key/);
  });
});

describe('mergeApiKeys', () => {
  it('refuses a file entry whose name or key is in API_KEYS', () => {
    const env = sut(`a:read=${KEY}`, 'API_KEYS');

    expect(() => mergeApiKeys(env, sut(`b:read=sha256:${HEX}`, 'API_KEYS_FILE'))).toThrow(
      'API_KEYS_FILE entry 1: the name or key is already in API_KEYS',
    );
    expect(mergeApiKeys(env, sut(`b:read=sha256:${'1'.repeat(64)}`, 'API_KEYS_FILE'))).toHaveLength(
      2,
    );
  });
});

describe('digestOfKey', () => {
  it('is the SHA-256 of the UTF-8 text', () => {
    expect(digestOfKey(KEY).toString('hex')).toBe(HEX);
  });
});
