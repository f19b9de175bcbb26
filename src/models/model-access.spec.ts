import { modelNameFilter } from './model-access';

describe(modelNameFilter.name, () => {
  it('allows every name when no pattern is given', () => {
    const sut = modelNameFilter([]);

    expect(sut('anything')).toBe(true);
  });

  it('matches whole names, * as any run of characters and ? as one', () => {
    const sut = modelNameFilter(['iris*', 'fraud-?']);

    expect(['iris', 'iris-classifier', 'fraud-1'].map(sut)).toEqual([true, true, true]);
    expect(['my-iris', 'fraud-12', 'fraud-'].map(sut)).toEqual([false, false, false]);
  });

  it('takes every other character literally', () => {
    const sut = modelNameFilter(['a.b+(c)']);

    expect(sut('a.b+(c)')).toBe(true);
    expect(sut('aXb+(c)')).toBe(false);
    expect(sut('a.bb(c)')).toBe(false);
  });
});
