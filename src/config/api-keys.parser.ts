import { createHash } from 'node:crypto';
import { SCOPES, Scope } from '../common/scopes';
import { namePattern } from '../common/name-pattern';

/**
 * One API key as configuration holds it: never the key itself, only the
 * SHA-256 of it. Keys are 32 random bytes (see src/auth/create-key.ts), so a
 * fast hash is enough: there is nothing to brute-force that a slow one would
 * protect (a slow hash is for low-entropy passwords).
 */
export interface ApiKeyEntry {
  readonly name: string;
  readonly scopes: readonly Scope[];
  /** Model-name patterns (`*` matches anything); undefined: every model. */
  readonly models?: readonly RegExp[];
  /** SHA-256 of the key, 32 bytes. */
  readonly digest: Buffer;
}

/** A bad key list; names the entry by position, never its text (it may hold a key). */
export class ApiKeyListError extends Error {
  constructor(message: string) {
    super(message);
    this.name = ApiKeyListError.name;
  }
}

export type KeySource = 'API_KEYS' | 'API_KEYS_FILE';

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const HASHED = /^sha256:([0-9a-f]{64})$/i;
/** Keys written in API_KEYS as plaintext: what create-key prints is 46 such characters. */
const PLAINTEXT = /^[A-Za-z0-9_~.+/-]{16,512}$/;

/**
 * Parses a key list. Text form, one entry a line or `;`-separated:
 *
 *     name:scopes[:models]=secret
 *
 * scopes separated by `,` or `+` (`predict+read`), models by `,` (`iris*,wine`),
 * secret `sha256:<64 hex digits>` or (API_KEYS only) the key itself. `#` starts
 * a comment line. JSON form (the text starts with `[`): an array of
 * `{"name","scopes":[…],"models"?:[…],"sha256":"<hex>"}` or `"key"` instead of
 * `"sha256"` (API_KEYS only). API_KEYS_FILE takes hashes only, so the file
 * holds no key.
 */
export function parseApiKeys(text: string, source: KeySource): ApiKeyEntry[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  const entries = trimmed.startsWith('[')
    ? parseJsonEntries(trimmed, source)
    : parseTextEntries(trimmed, source);
  const names = new Set<string>();
  const digests = new Set<string>();
  entries.forEach((entry, i) => {
    if (names.has(entry.name)) throw problem(source, i, 'the name is used by an earlier entry');
    const hex = entry.digest.toString('hex');
    if (digests.has(hex)) throw problem(source, i, 'the key is the same as an earlier entry’s');
    names.add(entry.name);
    digests.add(hex);
  });
  return entries;
}

/** The SHA-256 of a key, as stored and compared. */
export function digestOfKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** Both lists together (API_KEYS and API_KEYS_FILE), names and keys unique across them. */
export function mergeApiKeys(fromEnv: ApiKeyEntry[], fromFile: ApiKeyEntry[]): ApiKeyEntry[] {
  const names = new Set(fromEnv.map((e) => e.name));
  const digests = new Set(fromEnv.map((e) => e.digest.toString('hex')));
  fromFile.forEach((entry, i) => {
    if (names.has(entry.name) || digests.has(entry.digest.toString('hex'))) {
      throw problem('API_KEYS_FILE', i, 'the name or key is already in API_KEYS');
    }
  });
  return [...fromEnv, ...fromFile];
}

function parseTextEntries(text: string, source: KeySource): ApiKeyEntry[] {
  return text
    .split(/[;\n]/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line, i) => {
      const eq = line.indexOf('=');
      if (eq < 0) throw problem(source, i, 'expected name:scopes[:models]=secret');
      const [name, scopes, models, ...rest] = line.slice(0, eq).split(':');
      if (rest.length > 0 || scopes === undefined) {
        throw problem(source, i, 'expected name:scopes[:models]=secret');
      }
      return entry(source, i, {
        name,
        scopes: scopes.split(/[,+]/),
        models: models === undefined ? undefined : models.split(','),
        secret: line.slice(eq + 1).trim(),
      });
    });
}

function parseJsonEntries(text: string, source: KeySource): ApiKeyEntry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ApiKeyListError(`${source} starts with "[" but is not valid JSON`);
  }
  if (!Array.isArray(parsed)) throw new ApiKeyListError(`${source} must be a JSON array`);
  return parsed.map((item: unknown, i) => {
    if (typeof item !== 'object' || item === null) throw problem(source, i, 'not an object');
    const { name, scopes, models, sha256, key } = item as Record<string, unknown>;
    if (!isStringArray(scopes)) throw problem(source, i, '"scopes" must be an array of strings');
    if (models !== undefined && !isStringArray(models)) {
      throw problem(source, i, '"models" must be an array of strings');
    }
    if ((sha256 === undefined) === (key === undefined)) {
      throw problem(source, i, 'give exactly one of "sha256" and "key"');
    }
    const secret = typeof sha256 === 'string' ? `sha256:${sha256}` : key;
    if (typeof name !== 'string' || typeof secret !== 'string') {
      throw problem(source, i, '"name" and the secret must be strings');
    }
    return entry(source, i, { name, scopes, models, secret });
  });
}

function entry(
  source: KeySource,
  index: number,
  raw: { name: string; scopes: string[]; models?: string[]; secret: string },
): ApiKeyEntry {
  const name = raw.name.trim();
  if (!NAME.test(name)) {
    throw problem(source, index, 'the name must be 1-64 letters, digits, "_", "-" or "."');
  }
  const scopes = raw.scopes.map((s) => s.trim()).filter(Boolean);
  if (scopes.length === 0) throw problem(source, index, 'no scope');
  const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
  if (unknown.length > 0) {
    // Scope names are not secret; naming the wrong one is the useful message.
    throw problem(source, index, `unknown scope "${unknown[0]}" (one of ${SCOPES.join(', ')})`);
  }
  const patterns = raw.models?.map((m) => m.trim()).filter(Boolean);
  if (patterns !== undefined && patterns.length === 0) {
    throw problem(source, index, 'an empty model list (leave it out to allow every model)');
  }
  return {
    name,
    scopes: [...new Set(scopes as Scope[])],
    models: patterns?.map(namePattern),
    digest: digestOf(source, index, raw.secret.trim()),
  };
}

function digestOf(source: KeySource, index: number, secret: string): Buffer {
  const hashed = HASHED.exec(secret);
  if (hashed) return Buffer.from(hashed[1].toLowerCase(), 'hex');
  if (source === 'API_KEYS_FILE') {
    throw problem(
      source,
      index,
      'the secret must be sha256:<64 hex digits> (the file holds no key)',
    );
  }
  if (!PLAINTEXT.test(secret)) {
    throw problem(
      source,
      index,
      'the key must be 16-512 characters of A-Z a-z 0-9 _ ~ . + / - (or sha256:<64 hex digits>)',
    );
  }
  return digestOfKey(secret);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

function problem(source: KeySource, index: number, why: string): ApiKeyListError {
  return new ApiKeyListError(`${source} entry ${index + 1}: ${why}`);
}
