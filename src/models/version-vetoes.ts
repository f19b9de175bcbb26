import { Injectable } from '@nestjs/common';

/** A version a reference must not serve, whatever the registry names, and what serves instead. */
export interface VersionVeto {
  readonly reference: string;
  readonly version: string;
  readonly fallback: string;
  readonly reason: string;
  readonly at: Date;
}

/**
 * The versions vetoed here, one per reference: a bad promotion the rollback
 * watch could not undo in MLflow (no registry write credentials). The
 * reloader consults it so neither polling, a webhook nor a peer's news brings
 * a vetoed version back while the alias still names it. Models/ only keeps
 * the list; the rollback module fills it on every instance from the record
 * the instances share.
 */
@Injectable()
export class VersionVetoes {
  private readonly vetoes = new Map<string, VersionVeto>();

  set(veto: VersionVeto): void {
    this.vetoes.set(veto.reference, Object.freeze({ ...veto }));
  }

  of(reference: string): VersionVeto | undefined {
    return this.vetoes.get(reference);
  }

  /** True when `reference` must not serve `version`. */
  blocks(reference: string, version: string): boolean {
    return this.vetoes.get(reference)?.version === version;
  }

  lift(reference: string): void {
    this.vetoes.delete(reference);
  }

  all(): readonly VersionVeto[] {
    return [...this.vetoes.values()];
  }
}
