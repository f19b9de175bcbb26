import { Global, Logger, Module } from '@nestjs/common';
import { ClusterConfig, clusterConfig } from '../config/cluster.config';
import { messageOf } from '../common/values';
import { ClusterService } from './cluster.service';
import { MemoryStateStore } from './memory-state-store';
import { RateLimiter } from './rate-limit';
import { RedisStateStore } from './redis-state-store';
import { STATE_STORE, StateStore } from './state-store';

/**
 * The state store and this instance's membership, for every module: Redis in
 * distributed mode, memory otherwise. Redis down at start is not fatal: the
 * instance starts, serves, reports Redis down, and joins when it comes up.
 */
@Global()
@Module({
  providers: [
    {
      provide: STATE_STORE,
      inject: [clusterConfig.KEY],
      useFactory: async (config: ClusterConfig): Promise<StateStore> => {
        const store = config.distributed
          ? new RedisStateStore(config.redis)
          : new MemoryStateStore();
        await store
          .start()
          .catch((error: unknown) =>
            new Logger('ClusterModule').warn(
              `starting without the state store (${messageOf(error)}); retrying in the background`,
            ),
          );
        return store;
      },
    },
    ClusterService,
    RateLimiter,
  ],
  exports: [STATE_STORE, ClusterService, RateLimiter],
})
export class ClusterModule {}
