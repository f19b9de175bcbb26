/**
 * How deep a JSON text nests, read in one pass over its characters (strings
 * skipped), without parsing it: the check runs before `JSON.parse`, so a body
 * of 200,000 opening brackets costs one linear scan and no stack.
 * @returns the first depth above `limit` (`limit + 1`), or the text's greatest
 *   depth when it stays within `limit`.
 */
export function jsonDepth(text: string, limit: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
      continue;
    }
    if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > limit) return deepest;
      }
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth--;
    }
  }
  return deepest;
}

/** The message for a body that nests deeper than `limit`. */
export function tooDeepMessage(limit: number): string {
  return `the JSON body nests deeper than ${limit} levels of lists and objects (API_MAX_DEPTH=${limit})`;
}
