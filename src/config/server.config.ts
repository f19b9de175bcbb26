import { ConfigType, registerAs } from '@nestjs/config';
import { IsIn, IsInt, IsString, Matches, Max, Min } from 'class-validator';
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
   * limits, logs): `false` (none), `true` (any: only behind a balancer clients
   * cannot bypass), or a comma-separated list of addresses / CIDR ranges.
   */
  @Matches(/^(true|false|[\w.:/]+(\s*,\s*[\w.:/]+)*)$/, {
    message: 'API_TRUST_PROXY must be true, false or a comma-separated list of addresses/CIDRs',
  })
  API_TRUST_PROXY = 'false';

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
  };
});

/** Fastify's `trustProxy`, read before Nest starts (the HTTP adapter is made first). */
export function trustProxyOf(env: Environment = process.env): boolean | string[] {
  return parseTrustProxy(env.API_TRUST_PROXY ?? 'false');
}

/** API_TRUST_PROXY as Fastify's `trustProxy` option. */
export function parseTrustProxy(value: string): boolean | string[] {
  if (value === 'true' || value === 'false') return value === 'true';
  return value.split(',').map((entry) => entry.trim());
}

export type ServerConfig = ConfigType<typeof serverConfig>;
