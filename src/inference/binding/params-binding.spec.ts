import { ModelSignature } from '../../models/model-signature.types';
import { bindParams } from './params-binding';

const SIGNATURE: ModelSignature = {
  inputs: [{ kind: 'column', name: 'x', type: 'double', required: true }],
  outputs: [],
  params: [
    { name: 'scale', type: 'double', default: 1 },
    { name: 'mode', type: 'string', default: 'plain' },
  ],
};

describe('bindParams', () => {
  it('gives every declared param, the request’s value over the default', () => {
    const sut = bindParams({ scale: 3 }, SIGNATURE);

    expect(sut).toEqual({ scale: 3, mode: 'plain' });
  });

  it('drops params the schema does not declare', () => {
    const sut = bindParams({ other: 1 }, SIGNATURE);

    expect(sut).toEqual({ scale: 1, mode: 'plain' });
  });

  it('gives none to a model without a params schema, whatever was asked', () => {
    const sut = bindParams({ scale: 3 }, { ...SIGNATURE, params: [] });

    expect(sut).toBeUndefined();
  });
});
