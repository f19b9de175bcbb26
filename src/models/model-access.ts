import { namePattern } from '../common/name-pattern';

/**
 * MODEL_ALLOW: comma-separated name patterns (`iris*,fraud-*`; see
 * namePattern). No patterns: every name is allowed.
 */
export function modelNameFilter(patterns: readonly string[]): (name: string) => boolean {
  if (patterns.length === 0) return () => true;
  const expressions = patterns.map(namePattern);
  return (name) => expressions.some((expression) => expression.test(name));
}
