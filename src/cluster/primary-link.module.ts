import { Module } from '@nestjs/common';
import { WorkersConfig, workersConfig } from '../config/workers.config';
import { PRIMARY_LINK, primaryLinkOf } from './primary-link';

/** The worker's PrimaryLink (null in a single process), for the store, the metrics and shutdown. */
@Module({
  providers: [
    {
      provide: PRIMARY_LINK,
      inject: [workersConfig.KEY],
      useFactory: (workers: WorkersConfig) => primaryLinkOf(workers),
    },
  ],
  exports: [PRIMARY_LINK],
})
export class PrimaryLinkModule {}
