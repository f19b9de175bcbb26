/**
 * MODEL_ALLOW: comma-separated name patterns where `*` is any run of
 * characters and `?` one character (`iris*,fraud-*`). Every other character
 * is literal. No patterns: every name is allowed.
 */
export function modelNameFilter(patterns: readonly string[]): (name: string) => boolean {
  if (patterns.length === 0) return () => true;
  const expressions = patterns.map(
    (pattern) =>
      new RegExp(
        `^${pattern
          .split('')
          .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
          .join('')}$`,
        's',
      ),
  );
  return (name) => expressions.some((expression) => expression.test(name));
}
