import { CancelSignal, callCancelSignal } from '../inference/cancel-signal';
import { Span, SpanStatusCode, context as traceContext, trace } from '@opentelemetry/api';
import { Metadata, ServerUnaryCall, sendUnaryData, status as GrpcStatus } from '@grpc/grpc-js';
import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { AuthenticationError, AuthenticationErrorCode } from '../auth/authentication.error';
import { Authenticator } from '../auth/authenticator.service';
import { ANONYMOUS, Principal, hasScope, mayUseModel } from '../auth/principal';
import { RateLimitExceededError, RateLimiter } from '../cluster/rate-limit';
import { ErrorDescriber, describeError } from '../common/errors/error-describer';
import { ErrorReportLimiter } from '../common/errors/error-report.limiter';
import { LifecycleState } from '../common/lifecycle/lifecycle.state';
import {
  REQUEST_ID_HEADER,
  requestContext,
  requestIdFrom,
} from '../common/logging/request-context';
import { callerContext, isRecording, startServerSpan } from '../common/tracing/spans';
import { messageOf } from '../common/values';
import { ClusterConfig, clusterConfig } from '../config/cluster.config';
import { ServerConfig, serverConfig } from '../config/server.config';
import { MetricsService } from '../metrics/metrics.service';
import { EventLoopLag } from './event-loop-lag';
import { CallerFacts } from '../inference/caller-key';
import { credentialsOf, firstText } from './grpc-credentials';
import { GrpcRefusal, grpcCodeName, grpcFailureOf } from './grpc-status';
import { RPC_ACCESS, RpcAccess, RpcName } from './rpc-access';

/** What a handler may tell the pipeline about its call, for the log line and metrics. */
export interface CallContext {
  readonly requestId: string;
  /** Aborts when the client cancels the call (or its deadline passes). */
  readonly signal: CancelSignal;
  /** The model and version that answered. */
  answeredBy(model: string, version?: string): void;
  /** Sent in the trailing metadata of a successful answer (the initial metadata has gone out already). */
  addTrailers(pairs: readonly [string, string][]): void;
  /** Who calls (its metadata, credential and peer), for a rollout's sticky key. */
  readonly caller: CallerFacts;
}

export type RpcHandler<Req, Res> = (request: Req, context: CallContext) => Promise<Res>;

/** Probes are polled every few seconds: their lines are debug, as REST's are. */
const QUIET: ReadonlySet<RpcName> = new Set(['ServerLive', 'ServerReady', 'ModelReady']);
/** Predictions are shed under load, nothing else (REST's rule: isPredictionRoute). */
const SHED: ReadonlySet<RpcName> = new Set(['ModelInfer']);
const SHED_RETRY_AFTER_SECONDS = 1;
const GRPC_SERVICE = 'inference.GRPCInferenceService';
/** As REST's authentication hook: about one JWKS download timeout. */
const JWKS_RETRY_AFTER_SECONDS = 5;

/**
 * Everything a gRPC call goes through around its handler, as a REST request
 * goes through the Fastify hooks: a request id (the caller's `x-request-id`
 * or a new one, sent back in the initial metadata, in every log line of the
 * call), the in-flight count the drain waits for, authentication and scopes
 * (rpc-access.ts), the shared rate limit, load shedding, errors described by
 * the same describers the REST filters use, one log line and the metrics.
 */
@Injectable()
export class GrpcCallPipeline implements OnModuleDestroy {
  private readonly logger = new Logger(GrpcCallPipeline.name);
  private readonly reports = new ErrorReportLimiter();
  private readonly lag = new EventLoopLag();

  constructor(
    private readonly auth: Authenticator,
    private readonly rateLimiter: RateLimiter,
    private readonly lifecycle: LifecycleState,
    private readonly metrics: MetricsService,
    @Inject(clusterConfig.KEY) private readonly cluster: ClusterConfig,
    @Inject(serverConfig.KEY) private readonly server: ServerConfig,
  ) {}

  onModuleDestroy(): void {
    this.lag.stop();
  }

  /**
   * A grpc-js unary handler for `rpc`. `modelOf` names the model the call
   * uses, for credentials limited to some models.
   */
  unary<Req, Res>(
    rpc: RpcName,
    describers: readonly ErrorDescriber[],
    handler: RpcHandler<Req, Res>,
    modelOf?: (request: Req) => string,
  ): (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void {
    return (call, callback) => {
      const started = process.hrtime.bigint();
      const requestId = requestIdFrom(firstText(call.metadata, REQUEST_ID_HEADER));
      const initial = new Metadata();
      initial.set(REQUEST_ID_HEADER, requestId);
      initial.set('x-modelgate-instance', this.cluster.instanceId);
      call.sendMetadata(initial);
      this.lifecycle.requestStarted();
      const answered: { model?: string; version?: string } = {};
      const trailers = new Metadata();
      const who: { principal?: Principal } = {};
      const context: CallContext = {
        requestId,
        signal: callCancelSignal(call),
        answeredBy: (model, version) => Object.assign(answered, { model, version }),
        addTrailers: (pairs) => pairs.forEach(([key, value]) => trailers.set(key, value)),
        caller: {
          header: (name) => firstText(call.metadata, name),
          get principal() {
            return who.principal;
          },
          address: addressOf(call.getPeer()),
        },
      };
      const span =
        QUIET.has(rpc) || !isRecording() ? undefined : this.startSpan(rpc, call.metadata);
      const finish = (code: GrpcStatus): void => {
        this.lifecycle.requestFinished();
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        this.record(rpc, code, answered, requestId, seconds);
        if (span) endSpan(span, code);
      };
      const active = span ? trace.setSpan(traceContext.active(), span) : traceContext.active();
      requestContext.run({ requestId }, () => {
        traceContext.with(active, () => {
          this.serve(rpc, call, context, handler, modelOf, who).then(
            (response) => {
              callback(null, response, trailers);
              finish(GrpcStatus.OK);
            },
            (error: unknown) => {
              const failure = this.failureOf(rpc, error, describers, requestId);
              callback(failure);
              finish(failure.code);
            },
          );
        });
      });
    };
  }

  /**
   * The call's server span, continuing the caller's W3C `traceparent`
   * metadata (REST reads the same from its headers). Probes get none, as on REST.
   */
  private startSpan(rpc: RpcName, metadata: Metadata): Span {
    const carrier = {
      traceparent: firstText(metadata, 'traceparent'),
      tracestate: firstText(metadata, 'tracestate'),
    };
    return startServerSpan(`${GRPC_SERVICE}/${rpc}`, callerContext(carrier), {
      'rpc.system': 'grpc',
      'rpc.service': GRPC_SERVICE,
      'rpc.method': rpc,
    });
  }

  private async serve<Req, Res>(
    rpc: RpcName,
    call: ServerUnaryCall<Req, Res>,
    context: CallContext,
    handler: RpcHandler<Req, Res>,
    modelOf: ((request: Req) => string) | undefined,
    who: { principal?: Principal },
  ): Promise<Res> {
    const access = RPC_ACCESS[rpc];
    if (access.kind === 'scope') {
      const principal = await this.authorize(call.metadata, access, () => modelOf?.(call.request));
      who.principal = principal;
      await this.limitRate(principal, call.getPeer());
    }
    if (SHED.has(rpc)) this.shedIfLagging();
    return handler(call.request, context);
  }

  private async authorize(
    metadata: Metadata,
    access: Extract<RpcAccess, { kind: 'scope' }>,
    modelOf: () => string | undefined,
  ): Promise<Principal> {
    if (!this.auth.enabled) return ANONYMOUS;
    let principal: Principal;
    try {
      principal = await this.auth.authenticate(credentialsOf(metadata));
    } catch (error) {
      if (error instanceof AuthenticationError) throw refusalOf(error);
      throw error;
    }
    if (!hasScope(principal, access.scope)) {
      throw new GrpcRefusal(
        GrpcStatus.PERMISSION_DENIED,
        `this call needs the "${access.scope}" scope`,
      );
    }
    const model = access.model && principal.models !== undefined ? modelOf() : undefined;
    if (model !== undefined && !mayUseModel(principal, model)) {
      throw new GrpcRefusal(
        GrpcStatus.PERMISSION_DENIED,
        `this credential may not use the model "${model}"`,
      );
    }
    return principal;
  }

  /** The budget REST's rate limit keeps, keyed the same way: the caller's key, else its address. */
  private async limitRate(principal: Principal, peer: string): Promise<void> {
    if (!this.rateLimiter.enabled) return;
    const client =
      principal.kind === 'anonymous' ? `ip:${addressOf(peer)}` : `key:${principal.name}`;
    const decision = await this.rateLimiter.take(client);
    if (decision.allowed) return;
    const refusal = new RateLimitExceededError(
      decision.limit,
      this.rateLimiter.windowSeconds,
      decision.resetSeconds,
    );
    throw new GrpcRefusal(GrpcStatus.RESOURCE_EXHAUSTED, refusal.message, decision.resetSeconds);
  }

  private shedIfLagging(): void {
    const max = this.server.maxEventLoopDelayMs;
    if (max <= 0 || this.lag.meanMs <= max) return;
    throw new GrpcRefusal(
      GrpcStatus.UNAVAILABLE,
      `overloaded: the event loop lags ${Math.round(this.lag.meanMs)} ms (more than API_MAX_EVENT_LOOP_DELAY_MS=${max}); retry in ${SHED_RETRY_AFTER_SECONDS} s`,
      SHED_RETRY_AFTER_SECONDS,
    );
  }

  private failureOf(
    rpc: RpcName,
    error: unknown,
    describers: readonly ErrorDescriber[],
    requestId: string,
  ): { code: GrpcStatus; details: string; metadata: Metadata } {
    const trailers = new Metadata();
    if (error instanceof GrpcRefusal) {
      if (error.retryAfterSeconds !== undefined) {
        trailers.set('retry-after', String(error.retryAfterSeconds));
      }
      return { code: error.code, details: error.message, metadata: trailers };
    }
    const description = describeError(error, describers);
    this.report(rpc, error, description.status, requestId);
    const details =
      description.status === 500
        ? `${description.message} (request id ${requestId})`
        : description.message;
    return grpcFailureOf({ ...description, message: details }, trailers);
  }

  /** As the REST filters log: 5xx only, once per kind a minute; our faults with their stack. */
  private report(rpc: RpcName, error: unknown, status: number, requestId: string): void {
    if (status < 500) return;
    const decision = this.reports.take(
      `${status} ${error instanceof Error ? error.name : typeof error}`,
    );
    if (!decision.log) return;
    const more = decision.suppressed
      ? ` (${decision.suppressed} more of this kind in the last minute not logged)`
      : '';
    const head = `gRPC ${rpc} → ${status} [request ${requestId}]${more}`;
    if (status === 500) {
      this.logger.error(`${head}: ${error instanceof Error ? error.stack : String(error)}`);
    } else {
      this.logger.warn(`${head}: ${messageOf(error)}`);
    }
  }

  private record(
    rpc: RpcName,
    code: GrpcStatus,
    answered: { model?: string; version?: string },
    requestId: string,
    seconds: number,
  ): void {
    const name = grpcCodeName(code);
    this.metrics.grpcRequest({ method: rpc, code: name, ...answered }, seconds);
    const line: Record<string, unknown> = {
      msg: 'request',
      requestId,
      method: 'gRPC',
      route: `/inference.GRPCInferenceService/${rpc}`,
      status: name,
      ms: Math.round(seconds * 100_000) / 100,
    };
    if (answered.model !== undefined) line.model = answered.model;
    if (answered.version !== undefined) line.version = answered.version;
    const serverFault = code === GrpcStatus.INTERNAL || code === GrpcStatus.UNKNOWN;
    this.logger[QUIET.has(rpc) ? 'debug' : serverFault ? 'warn' : 'log'](line);
  }
}

/** Ends a call's span; only the server's own faults mark it failed (a refusal is the caller's). */
function endSpan(span: Span, code: GrpcStatus): void {
  span.setAttribute('rpc.grpc.status_code', code);
  if (code === GrpcStatus.INTERNAL || code === GrpcStatus.UNKNOWN) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: grpcCodeName(code) });
  }
  span.end();
}

/** The same refusals REST's authentication hook answers (401, 503 while the JWKS is down). */
function refusalOf(error: AuthenticationError): GrpcRefusal {
  switch (error.code) {
    case AuthenticationErrorCode.JwksUnavailable:
      return new GrpcRefusal(GrpcStatus.UNAVAILABLE, error.message, JWKS_RETRY_AFTER_SECONDS);
    case AuthenticationErrorCode.InvalidToken:
    case AuthenticationErrorCode.MissingCredentials:
    case AuthenticationErrorCode.UnknownKey:
      return new GrpcRefusal(GrpcStatus.UNAUTHENTICATED, error.message);
  }
}

/** `ipv4:127.0.0.1:5000`, `127.0.0.1:5000` or `[::1]:5000` without the port. */
function addressOf(peer: string): string {
  const bare = peer.replace(/^ipv[46]:/, '');
  const bracketed = /^\[([^\]]+)\]/.exec(bare);
  if (bracketed) return bracketed[1];
  const colon = bare.lastIndexOf(':');
  return colon > 0 && bare.indexOf(':') === colon ? bare.slice(0, colon) : bare;
}
