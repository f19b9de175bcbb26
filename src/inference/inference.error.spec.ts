import { InvalidInputError, UnsupportedMediaTypeError } from './inference.error';

describe('inference errors', () => {
  it('carries the message and the field at fault', () => {
    const sut = new InvalidInputError(`column 'age' row 3: expected a double`, 'age');

    expect(sut).toBeInstanceOf(Error);
    expect(sut.name).toBe('InvalidInputError');
    expect(sut.message).toBe(`column 'age' row 3: expected a double`);
    expect(sut.field).toBe('age');
  });

  it('has no field when none is named', () => {
    expect(new InvalidInputError('bad').field).toBeUndefined();
  });

  it('names the unsupported media type error', () => {
    const sut = new UnsupportedMediaTypeError('unsupported content type');

    expect(sut).toBeInstanceOf(Error);
    expect(sut.name).toBe('UnsupportedMediaTypeError');
  });
});
