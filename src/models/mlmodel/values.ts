/** Small checks for values read from YAML and JSON, and how error messages show them. */

export { isRecord } from '../../common/values';

/** How a message shows a value of the wrong kind: `a list`, `null`, `number 5`. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}
