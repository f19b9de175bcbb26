/** Small checks of JSON/YAML values shared by the parsers and codecs. */

/** A mapping: an object that is neither a list nor null. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** How a request error names a JSON value of the wrong kind: `a list`, `an object`, `a string`. */
export function describeJsonKind(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

/**
 * What to print of a caught value: an error's message, anything else as text.
 * By shape, not instanceof: errors may come from another realm (jest's VM, a worker).
 */
export function messageOf(error: unknown): string {
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(error);
}
