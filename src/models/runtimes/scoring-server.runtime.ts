// Over the ~300-line guide by a little: the runtime of one delegated model
// (health-checked failover between scoring servers, request encoding, and
// reading answers as tensors typed by the signature); the typing rules are
// exported for their own specs.
import { isRecord, messageOf } from '../../common/values';
import { Logger } from '@nestjs/common';
import { UpstreamHttp } from '../../common/http/upstream-http';
import { UpstreamError, UpstreamInvalidRequestError } from '../../common/upstream/upstream.error';
import { DataType, Tensor, TensorSpec } from '../tensor.types';
import { tensorData, TensorValueError } from '../tensor-data';
import { ModelInputRejectedError, ModelRuntimeError, ModelUnavailableError } from '../model.errors';
import {
  ColumnSpec,
  ColumnType,
  ModelSignature,
  TensorSignatureSpec,
} from '../model-signature.types';
import { ModelRuntime, RuntimeAnswer } from './model-runtime';

export interface ScoringServerOptions {
  /** The model's flavor (`sklearn`, `xgboost`, …), for the platform metadata reports. */
  flavor: string;
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
  /** MLflow's flavor, prefixed as Triton names a backend's platform (`onnxruntime_onnx`). */
  readonly platform: string;
  /** Outputs are known only from answers (their names depend on the answer's form). */
  readonly outputs: readonly TensorSpec[] = [];
  private readonly logger = new Logger(ScoringServerRuntime.name);
  private readonly answerTypes: AnswerTypes;
  private next = 0;

  private constructor(
    private readonly servers: Server[],
    private readonly signature: ModelSignature,
    readonly inputs: readonly TensorSpec[],
    private readonly coolDownMs: number,
    flavor: string,
  ) {
    this.platform = `mlflow_${flavor}`;
    this.answerTypes = answerTypes(signature.outputs);
  }

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
      options.coolDownMs,
      options.flavor,
    );
  }

  /** Every output the server answers: it cannot compute fewer. */
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
        return {
          outputs: this.read(answer.predictions),
          extras: { mlflowPredictions: answer.predictions },
        };
      } catch (error) {
        if (error instanceof ModelRuntimeError) throw error;
        if (error instanceof UpstreamInvalidRequestError) {
          // The scoring server refused this input: the caller's to fix, not a server fault.
          throw new ModelInputRejectedError(
            `the scoring server answered ${error.status ?? 'a 4xx'}: ${error.details.upstreamMessage ?? messageOf(error)}`,
            undefined,
            error.details.upstreamMessage,
          );
        }
        server.downUntil = Date.now() + this.coolDownMs;
        server.lastError = failureText(error);
        failures.push(`${server.url}: ${server.lastError}`);
        this.logger.warn(
          `scoring server ${server.url} failed, trying the next: ${server.lastError}`,
        );
      }
    }
    throw new ModelUnavailableError(`no scoring server answered: ${failures.join('; ')}`);
  }

  /** The predictions as tensors; an answer its output signature forbids is the model's fault. */
  private read(predictions: unknown): Tensor[] {
    try {
      return tensorsOf(predictions, this.answerTypes);
    } catch (error) {
      if (!(error instanceof OutputValueError)) throw error;
      throw new ModelRuntimeError(
        `the scoring server answered what the model's output signature does not allow: ${error.message}`,
      );
    }
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

/** What the binder binds a model's input to: one spec per column, or the tensor specs. */
export function inputSpecs(signature: ModelSignature): TensorSpec[] {
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
 * The datatype of each output the output signature declares: by name, and for
 * answers that name no output (a plain list) the signature's only output.
 */
export interface AnswerTypes {
  byName: ReadonlyMap<string, DataType>;
  only?: DataType;
}

export function answerTypes(outputs: readonly (ColumnSpec | TensorSignatureSpec)[]): AnswerTypes {
  const datatypeOf = (spec: ColumnSpec | TensorSignatureSpec): DataType =>
    spec.kind === 'column' ? COLUMN_DATATYPE[spec.type] : spec.datatype;
  const byName = new Map<string, DataType>();
  for (const spec of outputs) if (spec.name !== undefined) byName.set(spec.name, datatypeOf(spec));
  return { byName, only: outputs.length === 1 ? datatypeOf(outputs[0]) : undefined };
}

/** An output's values do not fit the datatype its signature declares. */
class OutputValueError extends Error {}

/**
 * The scoring server's predictions as tensors, as far as they are regular:
 * a list of numbers or strings, a list of lists, records, or a dict of lists.
 * Datatypes come from the output signature; an output it does not declare
 * follows a fixed rule by the kind of JSON value, never by the values of one
 * answer: numbers are FP64 (what JSON numbers are), booleans BOOL, anything
 * else BYTES (strings as they are, other values as JSON text).
 * @throws OutputValueError when values do not fit their declared datatype.
 */
export function tensorsOf(
  predictions: unknown,
  types: AnswerTypes = { byName: new Map() },
): Tensor[] {
  const typeOf = (name: string, unnamed: boolean): DataType | undefined =>
    types.byName.get(name) ?? (unnamed || types.byName.size === 0 ? types.only : undefined);
  if (Array.isArray(predictions)) {
    if (predictions.length > 0 && isRecord(predictions[0])) {
      const keys = Object.keys(predictions[0]);
      return keys.map((key) =>
        tensor(
          key,
          predictions.map((row) => (row as Record<string, unknown>)[key]),
          typeOf(key, keys.length === 1),
        ),
      );
    }
    return [tensor('predictions', predictions, typeOf('predictions', true))];
  }
  if (isRecord(predictions)) {
    const entries = Object.entries(predictions);
    return entries.map(([key, values]) =>
      tensor(key, Array.isArray(values) ? values : [values], typeOf(key, entries.length === 1)),
    );
  }
  return [tensor('predictions', [predictions], typeOf('predictions', true))];
}

function tensor(name: string, values: unknown[], declared: DataType | undefined): Tensor {
  const rows = values.length;
  const width = Array.isArray(values[0]) ? (values[0] as unknown[]).length : undefined;
  const flat = width === undefined ? values : values.flat();
  const shape = width === undefined ? [rows] : [rows, width];
  const datatype = declared ?? fixedRule(flat);
  try {
    return { name, datatype, shape, data: tensorData(datatype, flat) };
  } catch (error) {
    if (error instanceof TensorValueError) {
      throw new OutputValueError(`output '${name}': ${error.message}`);
    }
    throw error;
  }
}

function fixedRule(values: readonly unknown[]): DataType {
  if (values.every((v) => typeof v === 'number' || v === null)) return 'FP64';
  if (values.every((v) => typeof v === 'boolean')) return 'BOOL';
  return 'BYTES';
}

/** Our description of a failed call, without the service's name (the server's URL says which). */
function failureText(error: unknown): string {
  return error instanceof UpstreamError ? error.description : messageOf(error);
}
