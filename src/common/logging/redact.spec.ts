import { redactText, redactValue } from './redact';
import { requestIdFrom } from './request-context';

describe('redactText', () => {
  it.each([
    ['Authorization: Bearer eyJhbGciOi.J9xyz', 'Bearer [redacted]'],
    ['Basic YWxpY2U6aHVudGVyMg==', 'Basic [redacted]'],
    ['http://u:p4ss@host:5000/x', 'http://[redacted]@host:5000/x'],
    ['url?token=abc123&x=1', 'token=[redacted]&x=1'],
  ])('redacts %p', (text, expected) => {
    expect(redactText(text)).toContain(expected);
  });

  it('leaves ordinary text alone', () => {
    expect(redactText('loaded iris v3 in 120 ms')).toBe('loaded iris v3 in 120 ms');
  });
});

describe('redactValue', () => {
  it('redacts secret-named keys at any depth and keeps the rest', () => {
    expect(
      redactValue({ user: 'bob', nested: { apiKey: 'k', list: [{ password: 'p', n: 1 }] } }),
    ).toEqual({
      user: 'bob',
      nested: { apiKey: '[redacted]', list: [{ password: '[redacted]', n: 1 }] },
    });
  });

  it('redacts the credential headers: Authorization and X-API-Key', () => {
    expect(redactValue({ authorization: 'Bearer mg_k', 'x-api-key': 'mg_k', accept: 'a' })).toEqual(
      {
        authorization: '[redacted]',
        'x-api-key': '[redacted]',
        accept: 'a',
      },
    );
  });

  it('bounds long arrays', () => {
    const out = redactValue(Array.from({ length: 60 }, (_, i) => i)) as unknown[];

    expect(out).toHaveLength(51);
    expect(out[50]).toBe('[10 more]');
  });
});

describe('requestIdFrom', () => {
  it('keeps a sane caller id', () => {
    expect(requestIdFrom('abc-123_x.y:z')).toBe('abc-123_x.y:z');
    expect(requestIdFrom(['first', 'second'])).toBe('first');
  });

  it.each([undefined, '', 'has space', 'x'.repeat(129), 'line\nbreak', '<script>'])(
    'makes a new id instead of %p',
    (header) => {
      expect(requestIdFrom(header)).toMatch(/^[0-9a-f-]{36}$/);
    },
  );
});
