import { JsonSchema, SchemaCatalog } from '../../common/openapi/schema-ref';

const INDICATORS: JsonSchema = {
  type: 'object',
  description: 'Indicator name → its result (`status` and details)',
  additionalProperties: {
    type: 'object',
    required: ['status'],
    properties: { status: { type: 'string' } },
  },
};

/** The probes' answers: @nestjs/terminus's HealthCheckResult, and the root's service summary. */
export const HEALTH_SCHEMAS = {
  HealthCheckResult: {
    type: 'object',
    required: ['status', 'details'],
    properties: {
      status: { type: 'string', enum: ['ok', 'error', 'shutting_down'] },
      info: { ...INDICATORS, type: ['object', 'null'] },
      error: { ...INDICATORS, type: ['object', 'null'] },
      details: INDICATORS,
    },
  },
  ServiceSummary: {
    type: 'object',
    required: ['service', 'version', 'status', 'ready', 'topology', 'links'],
    properties: {
      service: { type: 'string' },
      version: { type: 'string' },
      status: { type: 'string', enum: ['ok', 'degraded', 'starting', 'unavailable', 'draining'] },
      ready: { type: 'boolean' },
      topology: {
        type: 'object',
        description: 'Server name → its last background check',
        additionalProperties: {
          type: 'object',
          required: ['status'],
          properties: {
            status: { type: 'string' },
            target: { type: 'string' },
            latencyMs: { type: 'number' },
            checkedAt: { type: 'string' },
            lastSuccess: { type: 'string' },
            failure: {
              type: 'object',
              required: ['kind', 'hint'],
              properties: { kind: { type: 'string' }, hint: { type: 'string' } },
            },
          },
        },
      },
      links: { type: 'object', additionalProperties: { type: 'string' } },
    },
  },
} satisfies SchemaCatalog;
