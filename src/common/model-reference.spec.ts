import { InvalidModelReferenceError, parseModelReference } from './model-reference';

describe('parseModelReference', () => {
  it('reads a URI and the same without its scheme', () => {
    expect(parseModelReference('models:/iris@champion')).toEqual({
      name: 'iris',
      selector: { kind: 'alias', alias: 'champion' },
    });
    expect(parseModelReference('iris/3')).toEqual({
      name: 'iris',
      selector: { kind: 'version', version: '3' },
    });
    expect(parseModelReference('iris.v2-prod')).toEqual({
      name: 'iris.v2-prod',
      selector: { kind: 'default' },
    });
  });

  it.each(['ir:is', 'ir:is@champion', 'ir is', '@champion', 'models:/a:b/3'])(
    'refuses %s, whose name MLflow would refuse, before MLflow is asked',
    (text) => {
      expect(() => parseModelReference(text)).toThrow(InvalidModelReferenceError);
      expect(() => parseModelReference(text)).toThrow(/has a space, "\/", ":" or "@"/);
    },
  );
});
