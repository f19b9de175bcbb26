import { IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';

/** How often the mean is taken and the histogram restarted, as under-pressure samples REST's. */
const SAMPLE_MS = 1000;

/**
 * The event loop's mean delay over the last second, for shedding gRPC
 * predictions by the rule REST's load-shedding hook applies
 * (API_MAX_EVENT_LOOP_DELAY_MS): under-pressure measures Fastify's requests
 * only, so the gRPC listener keeps its own sample.
 */
export class EventLoopLag {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  private readonly timer: NodeJS.Timeout;
  private lastMeanMs = 0;

  constructor() {
    this.histogram.enable();
    this.timer = setInterval(() => {
      const mean = this.histogram.mean / 1e6;
      this.lastMeanMs = Number.isFinite(mean) ? mean : 0;
      this.histogram.reset();
    }, SAMPLE_MS);
    this.timer.unref();
  }

  get meanMs(): number {
    return this.lastMeanMs;
  }

  stop(): void {
    clearInterval(this.timer);
    this.histogram.disable();
  }
}
