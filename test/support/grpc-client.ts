import {
  Client,
  Metadata,
  ServiceError,
  credentials,
  loadPackageDefinition,
  status,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath as HEALTH_PROTO } from 'grpc-health-check';
import { GRPC_LOADER_OPTIONS, PROTO_FILE } from '../../src/grpc/grpc.server';
import { TEST_API_KEY } from './credentials';

type Constructor = new (
  target: string,
  creds: ReturnType<typeof credentials.createInsecure>,
) => Client;

function serviceConstructor(file: string, includeDirs: string[], name: string[]): Constructor {
  const definition = loadSync(file, { ...GRPC_LOADER_OPTIONS, includeDirs });
  let node: unknown = loadPackageDefinition(definition);
  for (const part of name) node = (node as Record<string, unknown>)[part];
  return node as Constructor;
}

/** What a unary call answered: its message, or its status; and the initial metadata. */
export interface CallOutcome<T> {
  response?: T;
  error?: { code: status; details: string };
  initial?: Metadata;
  /** The trailing metadata the call ended with (`retry-after` of a refusal, lineage of an answer). */
  trailing?: Metadata;
}

/** A test's client of inference.GRPCInferenceService (our .proto) and grpc.health.v1. */
export class TestGrpcClient {
  private readonly inference: Client;
  private readonly health: Client;

  constructor(target: string) {
    const Inference = serviceConstructor(PROTO_FILE, [], ['inference', 'GRPCInferenceService']);
    const Health = serviceConstructor(HEALTH_PROTO, [], ['grpc', 'health', 'v1', 'Health']);
    this.inference = new Inference(target, credentials.createInsecure());
    this.health = new Health(target, credentials.createInsecure());
  }

  /** Calls `method` with the harness's key unless `apiKey` says otherwise (null: none). */
  call<T>(method: string, request: unknown, options: CallOptions = {}): Promise<CallOutcome<T>> {
    return unary<T>(this.inference, method, request, options);
  }

  check(service = ''): Promise<CallOutcome<{ status: string }>> {
    return unary(this.health, 'Check', { service }, { apiKey: null });
  }

  close(): void {
    this.inference.close();
    this.health.close();
  }
}

export interface CallOptions {
  /** The key sent as `x-api-key`: the harness's by default, none with null. */
  apiKey?: string | null;
  metadata?: Record<string, string>;
  /** Called when the server's initial metadata arrives: its handler has taken the call. */
  onAccepted?: () => void;
}

function unary<T>(
  client: Client,
  method: string,
  request: unknown,
  options: CallOptions,
): Promise<CallOutcome<T>> {
  const metadata = new Metadata();
  const key = options.apiKey === undefined ? TEST_API_KEY : options.apiKey;
  if (key !== null) metadata.set('x-api-key', key);
  for (const [name, value] of Object.entries(options.metadata ?? {})) metadata.set(name, value);
  return new Promise((resolve) => {
    const outcome: CallOutcome<T> = {};
    const fn = (
      client as unknown as Record<
        string,
        (...args: unknown[]) => { on: (e: string, f: (m: Metadata) => void) => void }
      >
    )[method];
    const call = fn.call(client, request, metadata, (error: ServiceError | null, response: T) => {
      if (error) outcome.error = { code: error.code, details: error.details };
      else outcome.response = response;
      resolve(outcome);
    });
    call.on('status', (end: unknown) => {
      outcome.trailing = (end as { metadata: Metadata }).metadata;
    });
    call.on('metadata', (initial: Metadata) => {
      outcome.initial = initial;
      options.onAccepted?.();
    });
  });
}
