import { Metadata } from '@grpc/grpc-js';
import { credentialsOf as sut } from './grpc-credentials';

function metadataOf(entries: Record<string, string>): Metadata {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(entries)) metadata.set(key, value);
  return metadata;
}

describe('credentials of a gRPC call', () => {
  it('reads x-api-key, trimmed', () => {
    expect(sut(metadataOf({ 'x-api-key': ' mg_key ' }))).toEqual({
      apiKey: 'mg_key',
      bearer: undefined,
    });
  });

  it('reads the token of authorization: Bearer, scheme in any case', () => {
    expect(sut(metadataOf({ authorization: 'bearer a.b.c' })).bearer).toBe('a.b.c');
  });

  it('reads no bearer from another scheme, and nothing from empty metadata', () => {
    expect(sut(metadataOf({ authorization: 'Basic dXNlcjpwdw==' })).bearer).toBeUndefined();
    expect(sut(new Metadata())).toEqual({ apiKey: undefined, bearer: undefined });
  });
});
