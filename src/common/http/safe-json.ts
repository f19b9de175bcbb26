import secureJson from 'secure-json-parse';
import { jsonDepth, tooDeepMessage } from './json-depth';

/**
 * JSON from a request body, with the same guards on every path: nesting
 * bounded before parsing, and Fastify's prototype-poisoning protection (keys
 * `__proto__`, and `constructor` holding a `prototype`, refused) kept on both
 * the strict parser and the lenient one the MLflow routes use.
 */

/** Why a JSON body was refused though it may be well-formed; always the caller's fault. */
export class RefusedJson {
  constructor(readonly reason: string) {}
}

const POISONING =
  "the JSON body holds a key '__proto__' or 'constructor.prototype', which is refused (prototype poisoning)";

const SECURE = { protoAction: 'error', constructorAction: 'error' } as const;

/** A strict parse: the value, a refusal, or the parser's complaint about the syntax. */
export type StrictJson =
  | { kind: 'value'; value: unknown }
  | { kind: 'refused'; refused: RefusedJson }
  | { kind: 'malformed'; reason: string };

/** Strict JSON (RFC 8259); lenient routes take a malformed text to their own parser. */
export function parseStrictJson(text: string, maxDepth: number): StrictJson {
  if (jsonDepth(text, maxDepth) > maxDepth) {
    return { kind: 'refused', refused: new RefusedJson(tooDeepMessage(maxDepth)) };
  }
  let value: unknown;
  try {
    // As secure-json-parse's parse: a leading byte order mark is dropped.
    value = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (error) {
    return { kind: 'malformed', reason: error instanceof Error ? error.message : String(error) };
  }
  // secure-json-parse's own parse tests two regexes over every text (1.6% of
  // a 100-row forest request's busy time); includes() rules out most first.
  const refused = refusePoisoning(value, text);
  return refused ? { kind: 'refused', refused } : { kind: 'value', value };
}

/**
 * Checks a value parsed from `text` (by JSON.parse, or the lenient parser
 * taking Python's NaN) as secure-json-parse checks its own: only when the text could
 * spell a forbidden key (in full or with \u escapes), so ordinary bodies are
 * not walked twice.
 * @returns a {@link RefusedJson}, or undefined when the value is safe.
 */
export function refusePoisoning(value: unknown, text: string): RefusedJson | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  if (!text.includes('__proto__') && !text.includes('constructor') && !text.includes('\\u')) {
    return undefined;
  }
  try {
    secureJson.scan(value, SECURE);
    return undefined;
  } catch {
    return new RefusedJson(POISONING);
  }
}
