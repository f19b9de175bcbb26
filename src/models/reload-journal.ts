export interface ReloadOutcome {
  reference: string;
  /** `vetoed`: the version the reference names is vetoed here (src/models/version-vetoes.ts); `from` serves on. */
  status: 'loaded' | 'swapped' | 'unchanged' | 'failed' | 'vetoed';
  from?: string;
  to?: string;
  error?: string;
}

export interface ReloadEvent extends ReloadOutcome {
  at: Date;
  trigger: string;
}

/** Reloads remembered for the models API and the status page. */
const RECENT_RELOADS = 50;

/** The last reloads (loads, swaps, failures), oldest dropped first. */
export class ReloadJournal {
  private readonly entries: ReloadEvent[] = [];

  record(outcome: ReloadOutcome, trigger: string): ReloadOutcome {
    this.entries.push({ ...outcome, at: new Date(), trigger });
    if (this.entries.length > RECENT_RELOADS) this.entries.shift();
    return outcome;
  }

  /** Newest first. */
  recent(): readonly ReloadEvent[] {
    return [...this.entries].reverse();
  }
}
