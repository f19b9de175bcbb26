import { ModelReference } from '../common/model-reference';

/** The registry events Modelgate follows; `npm run doctor -- --webhook create` subscribes to these. */
export const FOLLOWED_MLFLOW_EVENTS = [
  'model_version_alias.created',
  'model_version_alias.deleted',
  'model_version.created',
] as const;
export type FollowedMlflowEvent = (typeof FOLLOWED_MLFLOW_EVENTS)[number];

export interface MlflowEventIn {
  entity: string;
  action: string;
  data: Record<string, unknown>;
}

/** What one delivery asks of the served references, or why it asks nothing. */
export type EventReferences =
  { kind: 'follow'; refs: ModelReference[] } | { kind: 'ignored'; reason: string };

const NAME = /^[^/@\s]+$/;

/**
 * The references an event may have moved. Setting an alias (also re-pointing
 * it: MLflow sends `model_version_alias.created` for both) and deleting one
 * move `name@alias`, and the bare name when the alias is MODEL_DEFAULT_ALIAS.
 * A new version moves `name/latest`, `name/<version>` (a binding that named
 * it before it existed) and the bare name (which falls back to the newest
 * version without its default alias). Anything else is not ours to follow.
 */
export function referencesOf(event: MlflowEventIn, defaultAlias: string): EventReferences {
  const type = `${event.entity}.${event.action}`;
  const name = text(event.data.name);
  if (!(FOLLOWED_MLFLOW_EVENTS as readonly string[]).includes(type)) {
    return { kind: 'ignored', reason: `${type} does not move a served version` };
  }
  if (name === undefined || !NAME.test(name)) {
    return { kind: 'ignored', reason: `${type} without a registered model name in data.name` };
  }
  if (event.entity === 'model_version_alias') {
    const alias = text(event.data.alias);
    if (alias === undefined || alias === '') {
      return { kind: 'ignored', reason: `${type} without data.alias` };
    }
    const refs: ModelReference[] = [{ name, selector: { kind: 'alias', alias } }];
    if (alias === defaultAlias) refs.push({ name, selector: { kind: 'default' } });
    return { kind: 'follow', refs };
  }
  const version = text(event.data.version);
  const refs: ModelReference[] = [
    { name, selector: { kind: 'latest' } },
    { name, selector: { kind: 'default' } },
  ];
  if (version !== undefined && /^\d+$/.test(version)) {
    refs.push({ name, selector: { kind: 'version', version } });
  }
  return { kind: 'follow', refs };
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;
}
