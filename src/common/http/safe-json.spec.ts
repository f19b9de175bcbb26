import { jsonDepth } from './json-depth';
import { RefusedJson, parseStrictJson, refusePoisoning } from './safe-json';

describe('jsonDepth', () => {
  it('counts lists and objects, not brackets inside strings', () => {
    expect(jsonDepth('{"a": [[1], "[[[["]}', 10)).toBe(3);
    expect(jsonDepth('"\\"[["', 10)).toBe(0);
  });

  it('stops at the first level past the limit', () => {
    expect(jsonDepth('['.repeat(200_000), 64)).toBe(65);
  });
});

describe('parseStrictJson', () => {
  it('parses JSON', () => {
    expect(parseStrictJson('{"a": [1, 2]}', 64)).toEqual({ kind: 'value', value: { a: [1, 2] } });
  });

  it('refuses nesting past the limit before parsing, naming API_MAX_DEPTH', () => {
    const sut = parseStrictJson(`${'['.repeat(200_000)}${']'.repeat(200_000)}`, 64);

    expect(sut).toEqual({
      kind: 'refused',
      refused: new RefusedJson(
        'the JSON body nests deeper than 64 levels of lists and objects (API_MAX_DEPTH=64)',
      ),
    });
  });

  it.each([
    '{"__proto__": {"x": 1}}',
    '{"a": [{"\\u005f_proto__": 1}]}',
    '{"constructor": {"prototype": {}}}',
  ])('refuses the prototype key in %s', (text) => {
    const sut = parseStrictJson(text, 64);

    expect(sut.kind).toBe('refused');
    expect(sut.kind === 'refused' && sut.refused.reason).toMatch(/prototype poisoning/);
  });

  it("reports bad syntax as malformed, with the parser's reason", () => {
    const sut = parseStrictJson('{"a": NaN}', 64);

    expect(sut.kind).toBe('malformed');
  });
});

describe('refusePoisoning', () => {
  it('passes values whose text cannot spell a forbidden key, without walking them', () => {
    expect(refusePoisoning({ a: [1] }, '{"a": [1]}')).toBeUndefined();
  });

  it('refuses an own __proto__ key (as JSON.parse makes it)', () => {
    const text = '{"__proto__": {"x": 1}}';

    expect(refusePoisoning(JSON.parse(text), text)).toBeInstanceOf(RefusedJson);
  });
});
