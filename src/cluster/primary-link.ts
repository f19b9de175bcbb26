import { WorkersConfig } from '../config/workers.config';
import { IpcEndpoint, channelToPrimary } from './ipc/ipc-endpoint';

/**
 * A worker's line to its primary (API_WORKERS > 1): the state store, the
 * group's metrics and the list of workers are asked over it, and the primary
 * tells the worker to drain over it. `null` in a single process.
 */
export type PrimaryLink = IpcEndpoint | null;

/** Injection token of the PrimaryLink. */
export const PRIMARY_LINK = Symbol('PRIMARY_LINK');

/**
 * How long a worker waits for the primary's answer. Above the Redis command
 * timeout the primary itself waits (API_REDIS_COMMAND_TIMEOUT, 1 s by
 * default), so a slow Redis reads as Redis, not as a silent primary.
 */
export const PRIMARY_TIMEOUT_MS = 5_000;

/** The link when this process is a worker the primary forked, else null. */
export function primaryLinkOf(workers: Pick<WorkersConfig, 'number'>): PrimaryLink {
  if (workers.number === undefined) return null;
  const channel = channelToPrimary();
  if (!channel)
    throw new Error('MODELGATE_WORKER_NUMBER is set but this process has no IPC channel');
  return new IpcEndpoint(channel, PRIMARY_TIMEOUT_MS);
}
