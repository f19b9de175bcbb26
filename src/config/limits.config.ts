import { ConfigType, registerAs } from '@nestjs/config';
import { IsInt, Max, Min } from 'class-validator';
import { Environment, parseEnvironment } from './env.validation';
import { ToNumber } from './env.transforms';

const MIB = 1024 * 1024;

/** The default prediction body limit; deployment/nginx's client_max_body_size matches it. */
export const DEFAULT_MAX_BODY_BYTES = 32 * MIB;

/**
 * How much one request may cost: bytes, decoded elements, nesting, time. Each
 * bound is decided before any model is looked up, so no request can take more
 * memory or time than these allow.
 */
export class LimitsEnvironment {
  /**
   * Bytes of a prediction body (`/invocations`, `/v1/models/…/invocations`,
   * `/v2/models/…/infer`). 100-row requests are a few KB; batch scoring may
   * send MBs. Larger bodies are answered 413 before they are read whole.
   */
  @ToNumber()
  @IsInt()
  @Min(1024)
  @Max(1024 * MIB)
  API_MAX_BODY_BYTES = DEFAULT_MAX_BODY_BYTES;

  /**
   * Bytes of every other body: DAG callbacks and registry webhooks
   * (`/v1/hooks/*`, about 1 KB), training runs (`/v1/training/*`, a conf of a
   * few keys), reload and repository calls.
   */
  @ToNumber()
  @IsInt()
  @Min(256)
  @Max(16 * MIB)
  API_MAX_CONTROL_BODY_BYTES = 16 * 1024;

  /**
   * Values one prediction request may decode to, counted before they are
   * allocated: a data frame's rows × columns (records that each bring other
   * keys make a wide frame of small bodies), a tensor's product of shape.
   * 2^24 admits a 32 MiB body of the densest numbers JSON can hold (`0,` is
   * two bytes per value).
   */
  @ToNumber()
  @IsInt()
  @Min(1)
  @Max(2 ** 31 - 1)
  API_MAX_ELEMENTS = 2 ** 24;

  /**
   * Nesting of a JSON body (objects and lists). A tensor of rank 8 inside the
   * Open Inference envelope is 11 levels; 64 is far beyond any real request
   * and far below what could exhaust the stack.
   */
  @ToNumber()
  @IsInt()
  @Min(8)
  @Max(1000)
  API_MAX_DEPTH = 64;

  /**
   * Milliseconds a client has to send a whole request, headers and body
   * (Node's `server.requestTimeout`): 60 s moves 32 MiB at ~0.5 MB/s. It
   * does not bound the time a prediction takes once received.
   */
  @ToNumber()
  @IsInt()
  @Min(1000)
  @Max(3_600_000)
  API_REQUEST_TIMEOUT_MS = 60_000;

  /**
   * Milliseconds a client has to send the request's headers (Node's
   * `server.headersTimeout`): a client that trickles them (slow loris) is
   * answered 408 and disconnected. At most API_REQUEST_TIMEOUT_MS.
   */
  @ToNumber()
  @IsInt()
  @Min(500)
  @Max(3_600_000)
  API_HEADERS_TIMEOUT_MS = 10_000;

  /**
   * Milliseconds an idle keep-alive connection stays open. Longer than the
   * balancer's own upstream idle timeout (nginx `keepalive_timeout` 60 s, AWS
   * ALB 60 s), so the server never closes a connection the balancer is about
   * to reuse (Fastify's default, 72 s).
   */
  @ToNumber()
  @IsInt()
  @Min(1000)
  @Max(3_600_000)
  API_KEEP_ALIVE_TIMEOUT_MS = 72_000;
}

export interface LimitsSettings {
  maxBodyBytes: number;
  maxControlBodyBytes: number;
  maxElements: number;
  maxDepth: number;
  requestTimeoutMs: number;
  headersTimeoutMs: number;
  keepAliveTimeoutMs: number;
}

/** The limits from an environment; the HTTP adapter needs them before Nest starts. */
export function limitsOf(env: Environment = process.env): LimitsSettings {
  const parsed = parseEnvironment(LimitsEnvironment, env);
  return {
    maxBodyBytes: parsed.API_MAX_BODY_BYTES,
    maxControlBodyBytes: parsed.API_MAX_CONTROL_BODY_BYTES,
    maxElements: parsed.API_MAX_ELEMENTS,
    maxDepth: parsed.API_MAX_DEPTH,
    requestTimeoutMs: parsed.API_REQUEST_TIMEOUT_MS,
    // Node refuses a headers timeout above the request timeout.
    headersTimeoutMs: Math.min(parsed.API_HEADERS_TIMEOUT_MS, parsed.API_REQUEST_TIMEOUT_MS),
    keepAliveTimeoutMs: parsed.API_KEEP_ALIVE_TIMEOUT_MS,
  };
}

export const limitsConfig = registerAs('limits', (): LimitsSettings => limitsOf(process.env));

export type LimitsConfig = ConfigType<typeof limitsConfig>;
