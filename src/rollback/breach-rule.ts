import type { RolloutFigures } from '../common/events/event-map';

/** The thresholds a watched version is judged by (ROLLOUT_* settings). */
export interface BreachRule {
  /** Error rate allowed above the replaced version's (absolute, 0..1). */
  maxErrorRate: number;
  /** Milliseconds of p99 allowed above the replaced version's p99; 0 judges no latency. */
  maxP99Ms: number;
  /** No verdict before this many requests (and, for latency, answers). */
  minRequests: number;
}

export type Verdict =
  { kind: 'too-early' } | { kind: 'healthy' } | { kind: 'breach'; reason: string };

/**
 * Does the new version do worse than the one it replaced, beyond what the
 * rule allows? Errors first: a version failing every request answers fast
 * and would pass on latency. Latency is judged only on enough answers, so a
 * handful of slow answers among failures decide nothing. A replaced version
 * that answered nothing counts as error rate 0 and p99 0 (the thresholds
 * become absolute).
 */
export function judge(
  current: RolloutFigures,
  baseline: RolloutFigures,
  rule: BreachRule,
): Verdict {
  if (current.requests < rule.minRequests) return { kind: 'too-early' };
  const errorExcess = current.errorRate - baseline.errorRate;
  if (errorExcess > rule.maxErrorRate) {
    return {
      kind: 'breach',
      reason:
        `error rate ${rate(current.errorRate)} (${current.errors} of ${current.requests}) against ` +
        `${rate(baseline.errorRate)} before, more than ${rate(rule.maxErrorRate)} above it`,
    };
  }
  const answered = current.requests - current.errors;
  if (rule.maxP99Ms > 0 && current.p99Ms !== undefined && answered >= rule.minRequests) {
    const allowed = (baseline.p99Ms ?? 0) + rule.maxP99Ms;
    if (current.p99Ms > allowed) {
      return {
        kind: 'breach',
        reason:
          `p99 ${ms(current.p99Ms)} against ${ms(baseline.p99Ms ?? 0)} before, ` +
          `more than ${ms(rule.maxP99Ms)} above it`,
      };
    }
  }
  return { kind: 'healthy' };
}

function rate(value: number): string {
  return value.toFixed(3);
}

function ms(value: number): string {
  return `${Math.round(value)} ms`;
}
