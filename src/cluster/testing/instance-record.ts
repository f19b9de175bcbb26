import { InstanceRecord } from '../cluster.types';

/** A heartbeat record for specs: a healthy instance `id` at http://<id>:8000, with `overrides`. */
export function instanceRecord(
  id: string,
  overrides: Partial<InstanceRecord> = {},
): InstanceRecord {
  const now = new Date().toISOString();
  return {
    id,
    address: `http://${id}:8000`,
    serviceVersion: '0.1.0',
    pid: 1,
    startedAt: now,
    heartbeatAt: now,
    status: 'ok',
    models: [],
    leases: [],
    ...overrides,
  };
}
