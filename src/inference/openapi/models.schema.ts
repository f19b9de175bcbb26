import { JsonSchema, SchemaCatalog } from '../../common/openapi/schema-ref';

/** The models API (`/v1/models…`): models/model-catalog.service.ts's views. */

const RELOAD_OUTCOME: JsonSchema = {
  type: 'object',
  required: ['reference', 'status'],
  properties: {
    reference: { type: 'string' },
    status: { type: 'string', enum: ['loaded', 'swapped', 'unchanged', 'failed', 'vetoed'] },
    from: { type: 'string' },
    to: { type: 'string' },
    error: { type: 'string' },
  },
};

const DATASET: JsonSchema = {
  type: 'object',
  required: ['name'],
  properties: {
    name: { type: 'string' },
    digest: { type: 'string' },
    sourceType: { type: 'string' },
    source: { type: 'string' },
    context: { type: 'string', description: 'mlflow.data.context: training, evaluation, …' },
  },
};

/** models/model-lineage.ts: read once when the version loads. */
const LINEAGE: JsonSchema = {
  type: 'object',
  required: ['params', 'metrics', 'datasets'],
  description: 'The training run behind the served version, and the DAG run that made it',
  properties: {
    runId: { type: 'string' },
    runName: { type: 'string' },
    experimentId: { type: 'string' },
    params: { type: 'object', additionalProperties: { type: 'string' } },
    metrics: { type: 'object', additionalProperties: { type: 'number' } },
    datasets: { type: 'array', items: DATASET },
    dagId: { type: 'string' },
    dagRunId: { type: 'string' },
    mlflowRunUrl: { type: 'string' },
    airflowRunUrl: { type: 'string' },
    error: { type: 'string', description: 'Why the run could not be read (the version serves)' },
  },
};

/** One side of a rollout (champion or challenger). */
const ROLLOUT_SIDE: JsonSchema = {
  type: 'object',
  required: ['alias', 'reference'],
  properties: {
    alias: { type: 'string' },
    reference: { type: 'string', examples: ['iris@challenger'] },
    version: { type: 'string', description: 'The version answering it here; absent until loaded' },
    state: { type: 'string', enum: ['loading', 'ready', 'failed'] },
    error: { type: 'string' },
  },
};

export const MODELS_SCHEMAS = {
  Rollout: {
    type: 'object',
    description:
      'The champion and challenger followed here (MODEL_ROLLOUT, modelgate.* tags): canary answers `percent` of callers from the challenger; shadow sends it a copy of each request, never its answer',
    required: ['name', 'mode', 'percent', 'source', 'champion', 'challenger', 'problems'],
    properties: {
      name: { type: 'string' },
      mode: { type: 'string', enum: ['canary', 'shadow'] },
      percent: { type: 'integer', minimum: 0, maximum: 100 },
      source: { type: 'string', enum: ['settings', 'tags', 'settings+tags'] },
      champion: ROLLOUT_SIDE,
      challenger: ROLLOUT_SIDE,
      problems: { type: 'array', items: { type: 'string' } },
      tagsReadAt: { type: 'string', format: 'date-time' },
    },
  },
  ReloadOutcome: RELOAD_OUTCOME,
  ModelLineage: LINEAGE,
  LiftedVeto: {
    type: 'object',
    required: ['lifted'],
    properties: {
      lifted: {
        type: 'object',
        required: ['version', 'fallback', 'reason'],
        properties: {
          version: { type: 'string', description: 'The version that was vetoed' },
          fallback: { type: 'string', description: 'The version served while it stood' },
          reason: { type: 'string', description: "The rollout watch's verdict" },
        },
      },
      outcome: {
        ...RELOAD_OUTCOME,
        description: 'The reload that followed, when the reference is served here',
      },
    },
  },
  ReloadOutcomes: {
    type: 'object',
    required: ['outcomes'],
    properties: { outcomes: { type: 'array', items: RELOAD_OUTCOME } },
  },
  LoadedModels: {
    type: 'object',
    required: ['models', 'cache', 'recentReloads'],
    properties: {
      models: {
        type: 'array',
        items: {
          type: 'object',
          required: ['reference', 'name', 'state', 'pinned'],
          properties: {
            reference: { type: 'string', examples: ['iris@champion'] },
            name: { type: 'string' },
            state: { type: 'string' },
            pinned: { type: 'boolean', description: 'Listed in MODELS (kept loaded)' },
            challenger: {
              type: 'boolean',
              description: "A rollout's challenger (answers only the share its rollout gives it)",
            },
            version: { type: 'string' },
            flavor: { type: 'string' },
            runtime: { type: 'string', enum: ['onnx', 'pyfunc', 'scoring-server'] },
            batching: {
              type: 'object',
              description:
                'Whether the serving version stacks concurrent requests into one runtime call (MODEL_BATCH_*), with its settings, or why not',
              required: ['enabled'],
              properties: {
                enabled: { type: 'boolean' },
                maxRows: { type: 'integer' },
                maxDelayMs: { type: 'number' },
                maxConcurrent: { type: 'integer' },
                maxQueued: { type: 'integer' },
                reason: { type: 'string', examples: ['the pyfunc runtime is not batched'] },
              },
            },
            runtimeReason: {
              type: 'string',
              description:
                'Why that runtime serves the version: its onnx flavor, SCORING_SERVERS, or its ONNX conversion (MODEL_ONNX_ACCELERATE) and why it was or was not used',
              examples: [
                "converted to ONNX by skl2onnx 1.20.0; labels matched pyfunc's on 69 rows",
              ],
            },
            signature: { type: 'object', description: "The MLmodel file's signature" },
            loadedAt: { type: 'string', format: 'date-time' },
            loadDurationMs: { type: 'number' },
            sizeBytes: { type: 'integer' },
            fromCache: { type: 'boolean' },
            requests: { type: 'integer' },
            failures: { type: 'integer' },
            lastCheckedAt: { type: 'string', format: 'date-time' },
            lineage: { $ref: '#/components/schemas/ModelLineage' },
            lastError: {
              type: 'object',
              required: ['message', 'at'],
              properties: {
                message: { type: 'string' },
                version: { type: 'string' },
                at: { type: 'string', format: 'date-time' },
              },
            },
            veto: {
              type: 'object',
              description:
                'A version vetoed for this reference: the rollout watch found it bad and MLflow ' +
                'refused to move the alias back (no registry write credentials); the fallback serves',
              required: ['version', 'fallback', 'reason', 'at'],
              properties: {
                version: { type: 'string' },
                fallback: { type: 'string' },
                reason: { type: 'string' },
                at: { type: 'string', format: 'date-time' },
              },
            },
          },
        },
      },
      cache: {
        type: 'object',
        description: 'Loaded-version cache counters and bounds (MODEL_MAX_LOADED, MODEL_MAX_BYTES)',
        additionalProperties: { type: 'number' },
      },
      recentReloads: {
        type: 'array',
        items: {
          allOf: [
            RELOAD_OUTCOME,
            {
              type: 'object',
              required: ['at', 'trigger'],
              properties: {
                at: { type: 'string', format: 'date-time' },
                trigger: { type: 'string' },
              },
            },
          ],
        },
      },
    },
  },
  RegisteredModel: {
    type: 'object',
    required: ['name', 'versions'],
    properties: {
      name: { type: 'string' },
      description: { type: 'string' },
      aliases: { type: 'object', additionalProperties: { type: 'string' } },
      tags: { type: 'object', additionalProperties: { type: 'string' } },
      createdAt: { type: 'string', format: 'date-time' },
      updatedAt: { type: 'string', format: 'date-time' },
      rollout: { $ref: '#/components/schemas/Rollout' },
      versions: {
        type: 'array',
        description: 'Newest first',
        items: {
          type: 'object',
          required: ['version', 'stage', 'status', 'aliases', 'loadedHere'],
          properties: {
            version: { type: 'string' },
            stage: { type: 'string' },
            status: { type: 'string' },
            aliases: { type: 'array', items: { type: 'string' } },
            source: { type: 'string' },
            runId: { type: 'string' },
            createdAt: { type: 'string', format: 'date-time' },
            loadedHere: { type: 'boolean' },
            rollback: {
              type: 'object',
              description: "What the version's modelgate.* tags say of a rollback to or from it",
              properties: {
                rolledBackTo: { type: 'string' },
                rolledBackFrom: { type: 'string' },
                reason: { type: 'string' },
                at: { type: 'string', format: 'date-time' },
              },
            },
            vetoedFor: {
              type: 'array',
              items: { type: 'string' },
              description: 'References served here that refuse this version (a rollback veto)',
            },
            runtime: { type: 'string', description: 'For a version loaded here: its runtime' },
            runtimeReason: {
              type: 'string',
              description: 'For a version loaded here: why that runtime',
            },
            run: {
              type: 'object',
              description:
                "The version's training run (params, metrics, dataset inputs), or why it could not be read",
              properties: {
                params: { type: 'object', additionalProperties: { type: 'string' } },
                metrics: { type: 'object', additionalProperties: { type: 'number' } },
                datasets: { type: 'array', items: DATASET },
                status: { type: 'string' },
                error: { type: 'string' },
              },
            },
            lineage: { $ref: '#/components/schemas/ModelLineage' },
          },
        },
      },
    },
  },
} satisfies SchemaCatalog;
