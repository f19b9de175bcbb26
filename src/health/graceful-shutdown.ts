import { Logger } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import type { Server } from 'node:http';
import { PRIMARY_LINK, PrimaryLink } from '../cluster/primary-link';
import { EventBus } from '../common/events/event-bus';
import { ShutdownConfig, shutdownConfig } from '../config/shutdown.config';
import { LifecycleState } from './lifecycle.state';

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/** Time app.close() (models unloaded, clients closed) gets before the process exits anyway. */
export const CLOSE_TIMEOUT_MS = 10_000;

/**
 * Counts requests in flight and, once the instance drains, answers every
 * response with `Connection: close`, so keep-alive clients reconnect (and
 * reach another instance) instead of reusing a connection about to close.
 */
export function registerLifecycleHooks(fastify: FastifyInstance, lifecycle: LifecycleState): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    lifecycle.requestStarted();
    // 'close' fires once whether the answer was sent or the client went away.
    reply.raw.once('close', () => {
      lifecycle.requestFinished();
      // A connection whose answer went out before draining began stays open
      // once idle; close it now rather than at the keep-alive timeout.
      if (lifecycle.draining) setImmediate(() => fastify.server.closeIdleConnections());
    });
    done();
  });
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    if (lifecycle.draining) void reply.header('connection', 'close');
    done(null, payload);
  });
}

/**
 * SIGTERM / SIGINT in order: readiness turns 503 at once; after
 * SHUTDOWN_DRAIN_DELAY the listener closes (new connections are refused) and
 * idle keep-alive connections are closed; requests already accepted finish,
 * for SHUTDOWN_GRACE_PERIOD at most; only then does Nest close the modules
 * (models unloaded, clients closed) and the process exit.
 *
 * This replaces Nest's enableShutdownHooks, whose order is the other way
 * round: it runs the modules' destroy hooks first and closes the HTTP server
 * last, so requests in flight would meet unloaded models.
 */
export function enableGracefulShutdown(app: NestFastifyApplication): void {
  const lifecycle = app.get(LifecycleState);
  const config = app.get<ShutdownConfig>(shutdownConfig.KEY);
  const logger = new Logger('Shutdown');
  let started = false;

  const onSignal = (signal: NodeJS.Signals) => {
    if (started) {
      logger.warn(`${signal} again while shutting down: still waiting for requests to finish`);
      return;
    }
    started = true;
    void shutdown(app, lifecycle, config, logger, signal).then((code) => process.exit(code));
  };
  for (const signal of SIGNALS) process.on(signal, onSignal);
  // A worker of API_WORKERS > 1 drains when its primary says so (the primary got the signal).
  const primary = app.get<PrimaryLink>(PRIMARY_LINK, { strict: false });
  const stopListening = primary?.on('shutdown', (body) =>
    onSignal((body as { signal?: NodeJS.Signals })?.signal ?? 'SIGTERM'),
  );
  lifecycle.onClose(() => {
    SIGNALS.forEach((signal) => process.removeListener(signal, onSignal));
    stopListening?.();
  });
}

async function shutdown(
  app: NestFastifyApplication,
  lifecycle: LifecycleState,
  config: ShutdownConfig,
  logger: Logger,
  signal: NodeJS.Signals,
): Promise<number> {
  lifecycle.startDraining(`${signal} received`);
  // Other listeners (gRPC) drain on the same clock; their calls count in `lifecycle`.
  app.get(EventBus).emit('instance.draining', {
    drainDelayMs: config.drainDelayMs,
    gracePeriodMs: config.gracePeriodMs,
  });
  if (config.drainDelayMs > 0) await sleep(config.drainDelayMs);

  const server: Server = app.getHttpServer();
  const inFlight = lifecycle.inFlightRequests;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  logger.log({ msg: 'listener closed; waiting for requests in flight', inFlight });

  const drained = await Promise.race([
    Promise.all([closed, lifecycle.whenIdle()]).then(() => true),
    sleep(config.gracePeriodMs).then(() => false),
  ]);
  const abandoned = lifecycle.inFlightRequests;
  if (drained) {
    logger.log({ msg: 'requests drained', finished: inFlight, abandoned: 0 });
  } else {
    logger.warn({
      msg: 'grace period over: closing the connections of requests still running',
      abandoned,
      gracePeriodMs: config.gracePeriodMs,
    });
    server.closeAllConnections();
  }

  const exit = setTimeout(() => {
    logger.error('modules did not close in time; exiting anyway');
    process.exit(1);
  }, CLOSE_TIMEOUT_MS);
  exit.unref();
  try {
    await app.close();
    logger.log({ msg: 'shutdown complete', abandoned });
    return 0;
  } catch (error) {
    logger.error({ msg: 'shutdown failed', error: String(error) });
    return 1;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
