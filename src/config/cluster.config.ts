import { ConfigType, registerAs } from '@nestjs/config';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  ValidateIf,
} from 'class-validator';
import { hostname } from 'node:os';
import { parseEnvironment } from './env.validation';
import { ToBoolean, ToNumber } from './env.transforms';
import { ServerEnvironment } from './server.config';
import { WorkerSettings, readWorkerSettings } from './workers.config';

/** What may hold the shared state in distributed mode: Redis, and nothing else yet. */
export const DISTRIBUTED_BACKENDS = ['redis'] as const;
export type DistributedBackend = (typeof DISTRIBUTED_BACKENDS)[number];

/** One message for the three backend variables of the distributed-configuration guide. */
const onlyRedis = (variable: string): { message: string } => ({
  message: `${variable}: only redis is supported (set it to redis or leave it unset)`,
});

/**
 * Distributed mode: several instances behind a load balancer share state in
 * Redis (heartbeats, reload broadcast, leases, rate-limit counters). Off, one
 * instance keeps that state in memory and needs no Redis. Names follow the
 * distributed-configuration guide (API_ENABLE_DISTRIBUTED, API_REDIS_*).
 */
export class ClusterEnvironment {
  @ToBoolean()
  @IsBoolean()
  API_ENABLE_DISTRIBUTED = false;

  /**
   * The distributed-configuration guide's backend choices: where shared state
   * (API_DISTRIBUTED_BACKEND), sessions (API_SESSION_STORE) and shared
   * counters (API_MEMORY_BACKEND) live. Redis is the only backend, and the
   * default; any other value (the guide's `mongodb`) stops the start. Without
   * API_ENABLE_DISTRIBUTED the state stays in the process and these only
   * have to be valid.
   */
  @IsIn(DISTRIBUTED_BACKENDS, onlyRedis('API_DISTRIBUTED_BACKEND'))
  API_DISTRIBUTED_BACKEND: DistributedBackend = 'redis';

  @IsIn(DISTRIBUTED_BACKENDS, onlyRedis('API_SESSION_STORE'))
  API_SESSION_STORE: DistributedBackend = 'redis';

  @IsIn(DISTRIBUTED_BACKENDS, onlyRedis('API_MEMORY_BACKEND'))
  API_MEMORY_BACKEND: DistributedBackend = 'redis';

  /** One URL instead of the parts below: redis://[:password@]host:port/db, or rediss:// for TLS. */
  @IsOptional()
  @Matches(/^rediss?:\/\/[^\s]+$/, {
    message: 'API_REDIS_URL must be a redis:// or rediss:// URL such as redis://redis:6379/0',
  })
  API_REDIS_URL?: string;

  @IsString()
  @MinLength(1)
  API_REDIS_HOST = '127.0.0.1';

  @ToNumber()
  @IsInt()
  @Min(1)
  @Max(65535)
  API_REDIS_PORT = 6379;

  @ToNumber()
  @IsInt()
  @Min(0)
  @Max(15)
  API_REDIS_DB = 0;

  @IsOptional()
  @IsString()
  API_REDIS_PASSWORD?: string;

  /** A Redis ACL user (Redis 6+) to authenticate as, with API_REDIS_PASSWORD; `default` when unset. */
  @IsOptional()
  @IsString()
  @MinLength(1)
  API_REDIS_USERNAME?: string;

  /** TLS to Redis when it is given by host and port (a rediss:// API_REDIS_URL turns it on too). */
  @ToBoolean()
  @IsBoolean()
  API_REDIS_TLS = false;

  /**
   * The key instances sign broadcasts, lease holders and heartbeats with
   * (HMAC-SHA256): the same on every instance, known to nothing else.
   * Required in distributed mode: without it anyone who can write to Redis
   * could tell every instance which model version to serve.
   */
  @ValidateIf((env: ClusterEnvironment) => env.API_ENABLE_DISTRIBUTED)
  @IsString({ message: 'API_CLUSTER_SECRET is required when API_ENABLE_DISTRIBUTED=true' })
  @MinLength(32, {
    message:
      'API_CLUSTER_SECRET must be at least 32 characters, the same on every instance (e.g. `openssl rand -hex 32`)',
  })
  API_CLUSTER_SECRET?: string;

  /** Prepended to every key and channel, so deployments can share one Redis. */
  @Matches(/^[\w:.-]+$/, {
    message: 'API_REDIS_PREFIX must be letters, digits and "_", ":", ".", "-"',
  })
  API_REDIS_PREFIX = 'modelgate:';

  /** Milliseconds a Redis command may take before it counts as a lost connection. */
  @ToNumber()
  @IsInt()
  @Min(50)
  @Max(60_000)
  API_REDIS_COMMAND_TIMEOUT = 1000;

  /** Longest wait between two reconnection attempts, in milliseconds (backoff doubles up to it). */
  @ToNumber()
  @IsInt()
  @Min(100)
  @Max(600_000)
  API_REDIS_RECONNECT_MAX_DELAY = 5000;

  /** This instance's name in the cluster; hostname and process id when unset. */
  @IsOptional()
  @Matches(/^[\w.:-]+$/, {
    message: 'API_INSTANCE_ID must be letters, digits and "_", ".", ":", "-"',
  })
  API_INSTANCE_ID?: string;

  /** How peers and operators reach this instance (shown in /v1/cluster); http://<hostname>:<API_PORT> when unset. */
  @IsOptional()
  @Matches(/^https?:\/\/[^\s]+$/, { message: 'API_ADVERTISE_URL must be an http(s) URL' })
  API_ADVERTISE_URL?: string;

  /** Seconds between heartbeats; an instance silent for three of them has left. */
  @ToNumber()
  @IsNumber({}, { message: 'CLUSTER_HEARTBEAT_INTERVAL must be a number of seconds' })
  @Min(0.2)
  @Max(60)
  CLUSTER_HEARTBEAT_INTERVAL = 2;

  /** Seconds a leader's lease (the one instance that polls MLflow) lasts without renewal. */
  @ToNumber()
  @IsNumber({}, { message: 'CLUSTER_LEASE_TTL must be a number of seconds' })
  @Min(1)
  @Max(600)
  CLUSTER_LEASE_TTL = 10;

  /** Seconds instances may serve different versions of one reference before topology reports skew. */
  @ToNumber()
  @IsNumber({}, { message: 'CLUSTER_SKEW_GRACE must be a number of seconds' })
  @Min(0)
  @Max(3600)
  CLUSTER_SKEW_GRACE = 10;

  /** Requests one client may make per window on the /v1 and prediction routes; 0 turns limiting off. */
  @ToNumber()
  @IsInt()
  @Min(0)
  API_RATE_LIMIT = 0;

  /** The rate limit's window, in seconds. */
  @ToNumber()
  @IsInt()
  @Min(1)
  @Max(86_400)
  API_RATE_LIMIT_WINDOW = 60;
}

export interface RedisOptions {
  /** redis://host:port/db without the password, for logs and health. */
  target: string;
  url?: string;
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  /** TLS for host/port settings; a rediss:// URL brings its own. */
  tls?: boolean;
  prefix: string;
  commandTimeoutMs: number;
  reconnectMaxDelayMs: number;
}

export const clusterConfig = registerAs('cluster', () => {
  const env = parseEnvironment(ClusterEnvironment, process.env);
  const heartbeatMs = Math.round(env.CLUSTER_HEARTBEAT_INTERVAL * 1000);
  // The port names this instance to its peers: the server namespace's own, validated.
  const port = parseEnvironment(ServerEnvironment, process.env).API_PORT;
  const redis: RedisOptions = {
    target: redisTarget(env),
    url: env.API_REDIS_URL,
    host: env.API_REDIS_HOST,
    port: env.API_REDIS_PORT,
    db: env.API_REDIS_DB,
    username: env.API_REDIS_USERNAME,
    password: env.API_REDIS_PASSWORD,
    tls: env.API_REDIS_TLS,
    prefix: env.API_REDIS_PREFIX,
    commandTimeoutMs: env.API_REDIS_COMMAND_TIMEOUT,
    reconnectMaxDelayMs: env.API_REDIS_RECONNECT_MAX_DELAY,
  };
  const cluster: {
    distributed: boolean;
    redis: RedisOptions;
    /** Signs what instances tell each other (required when distributed). */
    secret?: string;
  } = { distributed: env.API_ENABLE_DISTRIBUTED, redis, secret: env.API_CLUSTER_SECRET };
  return {
    ...cluster,
    instanceId: instanceIdOf(env, readWorkerSettings(process.env)),
    advertiseUrl: env.API_ADVERTISE_URL ?? `http://${hostname()}:${port}`,
    heartbeatMs,
    /** An instance whose heartbeat is older than this has left. */
    instanceTtlMs: heartbeatMs * 3,
    leaseTtlMs: Math.round(env.CLUSTER_LEASE_TTL * 1000),
    skewGraceMs: Math.round(env.CLUSTER_SKEW_GRACE * 1000),
    rateLimit: { limit: env.API_RATE_LIMIT, windowMs: env.API_RATE_LIMIT_WINDOW * 1000 },
  };
});

export type ClusterConfig = ConfigType<typeof clusterConfig>;

/**
 * This process's name in the cluster: API_INSTANCE_ID, or hostname and the
 * pid of the host's (primary) process; a worker adds `:w<number>`, so each
 * worker of a host is told apart in logs, heartbeats and
 * x-modelgate-instance while the host's part stays the same across restarts.
 */
export function instanceIdOf(
  env: Pick<ClusterEnvironment, 'API_INSTANCE_ID'>,
  workers: Pick<WorkerSettings, 'number'>,
): string {
  const pid = workers.number === undefined ? process.pid : process.ppid;
  const host = env.API_INSTANCE_ID ?? `${hostname()}-${pid}`;
  return workers.number === undefined ? host : `${host}:w${workers.number}`;
}

/** Where Redis is, never with its password. */
function redisTarget(env: ClusterEnvironment): string {
  if (!env.API_REDIS_URL) {
    const scheme = env.API_REDIS_TLS ? 'rediss' : 'redis';
    return `${scheme}://${env.API_REDIS_HOST}:${env.API_REDIS_PORT}/${env.API_REDIS_DB}`;
  }
  try {
    const url = new URL(env.API_REDIS_URL);
    url.username = '';
    url.password = '';
    return url.toString();
  } catch {
    return 'redis (unparseable API_REDIS_URL)';
  }
}
