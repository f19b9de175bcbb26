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
  try {
    return { kind: 'value', value: secureJson.parse(text, undefined, SECURE) as unknown };
  } catch (error) {
    // secure-json-parse throws a SyntaxError for poisoning as for bad syntax:
    // text that plain JSON.parse takes was refused for its keys.
    if (isPlainJson(text)) return { kind: 'refused', refused: new RefusedJson(POISONING) };
    return { kind: 'malformed', reason: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * Checks a value parsed by another JSON parser (the lenient one taking
 * Python's NaN) as secure-json-parse checks its own: only when the text could
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

function isPlainJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
