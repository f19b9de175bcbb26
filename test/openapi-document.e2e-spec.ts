import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { ModulesContainer } from '@nestjs/core';
import { errorProtocolOf } from '../src/common/http/error-reply';
import { RunningServer, startServer, stackEnv } from './support/app';
import { request } from './support/http';
import { sharedStack } from './support/shared-stack';

/** The subset of OpenAPI 3.1 this test reads. */
interface Operation {
  operationId?: string;
  parameters?: { name: string; in: string; required?: boolean; schema?: object }[];
  requestBody?: { content: Record<string, { schema?: object }> };
  responses: Record<string, { description: string; content?: Record<string, { schema?: object }> }>;
  security?: Record<string, string[]>[];
}
interface Document {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, object>; securitySchemes: Record<string, object> };
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];
/** The load balancers' probes: open to anyone (issue 11: "stay open"). */
const PROBES = new Set([
  'GET /health/live',
  'GET /health/ready',
  'GET /ping',
  'GET /v2/health/live',
  'GET /v2/health/ready',
  'GET /v2/models/{name}/ready',
  'GET /v2/models/{name}/versions/{version}/ready',
]);
/** Open for Prometheus, or behind METRICS_TOKEN (issue 11), and the DAG callback with its own token. */
const OWN_RULES = new Set(['GET /metrics', 'POST /v1/hooks/airflow', 'POST /v1/hooks/mlflow']);
const ERROR_SCHEMA = {
  mlflow: 'MlflowError',
  'open-inference': 'OpenInferenceError',
  api: 'ApiError',
};

/** Every route Nest registered, as `METHOD /path/{param}`, from the controllers' own metadata. */
function nestRoutes(server: RunningServer): string[] {
  const routes: string[] = [];
  for (const module of server.app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as { prototype: object } | null;
      if (!controller) continue;
      const base = [Reflect.getMetadata(PATH_METADATA, controller) as string | string[]].flat();
      const prototype = controller.prototype as Record<string, unknown>;
      for (const key of Object.getOwnPropertyNames(prototype)) {
        const handler = prototype[key];
        if (key === 'constructor' || typeof handler !== 'function') continue;
        const paths = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
        const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
        if (paths === undefined || method === undefined) continue;
        for (const prefix of base) {
          for (const path of [paths].flat()) {
            const full = `/${[prefix, path].filter((p) => p && p !== '/').join('/')}`
              .replace(/\/+/g, '/')
              .replace(/:(\w+)/g, '{$1}');
            routes.push(`${RequestMethod[method]} ${full}`);
          }
        }
      }
    }
  }
  return routes.sort();
}

function operations(document: Document): [string, Operation][] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, operation]): [string, Operation] => [
        `${method.toUpperCase()} ${path}`,
        operation,
      ]),
  );
}

function refsIn(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(refsIn);
  if (node === null || typeof node !== 'object') return [];
  return Object.entries(node).flatMap(([key, value]) =>
    key === '$ref' && typeof value === 'string' ? [value] : refsIn(value),
  );
}

describe('The OpenAPI document at /docs/openapi.json', () => {
  let server: RunningServer;
  let document: Document;
  let routes: string[];

  beforeAll(async () => {
    server = await startServer({ ...stackEnv(sharedStack()), MODEL_REFRESH_INTERVAL: '0' });
    const reply = await request<Document>(`${server.url}/docs/openapi.json`);
    expect(reply.status).toBe(200);
    document = reply.body;
    routes = nestRoutes(server);
  });

  afterAll(async () => {
    await server?.app.close();
  });

  it('is OpenAPI 3.1 with a title, a version and the security schemes', () => {
    expect(document.openapi).toMatch(/^3\.1\.\d+$/);
    expect(document.info.title).toBe('Modelgate');
    expect(document.info.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(document.components.securitySchemes).toEqual({
      bearer: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
      apiKey: expect.objectContaining({ type: 'apiKey', in: 'header', name: 'X-API-Key' }),
      callbackToken: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
      mlflowSignature: expect.objectContaining({
        type: 'apiKey',
        in: 'header',
        name: 'X-MLflow-Signature',
      }),
    });
  });

  it('lists every route Nest registered, and no route it did not', () => {
    expect(routes.length).toBeGreaterThan(20);
    expect(
      operations(document)
        .map(([route]) => route)
        .sort(),
    ).toEqual(routes);
  });

  it('declares at least one 2xx answer for every route', () => {
    const without = operations(document)
      .filter(([, op]) => !Object.keys(op.responses).some((status) => /^2\d\d$/.test(status)))
      .map(([route]) => route);
    expect(without).toEqual([]);
  });

  it('declares credentials, 401, 403 and 429 on every route but the probes', () => {
    for (const [route, op] of operations(document)) {
      if (PROBES.has(route)) {
        expect({ route, security: op.security }).toEqual({ route, security: undefined });
      } else if (!OWN_RULES.has(route)) {
        expect({ route, security: op.security }).toEqual({
          route,
          security: [{ bearer: [] }, { apiKey: [] }],
        });
        expect({ route, statuses: Object.keys(op.responses) }).toEqual({
          route,
          statuses: expect.arrayContaining(['401', '403', '429']),
        });
      }
    }
    const hook = document.paths['/v1/hooks/airflow'].post;
    expect(hook.security).toEqual([{ callbackToken: [] }]);
    expect(Object.keys(hook.responses)).toEqual(expect.arrayContaining(['401', '403', '413']));
    const webhook = document.paths['/v1/hooks/mlflow'].post;
    expect(webhook.security).toEqual([{ mlflowSignature: [] }]);
    expect(Object.keys(webhook.responses)).toEqual(
      expect.arrayContaining(['200', '400', '401', '413', '503']),
    );
  });

  it('declares a request body and 400, 404, 413 and 503 on every prediction route', () => {
    const predictions = operations(document).filter(([route]) =>
      /\/(invocations|infer)$/.test(route),
    );
    expect(predictions).toHaveLength(5);
    for (const [route, op] of predictions) {
      expect({ route, body: Object.keys(op.requestBody?.content ?? {}) }).toEqual({
        route,
        body: route.includes('invocations')
          ? ['application/json', 'text/csv']
          : ['application/json', 'application/octet-stream'],
      });
      expect({ route, statuses: Object.keys(op.responses) }).toEqual({
        route,
        statuses: expect.arrayContaining(['200', '400', '404', '413', '503']),
      });
    }
    expect(Object.keys(document.paths['/invocations'].post.responses)).toContain('415');
  });

  it("answers every error with a body in the route's own protocol", () => {
    for (const [route, op] of operations(document)) {
      const path = route.split(' ')[1].replace(/\{[^}]+\}/g, 'x');
      const expected = `#/components/schemas/${ERROR_SCHEMA[errorProtocolOf(path)]}`;
      for (const [status, response] of Object.entries(op.responses)) {
        const schema = response.content?.['application/json']?.schema as { $ref?: string };
        // Probes answer failures with their check's result (terminus, or empty bodies).
        if (Number(status) < 400 || !schema || /health|^GET \/$/.test(route)) continue;
        expect({ route, status, ref: schema.$ref }).toEqual({ route, status, ref: expected });
      }
    }
  });

  it('declares every path parameter, required, with a schema', () => {
    for (const [route, op] of operations(document)) {
      const names = [...route.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      const declared = (op.parameters ?? []).filter((p) => p.in === 'path');
      expect({ route, names: declared.map((p) => p.name).sort() }).toEqual({ route, names });
      for (const parameter of declared) {
        expect({ route, parameter: parameter.name, required: parameter.required }).toEqual({
          route,
          parameter: parameter.name,
          required: true,
        });
        expect(parameter.schema).toEqual(expect.objectContaining({ type: 'string' }));
      }
    }
  });

  it('has unique operation ids, valid status keys and resolvable references', () => {
    const ids = operations(document).map(([, op]) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const [route, op] of operations(document)) {
      for (const status of Object.keys(op.responses)) {
        expect({ route, status }).toEqual({ route, status: expect.stringMatching(/^[1-5]\d\d$/) });
      }
      for (const requirement of op.security ?? []) {
        for (const scheme of Object.keys(requirement)) {
          expect(document.components.securitySchemes).toHaveProperty(scheme);
        }
      }
    }
    const missing = refsIn(document).filter((ref) => {
      const name = ref.replace('#/components/schemas/', '');
      return !ref.startsWith('#/components/schemas/') || !(name in document.components.schemas);
    });
    expect(missing).toEqual([]);
  });

  it('writes no OpenAPI 3.0 keyword that 3.1 dropped', () => {
    const text = JSON.stringify(document);
    expect(text).not.toContain('"nullable"');
    // Content-Type is the body's media type, not a parameter (OpenAPI 3.1 §4.8.12.1).
    for (const [route, op] of operations(document)) {
      const headers = (op.parameters ?? []).filter((p) => p.in === 'header');
      expect({ route, headers: headers.map((h) => h.name.toLowerCase()) }).toEqual({
        route,
        headers: expect.not.arrayContaining(['content-type']),
      });
    }
  });
});
