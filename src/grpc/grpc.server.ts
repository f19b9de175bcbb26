import { Server, ServerCredentials } from '@grpc/grpc-js';
import { Options, loadSync } from '@grpc/proto-loader';
import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { EventBus, OnAppEvent } from '../common/events/event-bus';
import { InstanceDrainingEvent, ListenerChangedEvent } from '../common/events/event-map';
import { GrpcConfig, GrpcTlsFiles, grpcConfig } from '../config/grpc.config';
import { LimitsConfig, limitsConfig } from '../config/limits.config';
import { GrpcHealth } from './grpc-health';
import { OpenInferenceGrpcService } from './open-inference.grpc-service';

/** Beside this file in src/ and, copied by nest-cli.json's assets, in dist/. */
export const PROTO_FILE = path.join(__dirname, 'proto', 'open-inference.proto');

/** How the messages reach the handlers: see open-inference.messages.ts. */
export const GRPC_LOADER_OPTIONS: Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  arrays: true,
  oneofs: true,
};

/** The gRPC listener as /health/topology shows it. */
export interface GrpcListener {
  host: string;
  port: number;
  tls: 'off' | 'on' | 'mutual';
}

/**
 * The gRPC server: inference.GRPCInferenceService and grpc.health.v1 on
 * API_GRPC_HOST:API_GRPC_PORT, started once the HTTP server listens (main.ts,
 * the test harness) and drained with it on SIGTERM: health NOT_SERVING at
 * once, new calls refused after SHUTDOWN_DRAIN_DELAY, calls in flight given
 * SHUTDOWN_GRACE_PERIOD, then cut.
 */
@Injectable()
export class GrpcServer implements OnModuleDestroy {
  private readonly logger = new Logger(GrpcServer.name);
  private server?: Server;
  private bound?: GrpcListener;
  private readonly timers: NodeJS.Timeout[] = [];
  /** Settles when a drain's tryShutdown has closed every session (their answers flushed). */
  private drained?: Promise<void>;

  constructor(
    @Inject(grpcConfig.KEY) private readonly config: GrpcConfig,
    @Inject(limitsConfig.KEY) private readonly limits: LimitsConfig,
    private readonly service: OpenInferenceGrpcService,
    private readonly health: GrpcHealth,
    private readonly events: EventBus,
  ) {}

  /** Where it listens; undefined before start, when API_GRPC_ENABLED=false, or once stopped. */
  get listener(): GrpcListener | undefined {
    return this.bound;
  }

  /** Binds and serves; resolves to the listener (the port is the bound one when API_GRPC_PORT=0). */
  async start(): Promise<GrpcListener | undefined> {
    if (!this.config.enabled || this.server) return this.bound;
    const definition = loadSync(PROTO_FILE, GRPC_LOADER_OPTIONS);
    const server = new Server({
      // The REST body limit: one message may carry what one request body may.
      'grpc.max_receive_message_length': this.limits.maxBodyBytes,
    });
    server.addService(
      definition['inference.GRPCInferenceService'] as never,
      this.service.handlers(),
    );
    this.health.serveOn(server);
    const address = `${hostForUri(this.config.host)}:${this.config.port}`;
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(address, credentialsOf(this.config.tls), (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
    this.server = server;
    this.bound = { host: this.config.host, port, tls: tlsModeOf(this.config.tls) };
    this.logger.log({ msg: `gRPC listening on ${this.config.host}:${port}`, tls: this.bound.tls });
    this.tell('listening');
    return this.bound;
  }

  @OnAppEvent('instance.draining')
  drain({ drainDelayMs, gracePeriodMs }: InstanceDrainingEvent): void {
    this.health.sync();
    const server = this.server;
    if (!server) return;
    this.later(drainDelayMs, () => {
      this.tell('draining');
      this.drained = new Promise((resolve) =>
        server.tryShutdown(() => {
          this.logger.log('gRPC calls drained');
          resolve();
        }),
      );
      this.later(gracePeriodMs, () => {
        this.logger.warn('grace period over: cancelling gRPC calls still running');
        server.forceShutdown();
      });
    });
  }

  /**
   * Nest closes the modules once the drain saw no call in flight; but a call
   * counts as finished when its handler answered, and its answer may still
   * be on its way out. Cutting the sessions now would turn that answer into
   * CANCELLED, so a drain's graceful close gets FLUSH_TIMEOUT_MS to finish
   * first. Without a drain (app.close() alone) the sessions are cut at once.
   */
  async onModuleDestroy(): Promise<void> {
    this.timers.splice(0).forEach(clearTimeout);
    if (this.drained) await settledWithin(this.drained, FLUSH_TIMEOUT_MS);
    this.server?.forceShutdown();
    if (this.server) this.tell('stopped');
    this.server = undefined;
    this.bound = undefined;
  }

  private tell(state: ListenerChangedEvent['state']): void {
    if (this.bound)
      this.events.emit('listener.changed', { protocol: 'grpc', state, ...this.bound });
  }

  private later(ms: number, run: () => void): void {
    // At once when there is no delay: a timer might fire only after app.close().
    if (ms <= 0) return run();
    const timer = setTimeout(run, ms);
    timer.unref();
    this.timers.push(timer);
  }
}

/** How long app.close() lets a drained server's last answers flush before it cuts the sessions. */
export const FLUSH_TIMEOUT_MS = 2_000;

function settledWithin(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function credentialsOf(tls: GrpcTlsFiles | undefined): ServerCredentials {
  if (!tls) return ServerCredentials.createInsecure();
  return ServerCredentials.createSsl(
    tls.clientCaFile ? readFileSync(tls.clientCaFile) : null,
    [{ cert_chain: readFileSync(tls.certFile), private_key: readFileSync(tls.keyFile) }],
    tls.clientCaFile !== undefined,
  );
}

function tlsModeOf(tls: GrpcTlsFiles | undefined): GrpcListener['tls'] {
  return !tls ? 'off' : tls.clientCaFile ? 'mutual' : 'on';
}

/** An IPv6 address in a target must be bracketed (`[::]:8001`). */
function hostForUri(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
