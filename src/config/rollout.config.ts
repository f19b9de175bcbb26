import { ConfigType, registerAs } from '@nestjs/config';
import { IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { parseEnvironment } from './env.validation';
import { ParsesWith } from './parses-with';
import { ToNumber } from './env.transforms';

/** canary: a share of callers gets the challenger's answer; shadow: the challenger gets a copy and never answers. */
export const ROLLOUT_MODES = ['canary', 'shadow'] as const;
export type RolloutMode = (typeof ROLLOUT_MODES)[number];

/** One entry of MODEL_ROLLOUT: a model served from one alias with a second alias beside it. */
export interface RolloutSetting {
  name: string;
  champion: string;
  challenger: string;
  /** Absent: canary (or what the model's tags say). */
  mode?: RolloutMode;
}

export class InvalidRolloutError extends Error {
  constructor(entry: string, why: string) {
    super(`invalid MODEL_ROLLOUT entry "${entry}": ${why}`);
    this.name = InvalidRolloutError.name;
  }
}

/** Registered-model names and aliases as MLflow allows them in a reference: no `/`, `@`, `:`, `,`, `;` or space. */
const WORD = /^[^\s/@:,;]+$/;

export class RolloutEnvironment {
  /**
   * Models served by a champion alias with a challenger alias beside it,
   * `;`-separated (the entry's own comma separates the two aliases):
   * `iris:champion,challenger[:shadow];fraud:prod,next`.
   */
  @IsOptional()
  @ParsesWith(parseRolloutList, {
    message:
      'MODEL_ROLLOUT must look like name:champion,challenger[:shadow][;other:alias,alias] ' +
      '(two different aliases; mode canary or shadow)',
  })
  MODEL_ROLLOUT?: string;

  /**
   * Callers (by their sticky key's bucket, 0–99) answered by the challenger
   * in canary mode. 10: a first canary small enough that a bad version hurts
   * few callers, large enough to show in per-version metrics within minutes.
   */
  @ToNumber()
  @IsInt()
  @Min(0)
  @Max(100)
  ROLLOUT_CANARY_PERCENT = 10;

  /** Request header whose value keeps a caller on one version (else its API key's name, else its address). */
  @Matches(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, {
    message: 'ROLLOUT_STICKY_HEADER must be an HTTP header name',
  })
  ROLLOUT_STICKY_HEADER = 'x-modelgate-caller';

  /**
   * Shadow copies running at once per process; one more is dropped and
   * counted, never queued. 8: twice the default MODEL_MAX_CONCURRENCY, so
   * the shadow never takes more than a busy model's own share of the cores.
   */
  @ToNumber()
  @IsInt()
  @Min(0)
  ROLLOUT_SHADOW_MAX_IN_FLIGHT = 8;
}

export const rolloutConfig = registerAs('rollout', () => {
  const env = parseEnvironment(RolloutEnvironment, process.env);
  return {
    models: parseRolloutList(env.MODEL_ROLLOUT),
    canaryPercent: env.ROLLOUT_CANARY_PERCENT,
    stickyHeader: env.ROLLOUT_STICKY_HEADER.toLowerCase(),
    shadowMaxInFlight: env.ROLLOUT_SHADOW_MAX_IN_FLIGHT,
  };
});

export type RolloutConfig = ConfigType<typeof rolloutConfig>;

/**
 * `name:champion,challenger[:mode];…` → one setting a model. Throws
 * InvalidRolloutError naming the entry it cannot read (validation has
 * reported it by then, in the start-up message).
 */
export function parseRolloutList(text: string | undefined): RolloutSetting[] {
  const entries = (text ?? '')
    .split(';')
    .map((e) => e.trim())
    .filter(Boolean);
  const settings = entries.map(parseRolloutEntry);
  const twice = settings.find((s, i) => settings.findIndex((o) => o.name === s.name) !== i);
  if (twice) throw new InvalidRolloutError(twice.name, 'the model is named twice');
  return settings;
}

function parseRolloutEntry(entry: string): RolloutSetting {
  const [name, aliases, mode, ...rest] = entry.split(':').map((p) => p.trim());
  if (aliases === undefined || rest.length > 0) {
    throw new InvalidRolloutError(entry, 'expected name:champion,challenger[:mode]');
  }
  const [champion, challenger, ...more] = aliases.split(',').map((a) => a.trim());
  if (challenger === undefined || more.length > 0) {
    throw new InvalidRolloutError(entry, 'expected two aliases, champion,challenger');
  }
  for (const word of [name, champion, challenger]) {
    if (!WORD.test(word)) throw new InvalidRolloutError(entry, `"${word}" is not a name or alias`);
  }
  if (champion === challenger) {
    throw new InvalidRolloutError(entry, 'the champion and the challenger are the same alias');
  }
  if (mode === undefined) return { name, champion, challenger };
  if (!(ROLLOUT_MODES as readonly string[]).includes(mode)) {
    throw new InvalidRolloutError(entry, `the mode is one of ${ROLLOUT_MODES.join(', ')}`);
  }
  return { name, champion, challenger, mode: mode as RolloutMode };
}
