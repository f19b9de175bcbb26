import { JsonSchema, SchemaCatalog } from '../../common/openapi/schema-ref';

/**
 * The model repository extension (Triton's `extension_model_repository.md`),
 * as codecs/repository.codec.ts decodes it and model-repository.service.ts
 * answers. Every body is optional; unknown keys are ignored.
 */

const PARAMETERS: JsonSchema = {
  type: ['object', 'null'],
  description: 'Protocol parameters, name → value; unknown ones are ignored',
};

export const REPOSITORY_SCHEMAS = {
  RepositoryIndexRequest: {
    type: ['object', 'null'],
    properties: {
      ready: {
        type: ['boolean', 'null'],
        description: 'Only the models that can answer now; every served model when absent',
      },
    },
  },
  RepositoryIndex: {
    type: 'array',
    description: 'One entry per served model version (a model still loading has no version yet)',
    items: {
      type: 'object',
      required: ['name', 'state', 'reason'],
      properties: {
        name: { type: 'string' },
        version: { type: 'string' },
        state: { type: 'string', enum: ['READY', 'LOADING', 'UNAVAILABLE'] },
        reason: { type: 'string', description: 'Why it is not READY; empty when it is' },
      },
    },
  },
  RepositoryLoadRequest: {
    type: ['object', 'null'],
    properties: {
      parameters: {
        ...PARAMETERS,
        properties: {
          config: {
            not: {},
            description:
              "Triton's configuration override: not supported, versions come from the MLflow registry",
          },
        },
      },
    },
  },
  RepositoryUnloadRequest: {
    type: ['object', 'null'],
    properties: {
      parameters: {
        ...PARAMETERS,
        properties: {
          unload_dependents: {
            type: ['boolean', 'null'],
            description: 'Accepted and ignored: no model here has dependents',
          },
        },
      },
    },
  },
  RepositoryChanged: {
    type: 'object',
    description: 'Empty: the status says it is done',
    maxProperties: 0,
  },
} satisfies SchemaCatalog;
