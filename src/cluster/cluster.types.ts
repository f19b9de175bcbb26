import type { BindingState } from '../models/model-binding';

/** What an instance says of itself: how it is, and what it serves. */
export type InstanceStatus = 'starting' | 'ok' | 'degraded' | 'unavailable' | 'draining';

export interface ServedModel {
  reference: string;
  version?: string;
  state: BindingState;
}

/** One instance's heartbeat, as kept in the state store under `instances:<id>`. */
export interface InstanceRecord {
  id: string;
  address: string;
  serviceVersion: string;
  pid: number;
  startedAt: string;
  heartbeatAt: string;
  status: InstanceStatus;
  models: ServedModel[];
  /** Leases this instance held at its last heartbeat (`model-refresh`). */
  leases: string[];
}

/** A reference served at more than one version across the cluster. */
export interface VersionSkew {
  reference: string;
  /** version → instance ids serving it. */
  versions: Record<string, string[]>;
  /** When this instance first saw the skew. */
  since: string;
}

/** The lease whose holder polls MLflow for the cluster. */
export const POLLING_LEASE = 'model-refresh';

/** The instance holding the polling lease, as the members' heartbeats say. */
export function leaderOf(instances: readonly InstanceRecord[]): InstanceRecord | undefined {
  return instances.find((instance) => instance.leases.includes(POLLING_LEASE));
}
