/**
 * A TTL as both state stores take it: whole, positive milliseconds, as Redis's
 * PX and PEXPIRE do (PEXPIRE 0 would delete the key). The memory store refuses
 * the same values, so code tested on it behaves the same on Redis.
 */
export function checkTtl(ttlMs: number): number {
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) {
    throw new RangeError(`a TTL must be a whole, positive number of milliseconds, not ${ttlMs}`);
  }
  return ttlMs;
}
