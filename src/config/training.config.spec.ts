import { ConfigValidationError } from './env.validation';
import { parseConfKeys, parseDagList, trainingConfig } from './training.config';

describe('trainingConfig', () => {
  const original = process.env;

  afterEach(() => {
    process.env = original;
  });

  function load(vars: Record<string, string>) {
    process.env = { ...vars };
    return trainingConfig();
  }

  function problemsOf(vars: Record<string, string>): string[] {
    try {
      load(vars);
    } catch (error) {
      if (error instanceof ConfigValidationError) return error.problems;
      throw error;
    }
    throw new Error('expected a configuration error');
  }

  it('allows only TRAINING_DAG_ID, with the shipped DAG’s conf keys, by default', () => {
    const sut = load({});

    expect(sut.dags).toEqual(['modelgate_retrain']);
    expect(Object.fromEntries(sut.confKeys.get('modelgate_retrain') ?? [])).toEqual({
      model_name: 'string',
      alias: 'string',
      C: 'number',
      max_iter: 'integer',
      metric: 'string',
      force: 'boolean',
      experiment: 'string',
      flavor: 'string',
    });
  });

  it('follows TRAINING_DAG_ID when TRAINING_DAGS is unset', () => {
    expect(load({ TRAINING_DAG_ID: 'nightly' }).dags).toEqual(['nightly']);
  });

  it('reads TRAINING_DAGS and lets a TRAINING_CONF_KEYS entry replace a DAG’s built-in keys', () => {
    const sut = load({
      TRAINING_DAGS: 'modelgate_retrain, nightly',
      TRAINING_CONF_KEYS: 'modelgate_retrain:C=number; nightly:window=integer,note',
    });

    expect(sut.dags).toEqual(['modelgate_retrain', 'nightly']);
    expect(Object.fromEntries(sut.confKeys.get('modelgate_retrain') ?? [])).toEqual({
      C: 'number',
    });
    expect(Object.fromEntries(sut.confKeys.get('nightly') ?? [])).toEqual({
      window: 'integer',
      note: undefined,
    });
  });

  it('refuses a TRAINING_DAGS that leaves out the default DAG', () => {
    expect(problemsOf({ TRAINING_DAGS: 'nightly' })).toEqual([
      'TRAINING_DAGS: must list TRAINING_DAG_ID (the DAG a request without dagId runs)',
    ]);
  });

  it('refuses conf keys for a DAG that is not listed, without showing the value', () => {
    const problems = problemsOf({ TRAINING_CONF_KEYS: 'sneaky_dag:force' });

    expect(problems).toEqual(['TRAINING_CONF_KEYS: names a DAG that TRAINING_DAGS does not list']);
    expect(problems.join()).not.toContain('sneaky_dag');
  });

  it('names the entry and the rule of a malformed TRAINING_CONF_KEYS', () => {
    expect(problemsOf({ TRAINING_CONF_KEYS: 'modelgate_retrain:C=float' })).toEqual([
      "TRAINING_CONF_KEYS: entry 1: a key's type is one of string, number, integer, boolean, object, array",
    ]);
  });
});

describe(parseConfKeys.name, () => {
  it('reads keys with and without types, and a DAG that takes no conf', () => {
    const sut = parseConfKeys('a:x=string,y;b:');

    expect([...sut.keys()]).toEqual(['a', 'b']);
    expect(Object.fromEntries(sut.get('a') ?? [])).toEqual({ x: 'string', y: undefined });
    expect(sut.get('b')?.size).toBe(0);
  });

  it.each([
    ['no colon', 'a', 'entry 1 must read dag_id:key1,key2'],
    ['a bad DAG id', 'a b:x', 'entry 1 does not start with a DAG id'],
    ['the same DAG twice', 'a:x;a:y', 'entry 2 names a DAG a previous entry already named'],
    [
      'an empty key',
      'a:x,,y',
      'entry 1: a conf key is letters, digits, "_", "-", "." (then =type)',
    ],
    [
      'two types',
      'a:x=string=number',
      'entry 1: a conf key is letters, digits, "_", "-", "." (then =type)',
    ],
  ])('refuses %s', (_, text, message) => {
    expect(() => parseConfKeys(text)).toThrow(message);
  });
});

describe(parseDagList.name, () => {
  it('trims and de-duplicates', () => {
    expect(parseDagList(' a, b ,a')).toEqual(['a', 'b']);
  });

  it('names the bad entry', () => {
    expect(() => parseDagList('a,,b')).toThrow('entry 2 is not a DAG id');
  });
});
