/**
 * How often one kind of server-side fault is logged with its stack. A bug hit
 * by every request would otherwise write a stack per request: the log floods,
 * the disk fills, and the first occurrence scrolls out of sight. The first
 * error of a kind is logged at once; more of that kind within the window are
 * counted, and the count rides on the next line logged for it.
 */
export interface ErrorReportLimiterOptions {
  /** One logged line per kind per window (default one minute). */
  windowMs?: number;
  /**
   * Kinds remembered at most: kinds come from error class names and statuses,
   * a small set, but a bound keeps memory flat whatever gets thrown.
   */
  maxKinds?: number;
  now?: () => number;
}

/** Whether to log an error now, and how many of its kind were not logged since the last line. */
export type ReportDecision = { log: true; suppressed: number } | { log: false };

export class ErrorReportLimiter {
  private readonly windowMs: number;
  private readonly maxKinds: number;
  private readonly now: () => number;
  private readonly kinds = new Map<string, { loggedAt: number; suppressed: number }>();

  constructor(options: ErrorReportLimiterOptions = {}) {
    this.windowMs = options.windowMs ?? 60_000;
    this.maxKinds = options.maxKinds ?? 1000;
    this.now = options.now ?? Date.now;
  }

  take(kind: string): ReportDecision {
    const now = this.now();
    const seen = this.kinds.get(kind);
    if (seen && now - seen.loggedAt < this.windowMs) {
      seen.suppressed += 1;
      return { log: false };
    }
    const suppressed = seen?.suppressed ?? 0;
    this.kinds.delete(kind); // re-inserted last: the map's order is oldest first
    if (this.kinds.size >= this.maxKinds) {
      this.kinds.delete(this.kinds.keys().next().value!);
    }
    this.kinds.set(kind, { loggedAt: now, suppressed: 0 });
    return { log: true, suppressed };
  }

  /** Kinds remembered now (for tests and for the bound). */
  get size(): number {
    return this.kinds.size;
  }
}
