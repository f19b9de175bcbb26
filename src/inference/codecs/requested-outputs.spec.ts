import { InvalidInputError } from '../inference.error';
import { decodeRequestParameters, decodeRequestedOutputs } from './requested-outputs';

describe('decodeRequestedOutputs', () => {
  it('reads binary_data and classification, ignoring classification 0 as tritonclient means it', () => {
    const sut = decodeRequestedOutputs([
      { name: 'a', parameters: { binary_data: true, classification: 3 } },
      { name: 'b', parameters: { classification: 0 } },
      { name: 'c' },
    ]);

    expect(sut).toEqual([
      { name: 'a', binary: true, classification: 3 },
      { name: 'b' },
      { name: 'c' },
    ]);
  });

  it.each([
    [[{ name: 'a', parameters: { binary_data: 'yes' } }], /binary_data must be true or false/],
    [[{ name: 'a', parameters: { classification: 1.5 } }], /classification must be a whole number/],
    [[{ name: 'a', parameters: { classification: -1 } }], /classification must be a whole number/],
    [[{ name: 'a', parameters: [] }], /output 'a': parameters must be an object, got a list/],
    [[{ parameters: {} }], /outputs\[0\] must be an object with a name/],
    [{ name: 'a' }, /outputs must be a list, got an object/],
  ])('refuses %j', (raw, message) => {
    expect(() => decodeRequestedOutputs(raw)).toThrow(InvalidInputError);
    expect(() => decodeRequestedOutputs(raw)).toThrow(message);
  });
});

describe('decodeRequestParameters', () => {
  it('takes binary_data_output out and passes the rest on', () => {
    expect(decodeRequestParameters({ binary_data_output: true, priority: 1 })).toEqual({
      parameters: { priority: 1 },
      binaryOutput: true,
    });
  });

  it('refuses a binary_data_output that is not a boolean, and parameters that are not an object', () => {
    expect(() => decodeRequestParameters({ binary_data_output: 1 })).toThrow(
      'parameters.binary_data_output must be true or false, got a number',
    );
    expect(() => decodeRequestParameters('x')).toThrow(
      'parameters must be an object, got a string',
    );
  });
});
