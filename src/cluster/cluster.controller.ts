import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiCredentials, ApiJsonAnswer } from '../common/openapi/api-errors.decorator';
import { schemaRef } from '../common/openapi/schema-ref';
import { CLUSTER_SCHEMAS } from './openapi/cluster.schema';
import { ClusterService } from './cluster.service';
import { InstanceRecord, leaderOf } from './cluster.types';
import { PRIMARY_LINK, PrimaryLink } from './primary-link';
import { WORKERS_TOPIC, WorkerView } from './worker-view';

/** `GET /v1/cluster`. */
export interface ClusterView {
  mode: 'distributed' | 'standalone';
  self: string;
  store: { kind: string; target: string; connected: boolean };
  /** False while the store cannot be read: `instances` is the last list seen, as of `asOf`. */
  fresh: boolean;
  asOf: string;
  /** Who holds the lease to poll MLflow (absent when no one does or it cannot be read). */
  leader?: string;
  instances: (InstanceRecord & { uptimeSeconds: number; self: boolean })[];
  /**
   * The worker processes of this host (API_WORKERS > 1), as its primary sees
   * them; each is also an instance above. Absent in a single process, and
   * when the primary did not answer.
   */
  workers?: WorkerView[];
}

@ApiTags('cluster')
@Controller('v1/cluster')
export class ClusterController {
  constructor(
    private readonly cluster: ClusterService,
    @Inject(PRIMARY_LINK) private readonly primary: PrimaryLink,
  ) {}

  @Get()
  @ApiOperation({
    summary:
      'Instances sharing this deployment: address, uptime, health, models and versions, leases',
  })
  @ApiJsonAnswer(200, 'The instances', schemaRef(CLUSTER_SCHEMAS, 'ClusterView'))
  @ApiCredentials('api')
  async view(): Promise<ClusterView> {
    const [membership, workers] = await Promise.all([
      this.cluster.members(),
      this.primary?.request<WorkerView[]>(WORKERS_TOPIC).catch(() => undefined),
    ]);
    const now = Date.now();
    const store = this.cluster.store;
    return {
      mode: this.cluster.distributed ? 'distributed' : 'standalone',
      self: this.cluster.instanceId,
      store: { kind: store.kind, target: store.target, connected: store.connected },
      fresh: membership.fresh,
      asOf: membership.asOf.toISOString(),
      leader: leaderOf(membership.instances)?.id,
      instances: membership.instances.map((instance) => ({
        ...instance,
        uptimeSeconds: Math.round((now - Date.parse(instance.startedAt)) / 1000),
        self: instance.id === this.cluster.instanceId,
      })),
      ...(workers ? { workers } : {}),
    };
  }
}
