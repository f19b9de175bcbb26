/** Compare-and-act scripts: Redis runs a script as one step, so no other client acts in between. */
export const SCRIPTS = {
  extendIfHolds: {
    numberOfKeys: 1,
    lua: `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`,
  },
  deleteIfHolds: {
    numberOfKeys: 1,
    lua: `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`,
  },
  /** INCR and a new counter's expiry in one step: no counter is ever left without one. */
  incrementInWindow: {
    numberOfKeys: 1,
    lua: `local count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return count`,
  },
};
