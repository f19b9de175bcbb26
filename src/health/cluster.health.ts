import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { ClusterService } from '../cluster/cluster.service';
import { InstanceRecord, leaderOf } from '../cluster/cluster.types';
import { ClusterConfig, clusterConfig } from '../config/cluster.config';
import { HealthConfig, healthConfig } from '../config/health.config';
import { VersionSkewError, indicatorFailure } from './failure-classifier';
import { DependencyIndicator } from './health.types';

/** reference → version → instance ids serving it. */
type VersionMap = Record<string, Record<string, string[]>>;

/**
 * The peer instances, in distributed mode: who is there, what each serves,
 * and whether they agree. Instances serving different versions of one
 * reference are normal for the second a reload takes to reach them all;
 * longer than CLUSTER_SKEW_GRACE, it is version skew and the check fails.
 */
@Injectable()
export class ClusterHealthIndicator implements DependencyIndicator {
  readonly name = 'cluster';
  readonly displayName = 'Peer instances';
  readonly target = 'instances registered in Redis';
  /** When each reference was first seen skewed, until it is not. */
  private readonly skewSince = new Map<string, number>();

  constructor(
    private readonly cluster: ClusterService,
    private readonly health: HealthIndicatorService,
    @Inject(clusterConfig.KEY) private readonly config: ClusterConfig,
    @Inject(healthConfig.KEY) private readonly healthSettings: HealthConfig,
  ) {}

  async check(): Promise<HealthIndicatorResult> {
    const indicator = this.health.check(this.name);
    const membership = await this.cluster.members();
    const versions = versionsOf(membership.instances);
    const now = Date.now();
    const skewed: { reference: string; versions: Record<string, string[]>; since: string }[] = [];
    for (const [reference, byVersion] of Object.entries(versions)) {
      if (Object.keys(byVersion).length < 2) {
        this.skewSince.delete(reference);
        continue;
      }
      const since = this.skewSince.get(reference) ?? now;
      this.skewSince.set(reference, since);
      if (now - since >= this.config.skewGraceMs) {
        skewed.push({ reference, versions: byVersion, since: new Date(since).toISOString() });
      }
    }
    for (const reference of this.skewSince.keys()) {
      if (!(reference in versions)) this.skewSince.delete(reference);
    }
    const details = {
      instances: membership.instances.map((i) => ({
        id: i.id,
        address: i.address,
        status: i.status,
        heartbeatAgeMs: now - Date.parse(i.heartbeatAt),
      })),
      fresh: membership.fresh,
      leader: leaderOf(membership.instances)?.id,
      versions,
    };
    if (skewed.length === 0) return indicator.up(details);
    return indicator.down({
      ...details,
      skew: skewed,
      failure: indicatorFailure(this, new VersionSkewError(skewed), this.healthSettings.timeoutMs),
    });
  }
}

/** Which instances serve which version of each reference (loaded versions only). */
function versionsOf(instances: InstanceRecord[]): VersionMap {
  const map: VersionMap = {};
  for (const instance of instances) {
    if (instance.status === 'draining') continue;
    for (const model of instance.models) {
      if (!model.version) continue;
      const byVersion = (map[model.reference] ??= {});
      (byVersion[model.version] ??= []).push(instance.id);
    }
  }
  return map;
}
