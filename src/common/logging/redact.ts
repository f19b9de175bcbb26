/** Credentials as they can appear in free text: auth schemes, URL userinfo, key=value pairs. */
const PATTERNS: [RegExp, string][] = [
  [/\b(Basic|Bearer|Token)\s+[A-Za-z0-9._~+/=-]{6,}/gi, '$1 [redacted]'],
  [/(\b[a-z][a-z0-9+.-]*:\/\/)[^\s/:@]+:[^\s/@]+@/gi, '$1[redacted]@'],
  [/\b(password|passwd|secret|token|api[_-]?key)=([^\s&,;]+)/gi, '$1=[redacted]'],
];

/** Object keys whose values are never logged, whatever they hold. */
const SECRET_KEY = /pass(word)?|secret|token|authori[sz]ation|api[_-]?key|cookie|credential/i;

/** `text` with anything that looks like a credential replaced by `[redacted]`. */
export function redactText(text: string): string {
  return PATTERNS.reduce((out, [pattern, replacement]) => out.replace(pattern, replacement), text);
}

/**
 * A copy of `value` safe to log: secret-named keys and credential-looking
 * strings are redacted, depth and size are bounded.
 */
export function redactValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= 6) return '[…]';
  if (Array.isArray(value)) {
    const items = value.slice(0, 50).map((v) => redactValue(v, depth + 1));
    return value.length > 50 ? [...items, `[${value.length - 50} more]`] : items;
  }
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    out[key] = SECRET_KEY.test(key) ? '[redacted]' : redactValue(v, depth + 1);
  }
  return out;
}
