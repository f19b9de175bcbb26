/** Credentials written into a URL (`http://user:pass@host`) moved out of it. */
export interface UrlWithoutCredentials {
  url: string;
  username?: string;
  password?: string;
}

/**
 * Strips userinfo from a URL so it can be logged and used as a base URL; the
 * credentials travel in a header instead. Also drops a trailing slash.
 */
export function splitUrlCredentials(raw: string): UrlWithoutCredentials {
  const parsed = new URL(raw);
  const username = parsed.username ? decodeURIComponent(parsed.username) : undefined;
  const password = parsed.password ? decodeURIComponent(parsed.password) : undefined;
  parsed.username = '';
  parsed.password = '';
  return { url: parsed.toString().replace(/\/+$/, ''), username, password };
}
