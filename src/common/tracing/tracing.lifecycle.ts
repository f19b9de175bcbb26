import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { stopTracing } from './tracing.setup';

/**
 * Flushes the spans still buffered when the app closes: graceful-shutdown.ts
 * exits the process as soon as `app.close()` resolves, which waits for this.
 */
@Injectable()
export class TracingLifecycle implements OnApplicationShutdown {
  onApplicationShutdown(): Promise<void> {
    return stopTracing();
  }
}
