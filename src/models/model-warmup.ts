/**
 * Whether a loaded version ran once on its input example before taking
 * traffic, as the models API and the status page show it. A version whose
 * example is missing, malformed or refused still loads, and says why its
 * warm-up could not run; a model that fails on its own example does not load.
 */
export type WarmupOutcome =
  | {
      ran: true;
      /** The example file, relative to the model directory. */
      source: string;
      durationMs: number;
    }
  | { ran: false; reason: string };
