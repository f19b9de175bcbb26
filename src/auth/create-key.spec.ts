import { parseApiKeys } from '../config/api-keys.parser';
import { ApiKeyStore } from './api-key.store';
import { entryFor, newApiKey } from './create-key';

describe('create-key', () => {
  it('makes distinct keys of 256 random bits', () => {
    const keys = new Set(Array.from({ length: 100 }, newApiKey));

    expect(keys.size).toBe(100);
    for (const key of keys) expect(key).toMatch(/^mg_[A-Za-z0-9_-]{43}$/);
  });

  it('prints an entry with only the hash, which admits the key', () => {
    const key = newApiKey();

    const entry = entryFor(key, 'ci', 'predict+read', 'iris*');

    expect(entry).toMatch(/^ci:predict\+read:iris\*=sha256:[0-9a-f]{64}$/);
    expect(entry).not.toContain(key.slice(3));
    const store = new ApiKeyStore(parseApiKeys(entry, 'API_KEYS_FILE'));
    expect(store.lookup(key)?.name).toBe('ci');
  });

  it('refuses an unknown scope', () => {
    expect(() => entryFor(newApiKey(), 'ci', 'predict+write')).toThrow(/unknown scope "write"/);
  });
});
