import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { isRecording } from './spans';
import type * as TracingSetup from './tracing.setup';

/**
 * Flushes the spans still buffered when the app closes: graceful-shutdown.ts
 * exits the process as soon as `app.close()` resolves, which waits for this.
 * The SDK is loaded only where main.ts started it (tracing on).
 */
@Injectable()
export class TracingLifecycle implements OnApplicationShutdown {
  async onApplicationShutdown(): Promise<void> {
    if (!isRecording()) return;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { stopTracing } = require('./tracing.setup') as typeof TracingSetup;
    await stopTracing();
  }
}
