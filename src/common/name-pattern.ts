/**
 * A model-name pattern, as MODEL_ALLOW and API keys' model lists write them:
 * `*` is any run of characters, `?` one character, everything else stands for
 * itself (`iris.v2` does not match `irisXv2`). One reading for both, so a
 * pattern means the same wherever an operator writes it.
 */
export function namePattern(glob: string): RegExp {
  const source = glob
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`);
}
