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

  it('ends a string at a quote after an even run of backslashes only', () => {
    expect(jsonDepth('["\\\\", [[1]]]', 10)).toBe(3);
    expect(jsonDepth('["\\"[[", 1]', 10)).toBe(1);
    expect(jsonDepth('[{"a\\\\": ["]"]}]', 10)).toBe(3);
    expect(jsonDepth('[{"a\\": ["]"]}]', 10)).toBe(2);
  });

  it('stops at a string left open', () => {
    expect(jsonDepth('[[1], "[[[', 10)).toBe(2);
  });

  it('agrees with a character-by-character reading on random texts', () => {
    const alphabet = ['[', ']', '{', '}', '"', '\\', '1', ',', ' '];
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let n = 0; n < 2000; n++) {
      const length = Math.floor(random() * 40);
      const text = Array.from(
        { length },
        () => alphabet[Math.floor(random() * alphabet.length)],
      ).join('');
      for (const limit of [2, 64])
        expect([text, jsonDepth(text, limit)]).toEqual([text, readDepth(text, limit)]);
    }
  });
});

/** The reference: every character in turn, as the first version of jsonDepth read them. */
function readDepth(text: string, limit: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
    } else if (c === '[' || c === '{') {
      depth++;
      deepest = Math.max(deepest, depth);
      if (deepest > limit) return deepest;
    } else if (c === ']' || c === '}') {
      depth--;
    }
  }
  return deepest;
}

describe('parseStrictJson', () => {
  it('parses JSON', () => {
    expect(parseStrictJson('{"a": [1, 2]}', 64)).toEqual({ kind: 'value', value: { a: [1, 2] } });
  });

  it('drops a leading byte order mark, as secure-json-parse does', () => {
    expect(parseStrictJson('\ufeff[1]', 64)).toEqual({ kind: 'value', value: [1] });
  });

  it('takes a key that only looks like a forbidden one', () => {
    expect(parseStrictJson('{"constructor": 1, "a": "__proto__"}', 64)).toEqual({
      kind: 'value',
      value: { constructor: 1, a: '__proto__' },
    });
  });

  it('calls a malformed text malformed, whatever keys it holds', () => {
    expect(parseStrictJson('{"__proto__": {}', 64).kind).toBe('malformed');
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
