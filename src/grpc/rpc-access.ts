import { Scope } from '../common/scopes';

/** The calls of inference.GRPCInferenceService that Modelgate serves. */
export const RPC_NAMES = [
  'ServerLive',
  'ServerReady',
  'ModelReady',
  'ServerMetadata',
  'ModelMetadata',
  'ModelInfer',
  'RepositoryIndex',
  'RepositoryModelLoad',
  'RepositoryModelUnload',
] as const;

export type RpcName = (typeof RPC_NAMES)[number];

export type RpcAccess = { kind: 'open' } | { kind: 'scope'; scope: Scope; model: boolean };

const OPEN: RpcAccess = { kind: 'open' };
const scope = (s: Scope, model = false): RpcAccess => ({ kind: 'scope', scope: s, model });

/**
 * Who may call what over gRPC: the scopes of the REST routes that answer the
 * same question (src/auth/route-scopes.ts). Probes are open, as
 * `/v2/health/*` and `/v2/models/{name}/ready` are; `model` means a key
 * limited to some models may call it only for those. grpc.health.v1 is open
 * too (load balancers send no credentials).
 */
export const RPC_ACCESS: Readonly<Record<RpcName, RpcAccess>> = {
  ServerLive: OPEN,
  ServerReady: OPEN,
  ModelReady: OPEN,
  ServerMetadata: scope('read'),
  ModelMetadata: scope('read', true),
  ModelInfer: scope('predict', true),
  RepositoryIndex: scope('read'),
  RepositoryModelLoad: scope('reload', true),
  RepositoryModelUnload: scope('reload', true),
};
