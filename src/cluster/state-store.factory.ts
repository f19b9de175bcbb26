import { ClusterConfig } from '../config/cluster.config';
import { MemoryStateStore } from './memory-state-store';
import type * as RedisStore from './redis-state-store';
import { ClusterMessageRejections, SigningStateStore } from './signing-state-store';
import { StateStore } from './state-store';

/**
 * The store this host keeps its shared state in, not started: Redis (every
 * message signed) in distributed mode, memory otherwise. A single process
 * uses it itself; with API_WORKERS > 1 the primary holds it and the workers
 * reach it over IPC (IpcStateStore).
 */
export function createStateStore(
  config: Pick<ClusterConfig, 'distributed' | 'redis' | 'secret'>,
  rejections: ClusterMessageRejections,
): StateStore {
  if (!config.distributed) return new MemoryStateStore();
  // Instances believe only what other instances signed (configuration requires the secret).
  if (!config.secret) {
    throw new Error('API_CLUSTER_SECRET is required when API_ENABLE_DISTRIBUTED=true');
  }
  // Loaded only in distributed mode: ioredis is ~1.6 MB of heap in every
  // process (issue 15, RSS) that a single host never uses.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { RedisStateStore } = require('./redis-state-store') as typeof RedisStore;
  return new SigningStateStore(new RedisStateStore(config.redis), config.secret, rejections);
}
