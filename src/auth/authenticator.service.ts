import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import { AuthConfig, authConfig } from '../config/auth.config';
import { ModelsConfig, modelsConfig } from '../config/models.config';
import { ApiKeyStore } from './api-key.store';
import { AuthenticationError, AuthenticationErrorCode } from './authentication.error';
import type * as Jwt from './jwt.verifier';
import { Principal } from './principal';

/** The credentials a request carries, as the hook read them from its headers. */
export interface Credentials {
  /** `X-API-Key`. */
  apiKey?: string;
  /** The token of `Authorization: Bearer <token>`: an API key or a JWT. */
  bearer?: string;
}

/**
 * The verifier of API_JWT_JWKS_URL, loaded only when one is set: jose is
 * ~1.4 MB of heap in every process (issue 15, RSS) that API keys never use.
 */
function jwtVerifier(settings: Jwt.JwtSettings): Jwt.JwtVerifier {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { JwtVerifier } = require('./jwt.verifier') as typeof Jwt;
  return new JwtVerifier(settings);
}

/** Header, payload and signature, base64url: what a JWS compact serialization looks like. */
const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]+$/;

/**
 * Who is calling: an API key (`X-API-Key`, or a bearer token that is one of
 * our keys) or a JWT from the identity provider. Keys are tried first, and
 * never need the network, so they keep working while the JWKS is down.
 */
@Injectable()
export class Authenticator implements OnApplicationBootstrap {
  private readonly logger = new Logger(Authenticator.name);
  private readonly keys: ApiKeyStore;
  private readonly jwt?: Jwt.JwtVerifier;
  private readonly metricsTokenDigest?: Buffer;
  /** The name `/invocations` serves (the first of MODELS), for keys limited to some models. */
  readonly defaultModelName?: string;

  constructor(
    @Inject(authConfig.KEY) readonly config: AuthConfig,
    @Inject(modelsConfig.KEY) models: ModelsConfig,
  ) {
    this.keys = new ApiKeyStore(config.apiKeys);
    this.jwt = config.jwt && jwtVerifier(config.jwt);
    this.metricsTokenDigest =
      config.metricsToken === undefined ? undefined : sha256(config.metricsToken);
    this.defaultModelName = models.models[0]?.name;
  }

  get enabled(): boolean {
    return this.config.enabled;
  }

  onApplicationBootstrap(): void {
    if (!this.enabled) {
      this.logger.warn(
        'API_AUTH=off: every route is open to anyone who can reach this port. ' +
          'For local development only; /health/topology shows auth.mode "off"',
      );
    } else if (this.keys.size === 0 && !this.jwt) {
      this.logger.warn(
        'no API_KEYS, API_KEYS_FILE or API_JWT_JWKS_URL: every route but the probes answers 401. ' +
          'Create a key with `npm run key -- <name> <scopes>`',
      );
    } else {
      this.logger.log({
        message: 'authentication on',
        apiKeys: this.keys.size,
        jwt: this.jwt ? 'on' : 'off',
      });
    }
  }

  /** The caller, or an AuthenticationError saying why not. */
  async authenticate({ apiKey, bearer }: Credentials): Promise<Principal> {
    const presented = apiKey ?? bearer;
    if (presented === undefined || presented === '') {
      throw new AuthenticationError(
        AuthenticationErrorCode.MissingCredentials,
        'credentials required: send an API key (X-API-Key or Authorization: Bearer) or a JWT',
      );
    }
    const byKey = this.keys.lookup(presented);
    if (byKey) return byKey;
    if (apiKey === undefined && this.jwt && JWT_SHAPE.test(presented)) {
      return this.jwt.verify(presented);
    }
    throw new AuthenticationError(
      apiKey === undefined && JWT_SHAPE.test(presented)
        ? AuthenticationErrorCode.InvalidToken
        : AuthenticationErrorCode.UnknownKey,
      'the API key or token is not valid',
    );
  }

  /** Whether GET /metrics may be scraped with this bearer token (true when no METRICS_TOKEN). */
  metricsAllowed(bearer: string | undefined): boolean {
    if (this.metricsTokenDigest === undefined) return true;
    return timingSafeEqual(sha256(bearer ?? ''), this.metricsTokenDigest);
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
