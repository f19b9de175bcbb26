/** What a worker's slot is doing, as the primary sees it. */
export type WorkerState =
  'starting' | 'listening' | 'draining' | 'restarting' | 'exited' | 'given-up';

/** One worker of this host (API_WORKERS > 1), as `GET /v1/cluster` lists it. */
export interface WorkerView {
  /** Its slot, 1..API_WORKERS, kept across restarts. */
  number: number;
  /** Its instance id (x-modelgate-instance, heartbeats, logs). */
  id: string;
  pid?: number;
  startedAt?: string;
  /** Times this slot's worker was started again after dying. */
  restarts: number;
  state: WorkerState;
  lastExit?: { code: number | null; signal: string | null; at: string };
}

/** The IPC topic a worker asks the primary for the list on. */
export const WORKERS_TOPIC = 'workers.list';
