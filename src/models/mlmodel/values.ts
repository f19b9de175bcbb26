/** Small checks for values read from YAML and JSON, and how error messages show them. */
import { describeJsonKind } from '../../common/values';

export { isRecord } from '../../common/values';

/** How a message shows a value of the wrong kind: `a list`, `null`, `a mapping`, `number 5`. */
export function describe(value: unknown): string {
  return describeJsonKind(value, { objectWord: 'a mapping', showScalars: true });
}
