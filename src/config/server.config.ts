import { ConfigType, registerAs } from '@nestjs/config';
import { IsIn, IsInt, IsString, Matches, Max, Min, NotEquals } from 'class-validator';
import { Environment, parseEnvironment } from './env.validation';
import { ToNumber } from './env.transforms';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'] as const;

export class ServerEnvironment {
  @IsString()
  API_HOST = '0.0.0.0';

  @ToNumber()
  @IsInt()
  @Min(1)
  @Max(65535)
  API_PORT = 8000;

  /**
   * Which proxies' X-Forwarded-For to believe for the client's address (rate
   * limits, logs): `false` (none) or a comma-separated list of the proxies'
   * addresses / CIDR ranges. Never `true`: believing any hop lets a client
   * name its own address in X-Forwarded-For and so pick its rate-limit bucket.
   */
  @NotEquals('true', {
    message:
      'API_TRUST_PROXY=true would let any client choose its address through X-Forwarded-For: list the proxies instead (e.g. 127.0.0.1,10.0.0.0/8)',
  })
  @Matches(/^(false|[\w.:/]+(\s*,\s*[\w.:/]+)*)$/, {
    message: 'API_TRUST_PROXY must be false or a comma-separated list of addresses/CIDRs',
  })
  API_TRUST_PROXY = 'false';

  /**
   * Predictions are shed (503, Retry-After) while the event loop's mean lag
   * over the last second is above this many ms; probes never are. 0 turns it
   * off. 1000: the loop is then blocked nearly the whole second, which no
   * healthy load does, so shedding starts only when answers would be late anyway.
   */
  @ToNumber()
  @IsInt()
  @Min(0)
  API_MAX_EVENT_LOOP_DELAY_MS = 1000;

  @IsIn(LOG_LEVELS)
  LOG_LEVEL: (typeof LOG_LEVELS)[number] = 'log';
}

export const serverConfig = registerAs('server', () => {
  const env = parseEnvironment(ServerEnvironment, process.env);
  return {
    host: env.API_HOST,
    port: env.API_PORT,
    logLevel: env.LOG_LEVEL,
    trustProxy: parseTrustProxy(env.API_TRUST_PROXY),
    maxEventLoopDelayMs: env.API_MAX_EVENT_LOOP_DELAY_MS,
  };
});

/** Fastify's `trustProxy`, read before Nest starts (the HTTP adapter is made first). */
export function trustProxyOf(env: Environment = process.env): false | string[] {
  return parseTrustProxy(env.API_TRUST_PROXY ?? 'false');
}

/**
 * API_TRUST_PROXY as Fastify's `trustProxy` option: the proxies' addresses
 * (proxy-addr then takes the client's address from X-Forwarded-For only over
 * hops it trusts). `true` is refused by validation; here it throws too, so
 * no path that skips validation can trust every hop.
 */
export function parseTrustProxy(value: string): false | string[] {
  if (value.trim() === 'true') {
    throw new Error("API_TRUST_PROXY=true is not accepted: list the proxies' addresses/CIDRs");
  }
  if (value.trim() === 'false') return false;
  return value.split(',').map((entry) => entry.trim());
}

export type ServerConfig = ConfigType<typeof serverConfig>;
