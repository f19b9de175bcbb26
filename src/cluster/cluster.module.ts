import { Logger, Module } from '@nestjs/common';
import { ClusterConfig, clusterConfig } from '../config/cluster.config';
import { EventsModule } from '../common/events/events.module';
import { LifecycleModule } from '../common/lifecycle/lifecycle.module';
import { messageOf } from '../common/values';
import { ModelsModule } from '../models/models.module';
import { ClusterService } from './cluster.service';
import { MemoryStateStore } from './memory-state-store';
import { RateLimiter } from './rate-limit';
import { RedisStateStore } from './redis-state-store';
import { ClusterMessageRejections, SigningStateStore } from './signing-state-store';
import { STATE_STORE, StateStore } from './state-store';

/**
 * The state store and this instance's membership: Redis in distributed mode,
 * memory otherwise. Redis down at start is not fatal: the instance starts,
 * serves, reports Redis down, and joins when it comes up. Not global: every
 * module that uses the cluster imports it, so the dependency shows. The
 * cluster sits above models/ (heartbeats say what is served); models/ never
 * imports cluster/.
 */
@Module({
  imports: [ModelsModule, EventsModule, LifecycleModule],
  providers: [
    ClusterMessageRejections,
    {
      provide: STATE_STORE,
      inject: [clusterConfig.KEY, ClusterMessageRejections],
      useFactory: async (
        config: ClusterConfig,
        rejections: ClusterMessageRejections,
      ): Promise<StateStore> => {
        const store = config.distributed
          ? signed(new RedisStateStore(config.redis), config.secret, rejections)
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
  exports: [STATE_STORE, ClusterService, RateLimiter, ClusterMessageRejections],
})
export class ClusterModule {}

/** Instances believe only what other instances signed (configuration requires the secret). */
function signed(
  store: StateStore,
  secret: string | undefined,
  rejections: ClusterMessageRejections,
): StateStore {
  if (!secret) throw new Error('API_CLUSTER_SECRET is required when API_ENABLE_DISTRIBUTED=true');
  return new SigningStateStore(store, secret, rejections);
}
