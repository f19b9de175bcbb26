import { ConfigType, registerAs } from '@nestjs/config';
import {
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  MinLength,
  ValidateBy,
  ValidateIf,
} from 'class-validator';
import { readFileSync } from 'node:fs';
import { ApiKeyListError, mergeApiKeys, parseApiKeys } from './api-keys.parser';
import { parseEnvironment } from './env.validation';
import { ToNumber } from './env.transforms';

/**
 * Asymmetric algorithms only: the JWKS holds public keys, and an HS* token
 * "signed" with a public key, or `none`, must never verify.
 */
export const JWT_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;

/** Who may call what (README "Security"). */
export class AuthEnvironment {
  /** `off` only for local development: every route open, and the log and topology say so. */
  @IsIn(['on', 'off'], { message: 'API_AUTH must be on or off' })
  API_AUTH: 'on' | 'off' = 'on';

  /** `name:scopes[:models]=secret` entries separated by `;` (or JSON); see parseApiKeys. */
  @IsOptional()
  @IsKeyList()
  API_KEYS?: string;

  /** A file of the same entries, one a line, with `sha256:<hex>` secrets only. */
  @IsOptional()
  @IsKeyFile()
  API_KEYS_FILE?: string;

  /** The identity provider's JWKS; set, bearer tokens that are JWTs are verified against it. */
  @IsOptional()
  @IsUrl(
    { require_tld: false, protocols: ['http', 'https'], require_protocol: true },
    { message: 'API_JWT_JWKS_URL must be an http(s) URL' },
  )
  API_JWT_JWKS_URL?: string;

  /** Required with a JWKS: a token from another issuer or for another API must not pass. */
  @ValidateIf((env: AuthEnvironment) => env.API_JWT_JWKS_URL !== undefined)
  @IsString({ message: 'API_JWT_ISSUER is required with API_JWT_JWKS_URL' })
  @MinLength(1)
  API_JWT_ISSUER?: string;

  @ValidateIf((env: AuthEnvironment) => env.API_JWT_JWKS_URL !== undefined)
  @IsString({ message: 'API_JWT_AUDIENCE is required with API_JWT_JWKS_URL' })
  @MinLength(1)
  API_JWT_AUDIENCE?: string;

  /** A claim holding the scopes (a space-separated string or an array) instead of `scope`/`scp`. */
  @IsOptional()
  @Matches(/^[\w:./-]+$/, { message: 'API_JWT_SCOPES_CLAIM must be a claim name' })
  API_JWT_SCOPES_CLAIM?: string;

  /** Accepted signature algorithms, comma-separated; asymmetric ones only. */
  @Matches(new RegExp(`^(${JWT_ALGORITHMS.join('|')})(\\s*,\\s*(${JWT_ALGORITHMS.join('|')}))*$`), {
    message: `API_JWT_ALGORITHMS must be a comma-separated list of ${JWT_ALGORITHMS.join(', ')}`,
  })
  API_JWT_ALGORITHMS = 'RS256,ES256,EdDSA';

  /** Seconds of clock skew allowed on exp/nbf/iat: small, the clocks should be NTP-synced. */
  @ToNumber()
  @IsInt()
  @Min(0)
  @Max(300)
  API_JWT_CLOCK_TOLERANCE = 30;

  /** Seconds one JWKS download may take: a token is refused with 503 after that, never hangs. */
  @ToNumber()
  @IsInt()
  @Min(1)
  @Max(60)
  API_JWT_JWKS_TIMEOUT = 3;

  /**
   * Seconds between JWKS downloads caused by a token with an unknown `kid`
   * (jose's default: 30), so forged kids cannot make us hammer the provider.
   */
  @ToNumber()
  @IsInt()
  @Min(0)
  @Max(3600)
  API_JWT_JWKS_COOLDOWN = 30;

  /** Set: GET /metrics needs `Authorization: Bearer <METRICS_TOKEN>`; unset: it is open. */
  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'METRICS_TOKEN must be at least 16 characters' })
  METRICS_TOKEN?: string;

  /** `/docs` and the OpenAPI document: open (it holds no data), `auth` (needs `read`), or off. */
  @IsIn(['open', 'auth', 'off'], { message: 'API_DOCS must be open, auth or off' })
  API_DOCS: 'open' | 'auth' | 'off' = 'open';
}

export const authConfig = registerAs('auth', () => {
  const env = parseEnvironment(AuthEnvironment, process.env);
  return {
    enabled: env.API_AUTH === 'on',
    apiKeys: mergeApiKeys(
      parseApiKeys(env.API_KEYS ?? '', 'API_KEYS'),
      env.API_KEYS_FILE === undefined
        ? []
        : parseApiKeys(readKeyFile(env.API_KEYS_FILE), 'API_KEYS_FILE'),
    ),
    jwt:
      env.API_JWT_JWKS_URL === undefined
        ? undefined
        : {
            jwksUrl: env.API_JWT_JWKS_URL,
            issuer: env.API_JWT_ISSUER as string,
            audience: env.API_JWT_AUDIENCE as string,
            scopesClaim: env.API_JWT_SCOPES_CLAIM,
            algorithms: env.API_JWT_ALGORITHMS.split(',').map((a) => a.trim()),
            clockToleranceSeconds: env.API_JWT_CLOCK_TOLERANCE,
            jwksTimeoutMs: env.API_JWT_JWKS_TIMEOUT * 1000,
            jwksCooldownMs: env.API_JWT_JWKS_COOLDOWN * 1000,
          },
    metricsToken: env.METRICS_TOKEN,
    docs: env.API_DOCS,
  };
});

export type AuthConfig = ConfigType<typeof authConfig>;

function readKeyFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    // The code (ENOENT, EACCES) says what is wrong; the path is the operator's own setting.
    throw new ApiKeyListError(
      `API_KEYS_FILE cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
}

/** The problem with a key list, or undefined when it parses. */
function keyListProblem(parse: () => unknown): string | undefined {
  try {
    parse();
    return undefined;
  } catch (error) {
    if (error instanceof ApiKeyListError) return error.message;
    throw error;
  }
}

function IsKeyList(): PropertyDecorator {
  return ValidateBy({
    name: 'isKeyList',
    validator: {
      validate: (value: unknown) =>
        typeof value === 'string' && !keyListProblem(() => parseApiKeys(value, 'API_KEYS')),
      defaultMessage: (args) =>
        keyListProblem(() => parseApiKeys(String(args?.value), 'API_KEYS')) ??
        'API_KEYS must be a key list',
    },
  });
}

function IsKeyFile(): PropertyDecorator {
  const problemOf = (value: unknown) =>
    keyListProblem(() => parseApiKeys(readKeyFile(String(value)), 'API_KEYS_FILE'));
  return ValidateBy({
    name: 'isKeyFile',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && !problemOf(value),
      defaultMessage: (args) => problemOf(args?.value) ?? 'API_KEYS_FILE must name a key file',
    },
  });
}
