import { JsonSchema, SchemaCatalog } from '../../common/openapi/schema-ref';

/** The training and hooks routes' answers (their request bodies are the *.dto.ts classes). */

/** models' ReloadOutcome (inference/openapi/models.schema.ts); the document test checks every $ref resolves. */
const RELOAD_OUTCOME: JsonSchema = { $ref: '#/components/schemas/ReloadOutcome' };

export const TRAINING_SCHEMAS = {
  TrainingRun: {
    type: 'object',
    required: ['dagId', 'runId', 'state', 'conf', 'url'],
    properties: {
      dagId: { type: 'string' },
      runId: { type: 'string' },
      state: { type: 'string', examples: ['queued', 'running', 'success', 'failed'] },
      logicalDate: { type: 'string' },
      startDate: { type: 'string' },
      endDate: { type: 'string' },
      conf: { type: 'object' },
      url: { type: 'string', description: "The run in Airflow's UI (AIRFLOW_PUBLIC_URL)" },
      tasks: {
        type: 'array',
        items: {
          type: 'object',
          required: ['taskId'],
          properties: {
            taskId: { type: 'string' },
            state: { type: 'string' },
            tryNumber: { type: 'integer' },
            startDate: { type: 'string' },
            endDate: { type: 'string' },
          },
        },
      },
    },
  },
  CallbackOutcome: {
    type: 'object',
    required: ['accepted', 'duplicate', 'handledBy', 'outcomes'],
    properties: {
      accepted: { const: true },
      duplicate: {
        type: 'boolean',
        description: 'The same callback arrived before; not acted on again',
      },
      handledBy: { type: 'string', description: 'The instance that acted on it' },
      outcomes: {
        type: 'array',
        description: 'Its reloads; empty while that instance is still at it',
        items: RELOAD_OUTCOME,
      },
    },
  },
  MlflowWebhookOutcome: {
    type: 'object',
    required: ['accepted', 'event', 'deliveryId', 'duplicate', 'handledBy', 'references'],
    properties: {
      accepted: { const: true },
      event: { type: 'string', examples: ['model_version_alias.created'] },
      deliveryId: { type: 'string', description: 'X-MLflow-Delivery-Id' },
      duplicate: {
        type: 'boolean',
        description: 'The same delivery arrived before (a retry); not acted on again',
      },
      handledBy: { type: 'string', description: 'The instance that acted on it' },
      ignored: { type: 'string', description: 'Why nothing was done (an event we do not follow)' },
      references: {
        type: 'array',
        items: { type: 'string' },
        description: 'The references the event may have moved (iris@champion, iris/latest, …)',
      },
      followed: {
        type: 'object',
        required: ['reloaded', 'announced', 'skipped'],
        properties: {
          reloaded: { type: 'array', items: RELOAD_OUTCOME, description: 'Served here, reloaded' },
          announced: {
            type: 'array',
            description: 'Not served here: resolved and told to the other instances',
            items: {
              type: 'object',
              required: ['reference'],
              properties: {
                reference: { type: 'string' },
                version: { type: 'string' },
                error: { type: 'string' },
              },
            },
          },
          skipped: { type: 'array', items: { type: 'string' } },
        },
      },
    },
  },
} satisfies SchemaCatalog;

/** `dagId` and `runId` as TriggerTrainingRunDto takes them. */
export const DAG_ID_PATTERN = '^[A-Za-z0-9_.-]+$';
export const RUN_ID_PATTERN = '^[A-Za-z0-9_.:+-]+$';
