import { timingSafeEqual } from 'node:crypto';
import { ApiKeyEntry, digestOfKey } from '../config/api-keys.parser';
import { Principal } from './principal';

/**
 * The configured API keys, held as SHA-256 digests. A presented key is hashed
 * and compared with every entry in constant time, without stopping at a match:
 * the time taken says nothing about which key, or how much of one, matched.
 */
export class ApiKeyStore {
  private readonly principals: { digest: Buffer; principal: Principal }[];

  constructor(entries: readonly ApiKeyEntry[]) {
    this.principals = entries.map((entry) => ({
      digest: entry.digest,
      principal: {
        name: entry.name,
        kind: 'api-key',
        scopes: new Set(entry.scopes),
        models: entry.models,
      },
    }));
  }

  get size(): number {
    return this.principals.length;
  }

  /** The principal whose key this is, or undefined. */
  lookup(key: string): Principal | undefined {
    const digest = digestOfKey(key);
    let found: Principal | undefined;
    for (const entry of this.principals) {
      // Every entry is compared, match or not (no early exit).
      if (timingSafeEqual(digest, entry.digest) && found === undefined) found = entry.principal;
    }
    return found;
  }
}
