/** Small formatting helpers for the binder's error messages. */

/** `[-1, 4]` */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** `'a', 'b', 'c'` */
export function quoteList(names: readonly string[]): string {
  return names.map((n) => `'${n}'`).join(', ');
}

/** "column" / "columns" */
export function plural(word: string, count: number): string {
  return count === 1 ? word : `${word}s`;
}

/** The first name that appears twice, if any. */
export function firstDuplicate(names: readonly string[]): string | undefined {
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) return name;
    seen.add(name);
  }
  return undefined;
}
