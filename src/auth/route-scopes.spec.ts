import { ROUTE_SCOPES, routeAccessOf as sut } from './route-scopes';

describe('routeAccessOf', () => {
  it.each([
    ['GET', '/health/live'],
    ['GET', '/health/ready'],
    ['GET', '/ping'],
    ['GET', '/v2/health/live'],
    ['GET', '/v2/health/ready'],
    ['GET', '/v2/models/:name/ready'],
    ['HEAD', '/health/ready'],
  ])('leaves the probe %s %s open', (method, pattern) => {
    expect(sut(method, pattern)).toEqual({ kind: 'open' });
  });

  it.each([
    ['POST', '/invocations', 'predict', 'default'],
    ['POST', '/v1/models/:ref/invocations', 'predict', 'ref'],
    ['POST', '/v2/models/:name/infer', 'predict', 'name'],
    ['GET', '/v1/models', 'read', undefined],
    ['GET', '/v1/models/:name', 'read', 'name'],
    ['GET', '/v2/models/:name', 'read', 'name'],
    ['GET', '/v1/cluster', 'read', undefined],
    ['GET', '/health/topology', 'read', undefined],
    ['GET', '/status', 'read', undefined],
    ['GET', '/', 'read', undefined],
    ['GET', '/version', 'read', undefined],
    ['POST', '/v1/models/:name/reload', 'reload', 'name'],
    ['DELETE', '/v1/models/:name/vetoes/:alias', 'reload', 'name'],
    ['POST', '/v2/repository/models/:name/load', 'reload', 'name'],
    ['POST', '/v2/repository/models/:name/unload', 'reload', 'name'],
    ['POST', '/v2/repository/index', 'read', undefined],
    ['POST', '/v1/training/runs', 'train', undefined],
    ['GET', '/v1/training/runs/:dagId/:runId', 'train', undefined],
  ])('%s %s needs %s', (method, pattern, scope, model) => {
    expect(sut(method, pattern)).toEqual({ kind: 'scope', scope, model });
  });

  it('leaves the hooks to their own credentials', () => {
    expect(sut('POST', '/v1/hooks/airflow')).toEqual({ kind: 'own-credentials' });
    expect(sut('POST', '/v1/hooks/mlflow')).toEqual({ kind: 'own-credentials' });
  });

  it('gives /metrics and the docs their own rules', () => {
    expect(sut('GET', '/metrics')).toEqual({ kind: 'metrics' });
    for (const pattern of ['/docs', '/docs/', '/docs/openapi.json', '/docs/*', '/docs-yaml']) {
      expect(sut('GET', pattern)).toEqual({ kind: 'docs' });
    }
  });

  it('needs admin on a route the table does not list (fail closed)', () => {
    expect(sut('DELETE', '/v1/models/:name')).toEqual({ kind: 'scope', scope: 'admin' });
    expect(sut('GET', '/documents')).toEqual({ kind: 'scope', scope: 'admin' });
  });

  it('names a model parameter only on routes that have it', () => {
    for (const [route, access] of Object.entries(ROUTE_SCOPES)) {
      if (access.kind !== 'scope' || access.model === undefined || access.model === 'default')
        continue;
      expect(route).toContain(`:${access.model}`);
    }
  });
});
