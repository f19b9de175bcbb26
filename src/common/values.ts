/** Small checks of JSON/YAML values shared by the parsers and codecs. */

/** A mapping: an object that is neither a list nor null. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * How an error message names a value of the wrong kind: `a list`, `an object`,
 * `a string`. `objectWord` names a mapping in the document's own terms (YAML
 * says `a mapping`); `showScalars` shows a scalar's value (`number 5`), for
 * files we read, never for request bodies (they may carry anything).
 */
export function describeJsonKind(
  value: unknown,
  { objectWord = 'an object', showScalars = false } = {},
): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return objectWord;
  return showScalars ? `${typeof value} ${JSON.stringify(value)}` : `a ${typeof value}`;
}

/**
 * What to print of a caught value: an error's message, anything else as text.
 * By shape, not instanceof: errors may come from another realm (jest's VM, a worker).
 */
export function messageOf(error: unknown): string {
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(error);
}
