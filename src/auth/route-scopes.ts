import { Scope } from '../common/scopes';

/**
 * Which URL parameter names the model a route uses, so a key limited to some
 * models is refused on the others: `ref` is a reference (`iris@champion`),
 * `name` a model name, `default` the first of MODELS (`/invocations`).
 */
export type ModelParam = 'ref' | 'name' | 'default';

export type RouteAccess =
  /** No credentials: load-balancer probes. */
  | { kind: 'open' }
  /** An API key or JWT holding `scope`. */
  | { kind: 'scope'; scope: Scope; model?: ModelParam }
  /** The route checks its own credential (the Airflow callback token, the MLflow webhook signature). */
  | { kind: 'own-credentials' }
  /** Open, or `Authorization: Bearer <METRICS_TOKEN>` when that is set. */
  | { kind: 'metrics' }
  /** As API_DOCS says: open, `read`, or off. */
  | { kind: 'docs' };

const OPEN: RouteAccess = { kind: 'open' };
const scope = (s: Scope, model?: ModelParam): RouteAccess => ({ kind: 'scope', scope: s, model });

/**
 * Every route and who may call it, keyed by method and Fastify's route
 * pattern (as the controllers declare it). The one place to read or change
 * access; README "Security" prints the same table.
 */
export const ROUTE_SCOPES: Readonly<Record<string, RouteAccess>> = {
  // Probes stay open: load balancers and orchestrators send no credentials,
  // and the answers say up/down only.
  'GET /health/live': OPEN,
  'GET /health/ready': OPEN,
  'GET /ping': OPEN,
  'GET /v2/health/live': OPEN,
  'GET /v2/health/ready': OPEN,
  // A model's readiness probe (KServe and Triton-style balancers check it per
  // model): the answer is a status code, nothing about the model.
  'GET /v2/models/:name/ready': OPEN,
  'GET /v2/models/:name/versions/:version/ready': OPEN,

  'GET /metrics': { kind: 'metrics' },

  // Predictions.
  'POST /invocations': scope('predict', 'default'),
  'POST /v1/models/:ref/invocations': scope('predict', 'ref'),
  'POST /v1/models/:name/versions/:version/invocations': scope('predict', 'name'),
  'POST /v2/models/:name/infer': scope('predict', 'name'),
  'POST /v2/models/:name/versions/:version/infer': scope('predict', 'name'),

  // Reading: model metadata, the topology and what it reveals (addresses, versions).
  'GET /': scope('read'),
  'GET /version': scope('read'),
  'GET /status': scope('read'),
  'GET /health/topology': scope('read'),
  'GET /v1/cluster': scope('read'),
  'GET /v1/models': scope('read'),
  'GET /v1/models/:name': scope('read', 'name'),
  'GET /v2': scope('read'),
  'GET /v2/models/:name': scope('read', 'name'),
  'GET /v2/models/:name/versions/:version': scope('read', 'name'),
  'POST /v2/repository/index': scope('read'),

  // Loading and unloading models.
  'POST /v1/models/:name/reload': scope('reload', 'name'),
  'DELETE /v1/models/:name/vetoes/:alias': scope('reload', 'name'),
  'POST /v2/repository/models/:name/load': scope('reload', 'name'),
  'POST /v2/repository/models/:name/unload': scope('reload', 'name'),

  // Training (some conf keys also need `promote`: the training service checks those).
  'POST /v1/training/runs': scope('train'),
  'GET /v1/training/runs/:dagId/:runId': scope('train'),

  'POST /v1/hooks/airflow': { kind: 'own-credentials' },
  'POST /v1/hooks/mlflow': { kind: 'own-credentials' },
};

/** A route no one has put in the table: only `admin`, until someone decides (fail closed). */
const UNLISTED: RouteAccess = scope('admin');
const DOCS: RouteAccess = { kind: 'docs' };

/**
 * Who may call the route `pattern` (Fastify's `routeOptions.url`) with
 * `method`. HEAD is GET's (Fastify answers HEAD from the GET route).
 */
export function routeAccessOf(method: string, pattern: string): RouteAccess {
  const verb = method === 'HEAD' ? 'GET' : method;
  const listed = ROUTE_SCOPES[`${verb} ${pattern}`];
  if (listed) return listed;
  // Swagger UI and the OpenAPI document: /docs, /docs/*, /docs/openapi.json, /docs-yaml.
  if (verb === 'GET' && /^\/docs(?:$|[/-])/.test(pattern)) return DOCS;
  return UNLISTED;
}
