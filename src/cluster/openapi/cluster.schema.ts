import { SchemaCatalog } from '../../common/openapi/schema-ref';

/** `GET /v1/cluster` (ClusterView in cluster.controller.ts). */
export const CLUSTER_SCHEMAS = {
  ClusterView: {
    type: 'object',
    required: ['mode', 'self', 'store', 'fresh', 'asOf', 'instances'],
    properties: {
      mode: { type: 'string', enum: ['distributed', 'standalone'] },
      self: { type: 'string' },
      store: {
        type: 'object',
        required: ['kind', 'target', 'connected'],
        properties: {
          kind: { type: 'string' },
          target: { type: 'string' },
          connected: { type: 'boolean' },
        },
      },
      fresh: { type: 'boolean', description: 'False while the store cannot be read' },
      asOf: { type: 'string', format: 'date-time' },
      leader: { type: 'string', description: 'Who holds the lease to poll MLflow' },
      instances: {
        type: 'array',
        items: {
          type: 'object',
          required: ['id', 'address', 'status', 'models', 'uptimeSeconds', 'self'],
          properties: {
            id: { type: 'string' },
            address: { type: 'string' },
            serviceVersion: { type: 'string' },
            pid: { type: 'integer' },
            startedAt: { type: 'string' },
            heartbeatAt: { type: 'string' },
            status: { type: 'string' },
            models: {
              type: 'array',
              items: {
                type: 'object',
                required: ['reference', 'state'],
                properties: {
                  reference: { type: 'string' },
                  version: { type: 'string' },
                  state: { type: 'string' },
                },
              },
            },
            leases: { type: 'array', items: { type: 'string' } },
            uptimeSeconds: { type: 'integer' },
            self: { type: 'boolean' },
          },
        },
      },
      workers: {
        type: 'array',
        description:
          "This host's worker processes (API_WORKERS > 1), as its primary sees them; absent in a single process",
        items: {
          type: 'object',
          required: ['number', 'id', 'restarts', 'state'],
          properties: {
            number: { type: 'integer', description: 'Its slot, 1..API_WORKERS' },
            id: { type: 'string', description: 'Its instance id (x-modelgate-instance)' },
            pid: { type: 'integer' },
            startedAt: { type: 'string', format: 'date-time' },
            restarts: { type: 'integer' },
            state: {
              type: 'string',
              enum: ['starting', 'listening', 'draining', 'restarting', 'exited', 'given-up'],
            },
            lastExit: {
              type: 'object',
              properties: {
                code: { type: ['integer', 'null'] },
                signal: { type: ['string', 'null'] },
                at: { type: 'string', format: 'date-time' },
              },
            },
          },
        },
      },
    },
  },
} satisfies SchemaCatalog;
