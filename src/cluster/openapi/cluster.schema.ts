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
    },
  },
} satisfies SchemaCatalog;
