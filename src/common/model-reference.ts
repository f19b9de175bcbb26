/**
 * Which version of a registered model a request or the configuration means,
 * written as MLflow writes it: `models:/name@alias`, `models:/name/3`,
 * `models:/name/Production` (legacy stage), `models:/name/latest`; a bare
 * name means the configured default alias.
 */
export type ModelSelector =
  | { kind: 'alias'; alias: string }
  | { kind: 'version'; version: string }
  | { kind: 'stage'; stage: string }
  | { kind: 'latest' }
  | { kind: 'default' };

export interface ModelReference {
  name: string;
  selector: ModelSelector;
}

/**
 * MLflow registered-model names: no `/` or `:` (MLflow refuses both), no `@`
 * (it separates the alias), no space. The OpenAPI document and the callback's
 * body say the same with this source.
 */
export const MODEL_NAME_SOURCE = '^[^/:@\\s]+$';
const NAME = new RegExp(MODEL_NAME_SOURCE);

export class InvalidModelReferenceError extends Error {
  constructor(reference: string, why: string) {
    super(`invalid model reference "${reference}": ${why}`);
    this.name = InvalidModelReferenceError.name;
  }
}

/** Parses `models:/…` URIs, and the same without the scheme (`iris@champion`, `iris/3`, `iris`). */
export function parseModelReference(text: string): ModelReference {
  const raw = text.trim();
  const body = raw.startsWith('models:/') ? raw.slice('models:/'.length) : raw;
  const at = body.indexOf('@');
  if (at >= 0) {
    return checked(raw, body.slice(0, at), { kind: 'alias', alias: body.slice(at + 1) });
  }
  const [name, second, ...rest] = body.split('/');
  if (rest.length > 0) {
    throw new InvalidModelReferenceError(
      raw,
      'expected name, name@alias, name/<version> or name/<stage>',
    );
  }
  if (second === undefined) return checked(raw, name, { kind: 'default' });
  if (/^\d+$/.test(second)) return checked(raw, name, { kind: 'version', version: second });
  if (second.toLowerCase() === 'latest') return checked(raw, name, { kind: 'latest' });
  return checked(raw, name, { kind: 'stage', stage: second });
}

/** The reference a versioned URL means: `/v1/models/{name}/versions/{v}`. */
export function versionReference(name: string, version: string): ModelReference {
  if (!/^\d+$/.test(version)) {
    throw new InvalidModelReferenceError(
      `${name}/versions/${version}`,
      'a version is a positive integer',
    );
  }
  return checked(`${name}/${version}`, name, { kind: 'version', version });
}

/** The canonical text of a reference, used as its key: `iris@champion`, `iris/3`, `iris`. */
export function formatModelReference(ref: ModelReference): string {
  switch (ref.selector.kind) {
    case 'alias':
      return `${ref.name}@${ref.selector.alias}`;
    case 'version':
      return `${ref.name}/${ref.selector.version}`;
    case 'stage':
      return `${ref.name}/${ref.selector.stage}`;
    case 'latest':
      return `${ref.name}/latest`;
    case 'default':
      return ref.name;
  }
}

function checked(raw: string, name: string, selector: ModelSelector): ModelReference {
  if (!NAME.test(name)) {
    throw new InvalidModelReferenceError(
      raw,
      'the model name is empty or has a space, "/", ":" or "@"',
    );
  }
  if (selector.kind === 'alias' && !/^[\w-]+$/.test(selector.alias)) {
    throw new InvalidModelReferenceError(raw, 'an alias has letters, digits, "_" and "-" only');
  }
  if (selector.kind === 'stage' && !/^[\w-]+$/.test(selector.stage)) {
    throw new InvalidModelReferenceError(raw, 'a stage is a word such as Production');
  }
  return { name, selector };
}
