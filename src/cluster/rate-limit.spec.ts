import { ClusterConfig } from '../config/cluster.config';
import { MemoryStateStore } from './memory-state-store';
import { RateLimiter } from './rate-limit';
import { StateStore, StoreUnavailableError } from './state-store';

const WINDOW_MS = 60_000;

function limiter(store: StateStore, limit = 3): RateLimiter {
  return new RateLimiter(store, { rateLimit: { limit, windowMs: WINDOW_MS } } as ClusterConfig);
}

describe(RateLimiter.name, () => {
  const start = 1_800_000_000_000; // a window boundary: a multiple of 60 s

  it('allows `limit` requests per client per window, then refuses until the window ends', async () => {
    const sut = limiter(new MemoryStateStore(() => start));

    const decisions = [];
    for (let n = 0; n < 4; n++) decisions.push(await sut.take('10.0.0.1', start + 1000));

    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false]);
    expect(decisions.map((d) => d.remaining)).toEqual([2, 1, 0, 0]);
    expect(decisions[3].resetSeconds).toBe(59);
    expect((await sut.take('10.0.0.1', start + WINDOW_MS)).allowed).toBe(true);
  });

  it('counts each client on its own', async () => {
    const sut = limiter(new MemoryStateStore(() => start), 1);

    expect((await sut.take('10.0.0.1', start)).allowed).toBe(true);
    expect((await sut.take('10.0.0.2', start)).allowed).toBe(true);
    expect((await sut.take('10.0.0.1', start)).allowed).toBe(false);
  });

  it('shares the count between instances using one store', async () => {
    const store = new MemoryStateStore(() => start);
    const [a, b] = [limiter(store), limiter(store)];

    await a.take('10.0.0.1', start);
    await b.take('10.0.0.1', start);
    await a.take('10.0.0.1', start);

    expect((await b.take('10.0.0.1', start)).allowed).toBe(false);
  });

  it('counts in this process while the store is unreachable, and never fails the request', async () => {
    const down = {
      increment: () => Promise.reject(new StoreUnavailableError('redis://r:6379/0', 'lost')),
    } as unknown as StateStore;
    const sut = limiter(down, 2);

    const allowed = [];
    for (let n = 0; n < 3; n++) allowed.push((await sut.take('10.0.0.1', Date.now())).allowed);

    expect(allowed).toEqual([true, true, false]);
    await sut.onModuleDestroy();
  });
});
