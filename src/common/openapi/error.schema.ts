import type { ErrorProtocol } from '../http/error-reply';
import { SchemaCatalog } from './schema-ref';

/**
 * The three error bodies (see error-filters.ts and error-reply.ts): each route
 * answers every error in its own protocol's format.
 */
export const ERROR_SCHEMAS = {
  MlflowError: {
    type: 'object',
    description:
      "MLflow scoring protocol error, as `mlflow models serve` answers; codes from MLflow's databricks.proto",
    required: ['error_code', 'message'],
    properties: {
      error_code: { type: 'string', examples: ['BAD_REQUEST'] },
      message: { type: 'string' },
    },
  },
  OpenInferenceError: {
    type: 'object',
    description: 'Open Inference Protocol error',
    required: ['error'],
    properties: { error: { type: 'string' } },
  },
  ApiError: {
    type: 'object',
    description: 'Error of the /v1 API and the service routes',
    required: ['statusCode', 'error', 'message'],
    properties: {
      statusCode: { type: 'integer', minimum: 400, maximum: 599 },
      error: {
        type: 'string',
        description: 'A code a caller can act on',
        examples: ['BAD_REQUEST'],
      },
      message: { type: 'string' },
    },
  },
} satisfies SchemaCatalog;

export const ERROR_SCHEMA_OF: Record<ErrorProtocol, keyof typeof ERROR_SCHEMAS> = {
  mlflow: 'MlflowError',
  'open-inference': 'OpenInferenceError',
  api: 'ApiError',
};
