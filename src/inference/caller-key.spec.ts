import { CallerFacts, callerKey } from './caller-key';

describe('callerKey', () => {
  const STICKY = 'x-modelgate-caller';

  function caller(fields: {
    headers?: Record<string, string>;
    principal?: CallerFacts['principal'];
    address?: string;
  }): CallerFacts {
    return {
      header: (name) => fields.headers?.[name],
      principal: fields.principal,
      address: fields.address,
    };
  }

  it('is the sticky header’s value when the caller sends one', () => {
    const sut = caller({
      headers: { [STICKY]: ' tenant-42 ' },
      principal: { name: 'ci', kind: 'api-key' },
      address: '10.0.0.7',
    });

    expect(callerKey(sut, STICKY)).toBe('header:tenant-42');
  });

  it('is the API key’s name without the header, so one key stays on one version from any address', () => {
    const fromA = caller({ principal: { name: 'ci', kind: 'api-key' }, address: '10.0.0.7' });
    const fromB = caller({ principal: { name: 'ci', kind: 'api-key' }, address: '10.0.0.8' });

    expect(callerKey(fromA, STICKY)).toBe('api-key:ci');
    expect(callerKey(fromB, STICKY)).toBe(callerKey(fromA, STICKY));
  });

  it('is the JWT subject for a token caller', () => {
    expect(callerKey(caller({ principal: { name: 'alice', kind: 'jwt' } }), STICKY)).toBe(
      'jwt:alice',
    );
  });

  it('is the address when authentication is off (every caller is anonymous) or the header is blank', () => {
    const sut = caller({
      headers: { [STICKY]: '  ' },
      principal: { name: 'anonymous', kind: 'anonymous' },
      address: '10.0.0.7',
    });

    expect(callerKey(sut, STICKY)).toBe('address:10.0.0.7');
  });

  it('reads only the configured header', () => {
    const sut = caller({ headers: { 'x-tenant': 't1', [STICKY]: 'other' } });

    expect(callerKey(sut, 'x-tenant')).toBe('header:t1');
  });

  it('still gives a key when nothing is known of the caller', () => {
    expect(callerKey(undefined, STICKY)).toBe('address:unknown');
  });
});
