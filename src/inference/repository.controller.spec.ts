import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { routeAccessOf } from '../auth/route-scopes';
import { RepositoryController as sut } from './repository.controller';

/** Each route of the controller as Fastify's pattern, from Nest's route metadata. */
function routesOf(controller: typeof sut): { method: string; pattern: string }[] {
  const base = Reflect.getMetadata(PATH_METADATA, controller) as string;
  const prototype = controller.prototype as unknown as Record<string, object>;
  return Object.getOwnPropertyNames(controller.prototype)
    .filter((key) => key !== 'constructor')
    .map((key) => {
      const handler = prototype[key];
      const path = Reflect.getMetadata(PATH_METADATA, handler) as string;
      const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod;
      return { method: RequestMethod[method], pattern: `/${base}/${path}` };
    });
}

describe(`${sut.name} access`, () => {
  it('declares the three repository routes of the extension', () => {
    expect(routesOf(sut)).toEqual([
      { method: 'POST', pattern: '/v2/repository/index' },
      { method: 'POST', pattern: '/v2/repository/models/:name/load' },
      { method: 'POST', pattern: '/v2/repository/models/:name/unload' },
    ]);
  });

  it('needs read for the index and reload for load and unload, never leaving one open', () => {
    const access = routesOf(sut).map(({ method, pattern }) => routeAccessOf(method, pattern));

    expect(access).toEqual([
      { kind: 'scope', scope: 'read', model: undefined },
      { kind: 'scope', scope: 'reload', model: 'name' },
      { kind: 'scope', scope: 'reload', model: 'name' },
    ]);
  });
});
