import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { principalOf } from '../auth/principal';
import { sendErrorReply } from '../common/http/error-reply';
import { ClusterConfig, clusterConfig } from '../config/cluster.config';
import { MemoryStateStore } from './memory-state-store';
import { STATE_STORE, StateStore } from './state-store';

/** A client made more requests in this window than API_RATE_LIMIT allows (429). */
export class RateLimitExceededError extends Error {
  constructor(
    readonly limit: number,
    readonly windowSeconds: number,
    readonly retryAfterSeconds: number,
  ) {
    super(
      `rate limit exceeded: at most ${limit} requests per ${windowSeconds} s from one client; retry in ${retryAfterSeconds} s`,
    );
    this.name = 'RateLimitExceededError';
  }
}

export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the window resets. */
  resetSeconds: number;
}

/**
 * Fixed-window request counters per client, kept in the state store so every
 * instance counts against the same budget (a client spread over three
 * instances by the balancer gets the limit once, not three times). While the
 * store cannot be reached each instance counts on its own: limits loosen, no
 * request fails for want of a counter.
 */
@Injectable()
export class RateLimiter implements OnModuleDestroy {
  private readonly local = new MemoryStateStore();

  constructor(
    @Inject(STATE_STORE) private readonly store: StateStore,
    @Inject(clusterConfig.KEY) private readonly config: ClusterConfig,
  ) {}

  get enabled(): boolean {
    return this.config.rateLimit.limit > 0;
  }

  get windowSeconds(): number {
    return this.config.rateLimit.windowMs / 1000;
  }

  async onModuleDestroy(): Promise<void> {
    await this.local.stop();
  }

  async take(client: string, now = Date.now()): Promise<RateDecision> {
    const { limit, windowMs } = this.config.rateLimit;
    const window = Math.floor(now / windowMs);
    const key = `ratelimit:${window}:${client}`;
    const count = await this.store
      .increment(key, windowMs)
      .catch(() => this.local.increment(key, windowMs));
    return {
      allowed: count <= limit,
      limit,
      remaining: Math.max(0, limit - count),
      resetSeconds: Math.max(1, Math.ceil(((window + 1) * windowMs - now) / 1000)),
    };
  }
}

/** Routes never limited: probes (ours, MLflow's /ping, Open Inference's), metrics, the status page, docs, hooks. */
const EXEMPT = /^\/(?:$|[?#]|health|ping|v2\/health|metrics|status|docs|v1\/hooks\/)/;

/**
 * Who a request counts against: the API key (or JWT subject) when
 * authentication named one, so callers behind one NAT or proxy do not share a
 * budget and one caller cannot dodge it by changing address; otherwise the
 * client's address as Fastify read it (X-Forwarded-For only over the proxies
 * API_TRUST_PROXY lists). With API_AUTH=off every caller is `anonymous`: the
 * address is what tells them apart.
 */
export function rateLimitClientOf(request: FastifyRequest): string {
  const principal = principalOf(request);
  if (principal && principal.kind !== 'anonymous') return `key:${principal.name}`;
  return `ip:${request.ip}`;
}

/**
 * Applies the rate limit to predictions and the /v1 API in Fastify's
 * `onRequest`, before any body is read or parsed: a refused caller costs a
 * counter increment, not a decode. Answers carry RateLimit-* headers; a
 * refusal is a 429 with Retry-After, in the route's own error format.
 * Register it after authentication: the budget is keyed by the caller.
 */
export function registerRateLimit(fastify: FastifyInstance, limiter: RateLimiter): void {
  if (!limiter.enabled) return;
  fastify.addHook('onRequest', async (request, reply) => {
    if (EXEMPT.test(request.url)) return;
    const decision = await limiter.take(rateLimitClientOf(request));
    void reply.header('ratelimit-limit', decision.limit);
    void reply.header('ratelimit-remaining', decision.remaining);
    void reply.header('ratelimit-reset', decision.resetSeconds);
    if (decision.allowed) return;
    const refusal = new RateLimitExceededError(
      decision.limit,
      limiter.windowSeconds,
      decision.resetSeconds,
    );
    void reply.header('retry-after', decision.resetSeconds);
    return sendErrorReply(reply, request.url, {
      status: 429,
      code: 'REQUEST_LIMIT_EXCEEDED',
      message: refusal.message,
    });
  });
}
