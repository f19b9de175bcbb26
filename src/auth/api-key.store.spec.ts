import { parseApiKeys } from '../config/api-keys.parser';
import { ApiKeyStore } from './api-key.store';

const CI = 'mg_ci-key-0123456789abcdefghij';
const OPS = 'mg_ops-key-0123456789abcdefghij';

describe(ApiKeyStore.name, () => {
  const sut = new ApiKeyStore(
    parseApiKeys(`ci:predict+read:iris*=${CI};ops:admin=${OPS}`, 'API_KEYS'),
  );

  it('finds the principal of a key, with its scopes and model patterns', () => {
    const principal = sut.lookup(CI);

    expect(principal).toMatchObject({ name: 'ci', kind: 'api-key' });
    expect([...(principal?.scopes ?? [])]).toEqual(['predict', 'read']);
    expect(principal?.models?.map(String)).toEqual(['/^iris.*$/']);
    expect(sut.lookup(OPS)?.name).toBe('ops');
  });

  it.each([
    ['an unknown key', 'mg_not-a-key-0123456789abcdef'],
    ['a prefix of a key', CI.slice(0, 10)],
    ['a key with more after it', `${CI}x`],
    ['the empty string', ''],
  ])('finds no one for %s', (_what, key) => {
    expect(sut.lookup(key)).toBeUndefined();
  });

  it('finds no one in an empty store', () => {
    expect(new ApiKeyStore([]).lookup(CI)).toBeUndefined();
  });
});
