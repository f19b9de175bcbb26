import { parsePythonJson } from './python-json';

describe('parsePythonJson', () => {
  it('parses standard JSON', () => {
    expect(parsePythonJson('{"a": [1, 2.5, "x", null, true]}')).toEqual({
      a: [1, 2.5, 'x', null, true],
    });
  });

  it("reads Python's NaN, Infinity and -Infinity tokens as numbers", () => {
    expect(parsePythonJson('{"data": [[4.9, NaN], [Infinity, -Infinity]]}')).toEqual({
      data: [
        [4.9, NaN],
        [Infinity, -Infinity],
      ],
    });
  });

  it('leaves the same words inside strings alone', () => {
    expect(parsePythonJson('["NaN", "say \\"Infinity\\"", NaN]')).toEqual([
      'NaN',
      'say "Infinity"',
      NaN,
    ]);
  });

  it('throws a SyntaxError for text that is not JSON even with the tokens', () => {
    expect(() => parsePythonJson('{"a": nan}')).toThrow(SyntaxError);
    expect(() => parsePythonJson('{"a": NaN')).toThrow(SyntaxError);
  });
});
