import { Counter } from 'prom-client';
import { ClusterMessageRejections, REJECTION_REASONS } from '../cluster/signing-state-store';
import { MetricsService } from './metrics.service';

/**
 * `modelgate_cluster_messages_rejected_total{reason}`: broadcasts and shared
 * values dropped because no instance signed them (unsigned, bad-signature) or
 * they were old news (stale, replayed). Anything above 0 means something other
 * than our instances writes to Redis, or an instance has another API_CLUSTER_SECRET.
 */
export function registerClusterMessageMetrics(
  metrics: MetricsService,
  rejections: ClusterMessageRejections,
): void {
  if (!metrics.enabled) return;
  new Counter({
    name: 'modelgate_cluster_messages_rejected_total',
    help: 'Messages between instances dropped, by reason (unsigned, bad-signature, stale, replayed)',
    labelNames: ['reason'],
    registers: [metrics.registry],
    collect() {
      this.reset();
      const counts = rejections.snapshot();
      for (const reason of REJECTION_REASONS) this.inc({ reason }, counts[reason]);
    },
  });
}
