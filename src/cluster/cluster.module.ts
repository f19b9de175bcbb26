import { Logger, Module } from '@nestjs/common';
import { ClusterConfig, clusterConfig } from '../config/cluster.config';
import { EventsModule } from '../common/events/events.module';
import { LifecycleModule } from '../common/lifecycle/lifecycle.module';
import { messageOf } from '../common/values';
import { ModelsModule } from '../models/models.module';
import { ClusterService } from './cluster.service';
import { IpcStateStore } from './ipc-state-store';
import { PRIMARY_LINK, PrimaryLink } from './primary-link';
import { PrimaryLinkModule } from './primary-link.module';
import { RateLimiter } from './rate-limit';
import { ClusterMessageRejections } from './signing-state-store';
import { STATE_STORE, StateStore } from './state-store';
import { createStateStore } from './state-store.factory';

/**
 * The state store and this instance's membership: Redis in distributed mode,
 * memory otherwise; in a worker of API_WORKERS > 1, the primary's (whichever
 * of the two it holds) over IPC. Redis down at start is not fatal: the instance starts,
 * serves, reports Redis down, and joins when it comes up. Not global: every
 * module that uses the cluster imports it, so the dependency shows. The
 * cluster sits above models/ (heartbeats say what is served); models/ never
 * imports cluster/.
 */
@Module({
  imports: [ModelsModule, EventsModule, LifecycleModule, PrimaryLinkModule],
  providers: [
    ClusterMessageRejections,
    {
      provide: STATE_STORE,
      inject: [clusterConfig.KEY, ClusterMessageRejections, PRIMARY_LINK],
      useFactory: async (
        config: ClusterConfig,
        rejections: ClusterMessageRejections,
        primary: PrimaryLink,
      ): Promise<StateStore> => {
        const store = primary ? new IpcStateStore(primary) : createStateStore(config, rejections);
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
  exports: [STATE_STORE, ClusterService, RateLimiter, ClusterMessageRejections, PrimaryLinkModule],
})
export class ClusterModule {}
