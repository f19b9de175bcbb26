import type { DependencyReport } from '../health/health.types';
import type { ServiceStatus } from '../health/topology.service';

/** Everything the status page shows, as plain data (the renderer is a pure function of it). */
export interface StatusView {
  service: string;
  version: string;
  status: ServiceStatus;
  ready: boolean;
  generatedAt: string;
  servers: DependencyReport[];
  models: {
    reference: string;
    pinned: boolean;
    /** A rollout's challenger. */
    challenger?: boolean;
    state: string;
    version?: string;
    runtime?: string;
    /** Why that runtime serves it. */
    runtimeReason?: string;
    flavor?: string;
    requests?: number;
    loadedAt?: string;
    error?: string;
    /** A version vetoed for it: the rollout watch found it bad and could not move the alias back. */
    veto?: { version: string; reason: string };
    /** Where the served version came from (read at load). */
    lineage?: {
      runId?: string;
      mlflowRunUrl?: string;
      dagRunId?: string;
      airflowRunUrl?: string;
    };
  }[];
  /** Champion and challenger of each model with a rollout (issue 13 part 2). */
  rollouts?: {
    name: string;
    mode: string;
    percent: number;
    source: string;
    champion: RolloutSide;
    challenger: RolloutSide;
    problems: string[];
  }[];
  reloads: {
    at: string;
    reference: string;
    status: string;
    from?: string;
    to?: string;
    trigger: string;
    error?: string;
  }[];
}

/** One side of a rollout on the page. */
export interface RolloutSide {
  alias: string;
  reference: string;
  version?: string;
  state?: string;
  error?: string;
}
