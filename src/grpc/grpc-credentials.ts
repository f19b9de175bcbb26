import { Metadata } from '@grpc/grpc-js';
import { Credentials } from '../auth/authenticator.service';

/**
 * The credentials of a call's metadata, read as REST reads its headers:
 * `x-api-key`, or the token of `authorization: Bearer …` (scheme
 * case-insensitive). Only the first value of each counts.
 */
export function credentialsOf(metadata: Metadata): Credentials {
  const apiKey = firstText(metadata, 'x-api-key');
  const authorization = firstText(metadata, 'authorization');
  const bearer =
    authorization === undefined ? undefined : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization)?.[1];
  return { apiKey: apiKey?.trim(), bearer };
}

/** The first value of a text (non `-bin`) metadata key. */
export function firstText(metadata: Metadata, key: string): string | undefined {
  const value = metadata.get(key)[0];
  return typeof value === 'string' ? value : undefined;
}
