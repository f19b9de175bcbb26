import { Logger } from '@nestjs/common';
import cluster from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import { messageOf } from '../common/values';
import { IpcEndpoint } from '../cluster/ipc/ipc-endpoint';
import { PRIMARY_TIMEOUT_MS } from '../cluster/primary-link';
import { ClusterMessageRejections } from '../cluster/signing-state-store';
import { createStateStore } from '../cluster/state-store.factory';
import { StateStoreHost } from '../cluster/state-store-host';
import { WORKERS_TOPIC } from '../cluster/worker-view';
import { clusterConfig } from '../config/cluster.config';
import { metricsConfig } from '../config/metrics.config';
import { shutdownConfig } from '../config/shutdown.config';
import { WorkerSettings } from '../config/workers.config';
import { registerClusterMessageMetrics } from '../metrics/cluster-metrics';
import { METRICS_TOPICS, MetricsService, WorkerMetrics } from '../metrics/metrics.service';
import { WorkerSupervisor } from './worker-supervisor';

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;
/** A worker's own metrics must come back within this, or the group's answer goes without them. */
const COLLECT_TIMEOUT_MS = 2_000;
/**
 * Past a worker's own deadline (drain delay + grace period + the 10 s its
 * modules get to close, graceful-shutdown.ts), plus time to exit.
 */
const EXIT_MARGIN_MS = 15_000;

/**
 * The primary of API_WORKERS > 1: no Nest app, no listener of its own. It
 * forks the workers (they share API_PORT and API_GRPC_PORT through
 * node:cluster), restarts those that die, holds the host's one state store
 * (memory, or signed Redis with API_ENABLE_DISTRIBUTED) for them, aggregates
 * their metrics, and on SIGTERM / SIGINT has each drain and exits once all
 * have: 0 when every one drained.
 */
export async function runPrimary(settings: WorkerSettings): Promise<void> {
  const logger = new Logger('Primary');
  const config = clusterConfig();
  const shutdown = shutdownConfig();
  const metrics = new MetricsService(metricsConfig());
  const rejections = new ClusterMessageRejections();
  registerClusterMessageMetrics(metrics, rejections);

  const store = createStateStore(config, rejections);
  await store
    .start()
    .catch((error: unknown) =>
      logger.warn(
        `starting without the state store (${messageOf(error)}); retrying in the background`,
      ),
    );
  const host = new StateStoreHost(store);

  // Before the first fork: Node reads it when a worker first listens.
  cluster.schedulingPolicy = settings.scheduling === 'os' ? cluster.SCHED_NONE : cluster.SCHED_RR;
  const supervisor: WorkerSupervisor = new WorkerSupervisor({
    count: settings.count,
    idOf: (number) => `${config.instanceId}:w${number}`,
    timeoutMs: PRIMARY_TIMEOUT_MS,
    fork: (number) => cluster.fork({ MODELGATE_WORKER_NUMBER: String(number) }),
    attach: (endpoint: IpcEndpoint) => {
      const detach = host.serve(endpoint);
      endpoint.handle(METRICS_TOPICS.aggregate, () => aggregate());
      endpoint.handle(WORKERS_TOPIC, () => supervisor.view());
      return detach;
    },
    onAllGivenUp: () => {
      logger.fatal('every worker crash-looped and was given up: exiting');
      void store.stop().finally(() => process.exit(1));
    },
  });

  metrics.gaugeFrom(
    'workers',
    'Worker processes of this host by state (API_WORKERS)',
    ['state'],
    () => {
      const counts = new Map<string, number>();
      for (const worker of supervisor.view()) {
        counts.set(worker.state, (counts.get(worker.state) ?? 0) + 1);
      }
      return [...counts].map(([state, value]) => ({ labels: { state }, value }));
    },
  );
  metrics.counterFrom('worker_restarts_total', 'Workers started again after dying', () =>
    supervisor.view().reduce((total, worker) => total + worker.restarts, 0),
  );

  /** Every worker's registry and the primary's own, combined as each metric's `aggregator` says. */
  async function aggregate(): Promise<{ contentType: string; body: string }> {
    const collected = await Promise.all(
      supervisor
        .endpoints()
        .map((endpoint) =>
          endpoint
            .request<WorkerMetrics>(METRICS_TOPICS.collect, undefined, COLLECT_TIMEOUT_MS)
            .catch(() => undefined),
        ),
    );
    const parts = [await metrics.registry.getMetricsAsJSON(), ...collected.filter(isDefined)];
    const registry = AggregatorRegistry.aggregate(parts);
    return { contentType: registry.contentType, body: await registry.metrics() };
  }

  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn(`${signal} again: still waiting for the workers to drain`);
      return;
    }
    stopping = true;
    logger.log({ msg: `${signal} received: draining every worker`, workers: settings.count });
    const deadline = shutdown.drainDelayMs + shutdown.gracePeriodMs + EXIT_MARGIN_MS;
    void supervisor
      .shutdown(signal, deadline)
      .then(async (drained) => {
        await store.stop().catch(() => undefined);
        logger.log({ msg: drained ? 'every worker drained' : 'some workers did not drain' });
        process.exit(drained ? 0 : 1);
      })
      .catch((error: unknown) => {
        logger.error(`shutdown failed: ${messageOf(error)}`);
        process.exit(1);
      });
  };
  for (const signal of SIGNALS) process.on(signal, onSignal);

  supervisor.start();
  logger.log({ msg: `primary of ${settings.count} workers`, pid: process.pid, store: store.kind });
}

function isDefined<T>(value: T | undefined): value is T {
  return value !== undefined;
}
