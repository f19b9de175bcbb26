import { isRecord, messageOf } from '../../common/values';
import { Logger } from '@nestjs/common';
import { UpstreamHttp } from '../../common/http/upstream-http';
import { UpstreamError, UpstreamInvalidRequestError } from '../../common/upstream/upstream.error';
import { DataType, Tensor, TensorSpec } from '../tensor.types';
import { ModelNotReadyError } from '../model.errors';
import { ColumnType, ModelSignature } from '../model-signature.types';
import { ModelRuntime, RuntimeAnswer } from './model-runtime';

export interface ScoringServerOptions {
  /** `mlflow models serve` base URLs serving this model version. */
  urls: string[];
  timeoutMs: number;
  /** How long a server that failed is skipped before it is tried again. */
  coolDownMs: number;
}

/** MLflow column types → the datatype a column's values travel as. */
const COLUMN_DATATYPE: Record<ColumnType, DataType> = {
  boolean: 'BOOL',
  integer: 'INT32',
  long: 'INT64',
  float: 'FP32',
  double: 'FP64',
  string: 'BYTES',
  binary: 'BYTES',
  datetime: 'BYTES',
};

interface Server {
  url: string;
  http: UpstreamHttp;
  /** Epoch ms until which the server is skipped after a failure (0: healthy). */
  downUntil: number;
  lastError?: string;
}

/**
 * A model of a flavor that cannot run in this process, delegated to one or
 * more MLflow scoring servers (`mlflow models serve`) over HTTP: inputs are
 * checked against the signature here first, then sent as MLflow's scoring
 * protocol; a server that fails is skipped for a cool-down while the others
 * answer (failover), and tried again after it.
 */
export class ScoringServerRuntime implements ModelRuntime {
  readonly kind = 'scoring-server' as const;
  private readonly logger = new Logger(ScoringServerRuntime.name);
  private next = 0;

  private constructor(
    private readonly servers: Server[],
    private readonly signature: ModelSignature,
    readonly inputs: readonly TensorSpec[],
    readonly outputs: readonly TensorSpec[],
    private readonly coolDownMs: number,
  ) {}

  /** Checks every server's /ping; fails, with each server's reason, if none answers. */
  static async load(
    signature: ModelSignature | undefined,
    options: ScoringServerOptions,
  ): Promise<ScoringServerRuntime> {
    if (!signature || signature.inputs.length === 0) {
      throw new Error(
        'the model has no signature: inputs could not be checked before delegating; log it with one',
      );
    }
    const servers: Server[] = options.urls.map((url) => ({
      url,
      downUntil: 0,
      http: new UpstreamHttp({
        service: 'scoring-server',
        baseUrl: url,
        timeoutMs: options.timeoutMs,
        // No retries per server: the next server is the retry.
        retry: { maxRetries: 0, baseDelayMs: 0, maxDelayMs: 0, maxTotalMs: 0 },
        parseErrorBody: (body) => {
          const wire = (body ?? {}) as { error_code?: string; message?: string };
          return { code: wire.error_code, message: wire.message };
        },
      }),
    }));
    const pings = await Promise.all(
      servers.map(async (server) => {
        try {
          await server.http.request({ method: 'GET', path: '/ping', responseType: 'text' });
          return true;
        } catch (error) {
          server.downUntil = Date.now() + options.coolDownMs;
          server.lastError = failureText(error);
          return false;
        }
      }),
    );
    if (!pings.some(Boolean)) {
      servers.forEach((s) => s.http.close());
      throw new Error(
        `no scoring server answered /ping: ${servers.map((s) => `${s.url} (${s.lastError})`).join('; ')}`,
      );
    }
    return new ScoringServerRuntime(
      servers,
      signature,
      inputSpecs(signature),
      [],
      options.coolDownMs,
    );
  }

  async predict(feeds: readonly Tensor[]): Promise<RuntimeAnswer> {
    const body = this.requestBody(feeds);
    const failures: string[] = [];
    for (const server of this.order()) {
      try {
        const answer = await server.http.request<{ predictions?: unknown }>({
          method: 'POST',
          path: '/invocations',
          body,
          headers: { 'Content-Type': 'application/json' },
          idempotent: true,
        });
        server.downUntil = 0;
        return { raw: answer.predictions, outputs: tensorsOf(answer.predictions) };
      } catch (error) {
        if (error instanceof UpstreamInvalidRequestError) {
          // The scoring server refused this input: the caller's to fix, not a server fault.
          throw error;
        }
        server.downUntil = Date.now() + this.coolDownMs;
        server.lastError = failureText(error);
        failures.push(`${server.url}: ${server.lastError}`);
        this.logger.warn(
          `scoring server ${server.url} failed, trying the next: ${server.lastError}`,
        );
      }
    }
    throw new ModelNotReadyError(
      '(scoring servers)',
      `no scoring server answered: ${failures.join('; ')}`,
    );
  }

  async dispose(): Promise<void> {
    this.servers.forEach((s) => s.http.close());
    return Promise.resolve();
  }

  /** Healthy servers round-robin first, then those cooling down (better a try than a 503). */
  private order(): Server[] {
    const now = Date.now();
    const start = this.next++ % this.servers.length;
    const rotated = [...this.servers.slice(start), ...this.servers.slice(0, start)];
    return [
      ...rotated.filter((s) => s.downUntil <= now),
      ...rotated.filter((s) => s.downUntil > now),
    ];
  }

  /** MLflow's scoring protocol: a data frame for column signatures, `inputs` for tensors. */
  private requestBody(feeds: readonly Tensor[]): unknown {
    if (this.signature.inputs[0].kind === 'column') {
      const rows = feeds[0]?.shape[0] ?? 0;
      const data = Array.from({ length: rows }, (_, r) => feeds.map((f) => jsonValue(f.data[r])));
      return { dataframe_split: { columns: feeds.map((f) => f.name), data } };
    }
    const unnamed =
      this.signature.inputs.length === 1 && this.signature.inputs[0].name === undefined;
    if (unnamed) return { inputs: nested(feeds[0]) };
    return { inputs: Object.fromEntries(feeds.map((f) => [f.name, nested(f)])) };
  }
}

/** What the binder binds a delegated model's input to: one spec per column, or the tensor specs. */
function inputSpecs(signature: ModelSignature): TensorSpec[] {
  return signature.inputs.map((spec, index) =>
    spec.kind === 'column'
      ? { name: spec.name ?? String(index), datatype: COLUMN_DATATYPE[spec.type], shape: [-1] }
      : { name: spec.name ?? 'input', datatype: spec.datatype, shape: spec.shape },
  );
}

function jsonValue(value: unknown): unknown {
  return typeof value === 'bigint' ? Number(value) : value;
}

/** Flat row-major data back into nested lists of the tensor's shape. */
function nested(tensor: Tensor): unknown {
  const values = Array.from(tensor.data as ArrayLike<unknown>, jsonValue);
  const build = (dim: number, offset: number): unknown => {
    if (dim === tensor.shape.length) return values[offset];
    const stride = tensor.shape.slice(dim + 1).reduce((a, b) => a * b, 1);
    return Array.from({ length: tensor.shape[dim] }, (_, i) => build(dim + 1, offset + i * stride));
  };
  return tensor.shape.length === 0 ? values[0] : build(0, 0);
}

/**
 * The scoring server's predictions as tensors, as far as they are regular:
 * a list of numbers or strings, a list of lists, records, or a dict of lists.
 */
export function tensorsOf(predictions: unknown): Tensor[] {
  if (Array.isArray(predictions)) {
    if (predictions.length > 0 && isRecord(predictions[0])) {
      const keys = Object.keys(predictions[0]);
      return keys.map((key) =>
        tensor(
          key,
          predictions.map((row) => (row as Record<string, unknown>)[key]),
        ),
      );
    }
    return [tensor('predictions', predictions)];
  }
  if (isRecord(predictions)) {
    return Object.entries(predictions).map(([key, values]) =>
      tensor(key, Array.isArray(values) ? values : [values]),
    );
  }
  return [tensor('predictions', [predictions])];
}

function tensor(name: string, values: unknown[]): Tensor {
  const rows = values.length;
  const width = Array.isArray(values[0]) ? (values[0] as unknown[]).length : undefined;
  const flat = width === undefined ? values : values.flat();
  const shape = width === undefined ? [rows] : [rows, width];
  if (flat.every((v) => typeof v === 'number')) {
    const numbers = flat;
    return numbers.every(Number.isInteger)
      ? { name, datatype: 'INT64', shape, data: BigInt64Array.from(numbers, (v) => BigInt(v)) }
      : { name, datatype: 'FP64', shape, data: Float64Array.from(numbers) };
  }
  if (flat.every((v) => typeof v === 'boolean'))
    return { name, datatype: 'BOOL', shape, data: flat };
  return {
    name,
    datatype: 'BYTES',
    shape,
    data: flat.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))),
  };
}

/** Our description of a failed call, without the service's name (the server's URL says which). */
function failureText(error: unknown): string {
  return error instanceof UpstreamError ? error.description : messageOf(error);
}
