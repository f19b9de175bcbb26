import { Logger } from '@nestjs/common';
import { UpstreamHttp } from '../common/http/upstream-http';

export interface AirflowCredentials {
  username: string;
  password: string;
}

interface CachedToken {
  value: string;
  issuedAt: number;
  /** When to fetch a new one: before expiry, by the configured margin. */
  renewAt: number;
}

/** Airflow 3's default token lifetime (`[api_auth] jwt_expiration_time`, 86400 s). */
const DEFAULT_LIFETIME_MS = 24 * 3600 * 1000;

/**
 * Exchanges Airflow 3 username/password at `POST /auth/token` for a bearer
 * token, caches it, renews it before it expires, and lets a 401 force a new
 * one. Concurrent callers share one exchange in flight.
 */
export class AirflowTokenProvider {
  private readonly logger = new Logger(AirflowTokenProvider.name);
  private cached?: CachedToken;
  private pending?: Promise<CachedToken>;
  private exchanges = 0;

  constructor(
    private readonly http: UpstreamHttp,
    private readonly credentials: AirflowCredentials,
    private readonly renewMarginMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Tokens obtained so far (for metrics and tests). */
  get issuedCount(): number {
    return this.exchanges;
  }

  async token(): Promise<string> {
    if (this.cached && this.now() < this.cached.renewAt) {
      return this.cached.value;
    }
    this.pending ??= this.exchange().finally(() => (this.pending = undefined));
    return (await this.pending).value;
  }

  /**
   * Drops `rejected` if it is still the cached token. A token obtained since
   * (by another request that got the same 401) is kept, so a burst of 401s
   * causes one exchange, not one each.
   */
  invalidate(rejected: string): void {
    if (this.cached?.value === rejected) {
      this.cached = undefined;
    }
  }

  private async exchange(): Promise<CachedToken> {
    const issuedAt = this.now();
    const body = await this.http.request<{ access_token?: string }>({
      method: 'POST',
      path: '/auth/token',
      body: { username: this.credentials.username, password: this.credentials.password },
      authenticate: false,
      idempotent: true,
    });
    if (!body.access_token) {
      throw new Error('Airflow /auth/token answered without an access_token');
    }
    const lifetime = tokenLifetimeMs(body.access_token, issuedAt) ?? DEFAULT_LIFETIME_MS;
    // A short-lived token is renewed half-way through rather than on every call.
    const margin = Math.min(this.renewMarginMs, lifetime / 2);
    this.cached = { value: body.access_token, issuedAt, renewAt: issuedAt + lifetime - margin };
    this.exchanges++;
    this.logger.debug(`obtained an Airflow token valid for ${Math.round(lifetime / 1000)} s`);
    return this.cached;
  }
}

/** Lifetime from the JWT's `exp` (and `iat`, to be immune to clock skew). */
export function tokenLifetimeMs(jwt: string, now: number): number | undefined {
  const payload = jwt.split('.')[1];
  if (!payload) {
    return undefined;
  }
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: number; iat?: number };
    if (typeof claims.exp !== 'number') {
      return undefined;
    }
    const lifetime = typeof claims.iat === 'number' ? (claims.exp - claims.iat) * 1000 : claims.exp * 1000 - now;
    return Math.max(0, lifetime);
  } catch {
    return undefined;
  }
}
