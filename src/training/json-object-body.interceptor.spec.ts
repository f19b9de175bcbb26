import { BadRequestException, CallHandler, ExecutionContext } from '@nestjs/common';
import { lastValueFrom, of } from 'rxjs';
import { JsonObjectBody } from './json-object-body.interceptor';

function contextWith(body: unknown): ExecutionContext {
  const request = { body };
  return { switchToHttp: () => ({ getRequest: () => request }) } as unknown as ExecutionContext;
}

class FakeHandler implements CallHandler {
  calls = 0;
  handle() {
    this.calls += 1;
    return of('handled');
  }
}

describe(JsonObjectBody.name, () => {
  const sut = new JsonObjectBody();

  it.each([
    ['no body at all', undefined],
    ['null', null],
    ['an array', [{ dagId: 'x' }]],
    ['a number', 5],
    ['a text body', 'run it'],
  ])('answers 400 "a JSON object is required" for %s, and never calls the route', (_, body) => {
    const next = new FakeHandler();

    expect(() => sut.intercept(contextWith(body), next)).toThrow(BadRequestException);
    expect(() => sut.intercept(contextWith(body), next)).toThrow(/a JSON object is required/);
    expect(next.calls).toBe(0);
  });

  it('lets an object through, the empty one included', async () => {
    for (const body of [{}, { conf: { C: 1 } }]) {
      await expect(
        lastValueFrom(sut.intercept(contextWith(body), new FakeHandler())),
      ).resolves.toBe('handled');
    }
  });
});
