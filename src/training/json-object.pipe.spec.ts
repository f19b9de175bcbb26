import { BadRequestException } from '@nestjs/common';
import { JsonObjectPipe } from './json-object.pipe';

describe(JsonObjectPipe.name, () => {
  const sut = new JsonObjectPipe();

  it.each([
    ['no body at all', undefined],
    ['null', null],
    ['an array', [{ dagId: 'x' }]],
    ['a number', 5],
    ['a string', 'run it'],
  ])('answers 400 "a JSON object is required" for %s', (_, body) => {
    expect(() => sut.transform(body)).toThrow(BadRequestException);
    expect(() => sut.transform(body)).toThrow(/a JSON object is required/);
  });

  it('hands an object on as it is, the empty one included', () => {
    const body = { conf: { C: 1 } };

    expect(sut.transform(body)).toBe(body);
    expect(sut.transform({})).toEqual({});
  });
});
