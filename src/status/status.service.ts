import { Injectable } from '@nestjs/common';
import { TopologyService } from '../health/topology.service';
import { ModelRegistry } from '../models/model-registry.service';
import { Rollouts } from '../models/rollouts/rollouts.service';
import { StatusView } from './status.types';

/** Reloads shown on the page, newest first. */
const RELOADS_SHOWN = 15;

@Injectable()
export class StatusService {
  constructor(
    private readonly topology: TopologyService,
    private readonly registry: ModelRegistry,
    private readonly rollouts: Rollouts,
  ) {}

  view(): StatusView {
    const summary = this.topology.summary();
    return {
      service: summary.service,
      version: summary.version,
      status: summary.status,
      ready: summary.ready,
      generatedAt: new Date().toISOString(),
      servers: this.topology.reports(),
      models: this.registry.list().map((m) => ({
        reference: m.key,
        pinned: m.pinned,
        challenger: m.challenger,
        state: m.state,
        version: m.version,
        runtime: m.runtime,
        runtimeReason: m.runtimeReason,
        flavor: m.flavor,
        requests: m.requests,
        loadedAt: m.loadedAt?.toISOString(),
        error: m.lastError?.message,
        veto: m.veto && { version: m.veto.version, reason: m.veto.reason },
        lineage: m.lineage && {
          runId: m.lineage.runId,
          mlflowRunUrl: m.lineage.mlflowRunUrl,
          dagRunId: m.lineage.dagRunId,
          airflowRunUrl: m.lineage.airflowRunUrl,
        },
      })),
      rollouts: this.rollouts.views().map((r) => ({
        name: r.name,
        mode: r.mode,
        percent: r.percent,
        source: r.source,
        champion: { ...r.champion },
        challenger: { ...r.challenger },
        problems: [...r.problems],
      })),
      reloads: this.registry
        .recentReloads()
        .slice(0, RELOADS_SHOWN)
        .map((r) => ({
          at: r.at.toISOString(),
          reference: r.reference,
          status: r.status,
          from: r.from,
          to: r.to,
          trigger: r.trigger,
          error: r.error,
        })),
    };
  }
}
