import { applyDecorators } from '@nestjs/common';
import { ApiResponse, ApiSecurity } from '@nestjs/swagger';
import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import type { ErrorProtocol } from '../http/error-reply';
import { ERROR_SCHEMAS, ERROR_SCHEMA_OF } from './error.schema';
import { JsonSchema, schemaRef } from './schema-ref';

/** Security scheme names, as declared in src/openapi/openapi.document.ts. */
export const SECURITY = {
  /** An API key or a JWT from the identity provider, as `Authorization: Bearer …`. */
  bearer: 'bearer',
  /** An API key as `X-API-Key: …`. */
  apiKey: 'apiKey',
  /** The Airflow DAG callback's own token (API_CALLBACK_TOKEN), as `Authorization: Bearer …`. */
  callbackToken: 'callbackToken',
  /** MLflow's webhook signature (MLFLOW_WEBHOOK_SECRET), as `X-MLflow-Signature: v1,…`. */
  mlflowSignature: 'mlflowSignature',
} as const;

/** The error statuses our routes answer, with what each means to a caller. */
const ERROR_STATUSES = {
  400: 'The request is malformed or does not fit the model; the message names what is wrong',
  401: 'No credential, or one that is not valid (see WWW-Authenticate)',
  403: "The credential lacks the route's scope; the message names it",
  404: 'No such model, version, DAG or run',
  409: 'Conflicts with the current state (e.g. a run id already used)',
  413: 'The body is over the limit for this route',
  415: 'Unsupported Content-Type (or charset)',
  429: 'Rate limit or queue limit reached; retry after Retry-After seconds',
  502: 'An upstream server refused our credentials or configuration',
  503: 'Not ready, shutting down, overloaded, or an upstream server is unreachable',
} as const;

export type ErrorStatus = keyof typeof ERROR_STATUSES;

const RETRY_AFTER = {
  'retry-after': {
    description: 'Seconds to wait before retrying',
    schema: { type: 'integer', minimum: 0 },
  },
};

/**
 * Documents error answers of a route, each with its protocol's body:
 * MLflow `{"error_code","message"}`, Open Inference `{"error"}`, the API
 * `{"statusCode","error","message"}`.
 */
export function ApiErrors(protocol: ErrorProtocol, ...statuses: ErrorStatus[]): MethodDecorator {
  const schema = schemaRef(ERROR_SCHEMAS, ERROR_SCHEMA_OF[protocol]);
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: ERROR_STATUSES[status],
        content: { 'application/json': { schema } },
        ...(status === 429 || status === 503 ? { headers: RETRY_AFTER } : {}),
      }),
    ),
  );
}

/**
 * A route that needs a credential (every route but the load balancers'
 * probes): an API key or a JWT as `Authorization: Bearer …`, or an API key as
 * `X-API-Key`; refused with 401, 403 or 429 in the route's protocol.
 */
export function ApiCredentials(protocol: ErrorProtocol): MethodDecorator {
  return applyDecorators(
    ApiSecurity(SECURITY.bearer),
    ApiSecurity(SECURITY.apiKey),
    ApiErrors(protocol, 401, 403, 429),
  );
}

/** A success answer with a JSON body. */
export function ApiJsonAnswer(
  status: number,
  description: string,
  schema: JsonSchema,
): MethodDecorator {
  return ApiResponse({
    status,
    description,
    content: { 'application/json': { schema: asSchemaObject(schema) } },
  });
}

/** A success answer with a body of another media type (text, HTML), or none. */
export function ApiAnswer(
  status: number,
  description: string,
  mediaType?: string,
  schema: JsonSchema = { type: 'string' },
): MethodDecorator {
  const content = mediaType ? { [mediaType]: { schema: asSchemaObject(schema) } } : undefined;
  return ApiResponse({ status, description, content });
}

/** @nestjs/swagger's types are OpenAPI 3.0's; the document is 3.1 (see schema-ref.ts). */
function asSchemaObject(schema: JsonSchema): SchemaObject {
  return schema as SchemaObject;
}
