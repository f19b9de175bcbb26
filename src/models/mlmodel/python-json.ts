/**
 * JSON as Python's `json` module writes and reads it: standard JSON plus the
 * bare tokens `NaN`, `Infinity` and `-Infinity` (`allow_nan=True`, the
 * default). MLflow writes them into `input_example.json` and
 * `serving_input_example.json` for missing values, and its scoring server
 * accepts them in request bodies, so Python clients send them.
 */

const NAN = '\u0000NaN';
const INFINITY = '\u0000Infinity';
const NEGATIVE_INFINITY = '\u0000-Infinity';

/**
 * Parses JSON, also accepting Python's NaN/Infinity tokens. Standard JSON takes
 * the fast path (`JSON.parse` alone); only text that fails it is rescanned.
 * @throws SyntaxError as `JSON.parse` does.
 */
export function parsePythonJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const rewritten = quoteNonFiniteTokens(text);
    if (rewritten === undefined) throw error;
    return JSON.parse(rewritten, reviveNonFinite);
  }
}

function reviveNonFinite(_key: string, value: unknown): unknown {
  if (typeof value !== 'string' || value.charCodeAt(0) !== 0) return value;
  if (value === NAN) return NaN;
  if (value === INFINITY) return Infinity;
  if (value === NEGATIVE_INFINITY) return -Infinity;
  return value;
}

/**
 * Replaces the non-finite tokens outside strings by sentinel strings (a NUL
 * then the token; a JSON text can only hold NUL escaped, so real strings
 * revive to themselves unless they spell exactly that), or undefined when
 * there are none.
 */
function quoteNonFiniteTokens(text: string): string | undefined {
  let out = '';
  let copiedUpTo = 0;
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
      continue;
    }
    const token = nonFiniteTokenAt(text, i);
    if (token === undefined) continue;
    out += `${text.slice(copiedUpTo, i)}"\\u0000${token}"`;
    i += token.length - 1;
    copiedUpTo = i + 1;
  }
  return copiedUpTo === 0 ? undefined : out + text.slice(copiedUpTo);
}

function nonFiniteTokenAt(text: string, i: number): string | undefined {
  for (const token of ['NaN', 'Infinity', '-Infinity']) {
    if (text.startsWith(token, i)) return token;
  }
  return undefined;
}
