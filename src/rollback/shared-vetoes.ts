import { Logger } from '@nestjs/common';
import { isRecord, messageOf } from '../common/values';
import { StateStore } from '../cluster/state-store';
import type { VersionVeto } from '../models/version-vetoes';

const PREFIX = 'vetoes:';
const CHANNEL = 'vetoes';
/** `{reference, version}`: a veto that lapsed or was lifted somewhere; the others lift it too. */
const LIFTED = 'vetoes.lifted';

export type LiftVeto = (reference: string, version: string, trigger: string) => unknown;

/**
 * Vetoes every instance applies: one record a reference in the state store
 * (read at start and whenever the store comes back, so an instance that
 * restarts or was cut off does not serve the vetoed version again) and a
 * message on the `vetoes` channel (so the others apply it now). In
 * distributed mode both are signed (SIGNED_KEYS, and every broadcast), so
 * nobody without API_CLUSTER_SECRET can veto a version. A record stays until
 * the veto lapses or is lifted on some instance (`withdraw`: the record is
 * deleted and the others told on `vetoes.lifted`), or a later veto of the
 * reference replaces it.
 */
export class SharedVetoes {
  private readonly logger = new Logger(SharedVetoes.name);
  private unsubscribe?: () => Promise<void>;
  private unsubscribeLifted?: () => Promise<void>;
  private stopWatch?: () => void;

  constructor(
    private readonly store: StateStore,
    private readonly apply: (veto: VersionVeto, trigger: string) => Promise<unknown>,
    private readonly lift: LiftVeto = () => undefined,
  ) {}

  /** Applies what the store holds and follows the channel; a store that is away is caught up on return. */
  async start(): Promise<void> {
    this.stopWatch = this.store.onConnectionChange((connected) => {
      if (connected) void this.catchUp();
    });
    await this.catchUp();
  }

  async stop(): Promise<void> {
    this.stopWatch?.();
    await this.unsubscribe?.().catch(() => undefined);
    await this.unsubscribeLifted?.().catch(() => undefined);
  }

  /** Records the veto for every instance (now and later) and tells them; throws when the store is away. */
  async publish(veto: VersionVeto): Promise<void> {
    const text = JSON.stringify(veto);
    await this.store.set(PREFIX + veto.reference, text);
    await this.store.publish(CHANNEL, text);
  }

  /**
   * Deletes the record of `reference` if it still vetoes `version` (a later
   * veto stays) and tells the others to lift it; throws when the store is away.
   */
  async withdraw(reference: string, version: string): Promise<void> {
    const text = await this.store.get(PREFIX + reference);
    if (text !== undefined && parseVeto(text)?.version === version) {
      await this.store.delete(PREFIX + reference);
    }
    await this.store.publish(LIFTED, JSON.stringify({ reference, version }));
  }

  private async catchUp(): Promise<void> {
    try {
      this.unsubscribeLifted ??= await this.store.subscribe(LIFTED, (message) => {
        const lifted = parseLifted(message);
        if (lifted) this.lift(lifted.reference, lifted.version, 'a peer lifted it');
        else this.logger.warn(`ignored a malformed message on ${LIFTED}`);
      });
      this.unsubscribe ??= await this.store.subscribe(CHANNEL, (message) => {
        const veto = parseVeto(message);
        if (veto) void this.applied(veto, 'a peer vetoed it');
        else this.logger.warn(`ignored a malformed message on ${CHANNEL}`);
      });
      const records = await this.store.entries(PREFIX);
      for (const text of records.values()) {
        const veto = parseVeto(text);
        if (veto) await this.applied(veto, 'a veto in the state store');
      }
    } catch (error) {
      this.logger.warn(`vetoes are followed once the state store is back: ${messageOf(error)}`);
    }
  }

  private async applied(veto: VersionVeto, trigger: string): Promise<void> {
    try {
      await this.apply(veto, trigger);
    } catch (error) {
      this.logger.error(
        `${veto.reference}: cannot apply the veto of v${veto.version}: ${messageOf(error)}`,
      );
    }
  }
}

export function parseVeto(text: string): VersionVeto | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(value)) return undefined;
  const { reference, version, fallback, reason, at } = value;
  if (![reference, version, fallback, reason, at].every((v) => typeof v === 'string')) {
    return undefined;
  }
  const when = new Date(at as string);
  if (Number.isNaN(when.getTime())) return undefined;
  return {
    reference: reference as string,
    version: version as string,
    fallback: fallback as string,
    reason: reason as string,
    at: when,
  };
}

function parseLifted(text: string): { reference: string; version: string } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(value)) return undefined;
  const { reference, version } = value;
  if (typeof reference !== 'string' || typeof version !== 'string') return undefined;
  return { reference, version };
}
