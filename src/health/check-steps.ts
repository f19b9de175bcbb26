import { DependencyIndicator } from './health.types';

/**
 * One named step of a dependency's check: records what it saw in `seen` and
 * says in a few words how it went, or throws to fail. A failed step ends the
 * check (the steps after it would fail the same way, or mean nothing).
 *
 * The background job (through the indicator's `check`) and `npm run doctor`
 * run the same steps, so both apply the same rule for "unhealthy".
 */
export interface CheckStep {
  readonly name: string;
  run(seen: Record<string, unknown>): Promise<string>;
}

/** An indicator whose check is a list of steps the doctor can show one by one. */
export interface SteppedIndicator extends DependencyIndicator {
  steps(): CheckStep[];
}

/** How one step went. */
export type StepOutcome =
  | { step: CheckStep; ok: true; ms: number; detail: string }
  | { step: CheckStep; ok: false; ms: number; error: unknown };

/** Runs `steps` in order until one fails; `seen` holds what every step recorded. */
export async function runSteps(
  steps: readonly CheckStep[],
  now: () => number = Date.now,
): Promise<{ seen: Record<string, unknown>; outcomes: StepOutcome[]; error?: unknown }> {
  const seen: Record<string, unknown> = {};
  const outcomes: StepOutcome[] = [];
  for (const step of steps) {
    const started = now();
    try {
      const detail = await step.run(seen);
      outcomes.push({ step, ok: true, ms: now() - started, detail });
    } catch (error) {
      outcomes.push({ step, ok: false, ms: now() - started, error });
      return { seen, outcomes, error };
    }
  }
  return { seen, outcomes };
}
