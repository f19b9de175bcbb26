import { createHash } from 'node:crypto';
import type { RolloutSetting } from '../../config/rollout.config';
import { Rollout, Variant } from './rollout.types';

/** The registered-model tags that override MODEL_ROLLOUT for one model. */
export const ROLLOUT_TAGS = {
  challenger: 'modelgate.challenger',
  canaryPercent: 'modelgate.canary_percent',
  shadow: 'modelgate.shadow',
} as const;

/** Buckets a caller key falls in: whole percents, so ROLLOUT_CANARY_PERCENT is a count of them. */
export const BUCKETS = 100;

const ALIAS = /^[^\s/@:,;]+$/;

/**
 * The bucket (0–99) of a caller of one model: the first 32 bits of
 * SHA-256(name, key). Stable across instances and restarts, so a caller
 * stays on one version wherever the balancer sends it; the model's name is
 * in it so that the callers of one model's canary are not always those of
 * every other's. (2³² mod 100 leaves a bias below 10⁻⁷, nothing to correct.)
 */
export function bucketOf(model: string, callerKey: string): number {
  const digest = createHash('sha256').update(model).update('\0').update(callerKey).digest();
  return digest.readUInt32BE(0) % BUCKETS;
}

/** Which side answers a caller in `bucket`: the challenger for the first `percent` buckets of a canary. */
export function variantFor(rollout: Pick<Rollout, 'mode' | 'percent'>, bucket: number): Variant {
  return rollout.mode === 'canary' && bucket < rollout.percent ? 'challenger' : 'champion';
}

export interface RolloutDefaults {
  /** ROLLOUT_CANARY_PERCENT. */
  percent: number;
  /** The champion of a rollout only tags name: the alias a bare name means (MODEL_DEFAULT_ALIAS). */
  defaultAlias: string;
}

/**
 * The rollout of one model: its MODEL_ROLLOUT entry with the registered
 * model's tags over it. A tag that cannot be read is left out and said in
 * `problems`, the rest is followed: one bad tag must not stop a canary the
 * settings ask for. No challenger anywhere, or one equal to the champion,
 * is no rollout.
 */
export function rolloutOf(
  name: string,
  setting: RolloutSetting | undefined,
  tags: Readonly<Record<string, string>>,
  defaults: RolloutDefaults,
): { rollout?: Rollout; problems: string[] } {
  const problems: string[] = [];
  const champion = setting?.champion ?? defaults.defaultAlias;
  let challenger = setting?.challenger;
  let fromTags = false;
  const taggedChallenger = tags[ROLLOUT_TAGS.challenger]?.trim();
  if (taggedChallenger !== undefined) {
    if (ALIAS.test(taggedChallenger) && taggedChallenger !== champion) {
      challenger = taggedChallenger;
      fromTags = true;
    } else {
      problems.push(
        `${ROLLOUT_TAGS.challenger}="${taggedChallenger}" is not an alias other than ${champion}`,
      );
    }
  }
  let mode = setting?.mode ?? 'canary';
  const shadow = tags[ROLLOUT_TAGS.shadow]?.trim().toLowerCase();
  if (shadow !== undefined) {
    if (shadow === 'true' || shadow === 'false') {
      mode = shadow === 'true' ? 'shadow' : 'canary';
      fromTags = true;
    } else {
      problems.push(`${ROLLOUT_TAGS.shadow}="${shadow}" is neither true nor false`);
    }
  }
  let percent = defaults.percent;
  const tagged = tags[ROLLOUT_TAGS.canaryPercent]?.trim();
  if (tagged !== undefined) {
    if (/^\d{1,3}$/.test(tagged) && Number(tagged) <= BUCKETS) {
      percent = Number(tagged);
      fromTags = true;
    } else {
      problems.push(`${ROLLOUT_TAGS.canaryPercent}="${tagged}" is not a whole percent (0–100)`);
    }
  }
  if (challenger === undefined) return { problems };
  const source = !fromTags ? 'settings' : setting ? 'settings+tags' : 'tags';
  return { rollout: { name, champion, challenger, mode, percent, source }, problems };
}
