import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import type {
  OperationObject,
  ReferenceObject,
  SchemaObject,
} from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { CLUSTER_SCHEMAS } from '../cluster/openapi/cluster.schema';
import { SECURITY } from '../common/openapi/api-errors.decorator';
import { ERROR_SCHEMAS } from '../common/openapi/error.schema';
import { SchemaCatalog } from '../common/openapi/schema-ref';
import { SERVICE_VERSION } from '../common/version';
import { HEALTH_SCHEMAS } from '../health/openapi/health.schema';
import { MLFLOW_SCORING_SCHEMAS } from '../inference/openapi/mlflow-scoring.schema';
import { MODELS_SCHEMAS } from '../inference/openapi/models.schema';
import { OPEN_INFERENCE_SCHEMAS } from '../inference/openapi/open-inference.schema';
import { REPOSITORY_SCHEMAS } from '../inference/openapi/repository.schema';
import { TRAINING_SCHEMAS } from '../training/openapi/training.schema';

/** Every feature's named schemas, which the routes' decorators `$ref`. */
const CATALOGS: SchemaCatalog[] = [
  ERROR_SCHEMAS,
  MLFLOW_SCORING_SCHEMAS,
  OPEN_INFERENCE_SCHEMAS,
  REPOSITORY_SCHEMAS,
  MODELS_SCHEMAS,
  TRAINING_SCHEMAS,
  HEALTH_SCHEMAS,
  CLUSTER_SCHEMAS,
];

/**
 * Headers OpenAPI ignores as parameters (OpenAPI 3.1 §4.8.12.1): the media
 * type is the request body's, credentials are the security schemes'.
 */
const IMPLICIT_HEADERS = new Set(['content-type', 'accept', 'authorization']);

/** The OpenAPI 3.1 document served at /docs/openapi.json. */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setOpenAPIVersion('3.1.0')
    .setTitle('Modelgate')
    .setDescription(
      'Predictions from models registered in MLflow (MLflow scoring protocol and Open Inference ' +
        'Protocol v2); retraining through Airflow. Load balancer probes are open; every other ' +
        'route needs an API key or a JWT.',
    )
    .setVersion(SERVICE_VERSION)
    .addServer('/', 'This server')
    .addSecurity(SECURITY.bearer, {
      type: 'http',
      scheme: 'bearer',
      description: 'An API key (API_KEYS) or a JWT from the identity provider (API_JWT_*)',
    })
    .addSecurity(SECURITY.apiKey, {
      type: 'apiKey',
      in: 'header',
      name: 'X-API-Key',
      description: 'An API key (API_KEYS)',
    })
    .addSecurity(SECURITY.callbackToken, {
      type: 'http',
      scheme: 'bearer',
      description: "The Airflow DAG callback's token (API_CALLBACK_TOKEN)",
    })
    .addSecurity(SECURITY.mlflowSignature, {
      type: 'apiKey',
      in: 'header',
      name: 'X-MLflow-Signature',
      description:
        'MLflow registry webhook signature: v1,<base64 HMAC-SHA256 of "{X-MLflow-Delivery-Id}.{X-MLflow-Timestamp}.{raw body}"> with MLFLOW_WEBHOOK_SECRET',
    })
    .build();
  const document = SwaggerModule.createDocument(app, config);
  const schemas = (document.components ??= {}).schemas ?? {};
  for (const catalog of CATALOGS) {
    Object.assign(schemas, catalog as Record<string, SchemaObject>);
  }
  document.components.schemas = schemas;
  for (const operation of operationsOf(document)) {
    operation.parameters = operation.parameters?.filter(
      (p) => !('in' in p && p.in === 'header' && IMPLICIT_HEADERS.has(p.name.toLowerCase())),
    );
  }
  closeValidatedBodies(document);
  toJsonSchema2020(document);
  return document;
}

function* operationsOf(document: OpenAPIObject): Generator<OperationObject> {
  for (const item of Object.values(document.paths)) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const) {
      const operation = item[method];
      if (operation) yield operation;
    }
  }
}

/**
 * Request bodies that are DTO classes pass the global ValidationPipe with
 * `forbidNonWhitelisted`: an unknown key is a 400, so their schemas (and their
 * nested DTOs') say `additionalProperties: false`.
 */
function closeValidatedBodies(document: OpenAPIObject): void {
  const schemas = document.components?.schemas ?? {};
  const closed = new Set<string>();
  const close = (ref: string | undefined): void => {
    const name = ref?.replace('#/components/schemas/', '');
    if (!name || closed.has(name) || !(name in schemas)) return;
    closed.add(name);
    const schema = schemas[name] as SchemaObject;
    schema.additionalProperties = false;
    // `@IsOptional()` passes null as it passes absence: optional means nullable here.
    for (const [key, property] of Object.entries(schema.properties ?? {})) {
      if (!schema.required?.includes(key)) (property as SchemaObject).nullable = true;
    }
    for (const property of Object.values(schema.properties ?? {})) {
      close((property as ReferenceObject).$ref);
      close(((property as SchemaObject).items as ReferenceObject | undefined)?.$ref);
    }
  };
  for (const operation of operationsOf(document)) {
    const body = operation.requestBody;
    if (!body || '$ref' in body) continue;
    for (const media of Object.values(body.content)) {
      if (media.schema && '$ref' in media.schema) {
        const name = media.schema.$ref.replace('#/components/schemas/', '');
        // Only the DTO classes Nest generated; our hand-written catalogs say what they mean.
        if (!CATALOGS.some((catalog) => name in catalog)) close(media.schema.$ref);
      }
    }
  }
}

/**
 * @nestjs/swagger writes OpenAPI 3.0's `nullable: true`; in 3.1 (JSON Schema
 * 2020-12) a nullable value is a type list with "null". Walks the whole
 * document: schemas sit in components, parameters and media types alike.
 */
function toJsonSchema2020(node: unknown): void {
  if (Array.isArray(node)) {
    node.forEach(toJsonSchema2020);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const record = node as { nullable?: unknown; type?: unknown; [key: string]: unknown };
  if (record.nullable === true) {
    delete record.nullable;
    if (typeof record.type === 'string') {
      record.type = [record.type, 'null'];
    } else if (!Array.isArray(record.type)) {
      // A `$ref` (or a schema without a type): either it, or null.
      const inner = { ...record };
      for (const key of Object.keys(record)) delete record[key];
      record.anyOf = [inner, { type: 'null' }];
    }
  }
  for (const [key, value] of Object.entries(record)) {
    // Examples are data, not schemas.
    if (key !== 'example' && key !== 'examples') toJsonSchema2020(value);
  }
}
