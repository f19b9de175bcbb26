import { ConfigType, registerAs } from '@nestjs/config';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
} from 'class-validator';
import {
  InvalidModelReferenceError,
  ModelReference,
  parseModelReference,
} from '../common/model-reference';
import { parseEnvironment } from './env.validation';
import { ParsesWith } from './parses-with';
import { ToBoolean, ToNumber } from './env.transforms';
import { defaultIntraOpThreads, readWorkerSettings } from './workers.config';

const MODEL_SCHEME = 'models:/';
const URL_LIST = 'https?://[^\\s,;=]+(,https?://[^\\s,;=]+)*';
/** Whether sklearn, xgboost and lightgbm models are converted to ONNX at load (see MODEL_ONNX_ACCELERATE). */
export const ONNX_ACCELERATE_MODES = ['off', 'auto', 'require'] as const;
export type OnnxAccelerateMode = (typeof ONNX_ACCELERATE_MODES)[number];

const BATCH_OVERRIDES = /^\s*[^\s:;,]+:\d+(,\d+)?(\s*;\s*[^\s:;,]+:\d+(,\d+)?)*\s*;?\s*$/;
const SCORING_SERVERS = new RegExp(`^\\s*[^\\s=;]+=${URL_LIST}(;[^\\s=;]+=${URL_LIST})*;?\\s*$`);

export class ModelsEnvironment {
  /** Models loaded at start, comma-separated `models:/…` URIs; the first is the default. */
  @IsOptional()
  @ParsesWith(requireModels, {
    message:
      'MODELS must be comma-separated model URIs such as models:/iris@champion,models:/other/3 ' +
      '(each models:/name@alias, models:/name/<version> or models:/name/<stage>)',
  })
  MODELS?: string;

  /** Where downloaded model versions are kept across restarts. */
  @IsString()
  MODEL_CACHE_DIR = '.cache/models';

  /** Loaded versions kept in memory at most (least recently used go first). */
  @ToNumber()
  @IsInt()
  @Min(1)
  MODEL_CACHE_MAX_MODELS = 16;

  /** Bytes of model files kept loaded at most (the file size stands for memory). */
  @ToNumber()
  @IsInt()
  @Min(1)
  MODEL_CACHE_MAX_BYTES = 2 * 1024 ** 3;

  /**
   * Bytes of downloaded model versions kept on disk (MODEL_CACHE_DIR) at
   * most; least recently used go first, never a version loaded now.
   */
  @ToNumber()
  @IsInt()
  @Min(1)
  MODEL_DISK_CACHE_MAX_BYTES = 10 * 1024 ** 3;

  /** Alias a bare model name (`/v1/models/iris/…`) resolves to; latest version if absent. */
  @IsString()
  MODEL_DEFAULT_ALIAS = 'champion';

  /** Load other registered models on their first request. */
  @ToBoolean()
  @IsBoolean()
  MODEL_LOAD_ON_DEMAND = true;

  /** Model names that may be served, comma-separated patterns (`*`, `?`): `iris*,fraud-*`; unset: all. */
  @IsOptional()
  @Matches(/^\s*[^\s,]+(\s*,\s*[^\s,]+)*\s*$/, {
    message: 'MODEL_ALLOW must be comma-separated name patterns such as iris*,fraud-*',
  })
  MODEL_ALLOW?: string;

  /** Seconds between checks for moved aliases; 0 turns the refresh job off. */
  @ToNumber()
  @IsInt()
  @Min(0)
  MODEL_REFRESH_INTERVAL = 30;

  /** Seconds in-flight requests get to finish on a replaced version before it is unloaded anyway. */
  @ToNumber()
  @IsInt()
  @Min(0)
  MODEL_DRAIN_TIMEOUT = 30;

  /**
   * MLflow scoring servers (`mlflow models serve`) for models no in-process
   * runtime serves: `name=http://a:5001,http://b:5001;other=http://c:5001`.
   */
  @IsOptional()
  @Matches(SCORING_SERVERS, {
    message:
      'SCORING_SERVERS must look like name=http://host:port[,http://host2:port][;other=http://…]',
  })
  SCORING_SERVERS?: string;

  /** Seconds a delegated prediction may take. */
  @ToNumber()
  @IsInt()
  @Min(1)
  SCORING_SERVER_TIMEOUT = 30;

  /** Seconds a scoring server that failed is skipped before it is tried again. */
  @ToNumber()
  @IsInt()
  @Min(0)
  SCORING_SERVER_COOL_DOWN = 10;

  /**
   * Predictions one model version runs at once. 4 keeps both cores of a
   * 2-core box busy while predictions also wait on I/O (delegated models).
   */
  @ToNumber()
  @IsInt()
  @Min(1)
  MODEL_MAX_CONCURRENCY = 4;

  /**
   * Predictions that may wait for one of those slots; past it the answer is
   * 503 with Retry-After. 64 at a few ms a prediction is a wait well under a second.
   */
  @ToNumber()
  @IsInt()
  @Min(0)
  MODEL_MAX_QUEUE = 64;

  /**
   * Rows one batched runtime call takes at most (requests are stacked along
   * their first dimension, never split: a larger request runs alone); 0 turns
   * batching off. Rows, not requests, because a call costs by its rows. 256
   * rows of the demo forest are a call of about a millisecond (issue 15's
   * measure: onnxruntime computes ~800k rows/s).
   */
  @ToNumber()
  @IsInt()
  @Min(0)
  MODEL_BATCH_MAX_SIZE = 256;

  /**
   * Milliseconds a request waits for a call already running before it gets a
   * call of its own (while MODEL_MAX_CONCURRENCY allows one): an idle model
   * runs a request at once, whatever this is. 2 ms is below the p50 of a
   * prediction over HTTP (issue 15's table: 1,500–1,900 req/s on 16 connections).
   */
  @ToNumber()
  @IsInt()
  @Min(0)
  @Max(60_000)
  MODEL_BATCH_MAX_DELAY_MS = 2;

  /**
   * Requests that may wait in a batched model's queue; past it the answer is
   * 503 with Retry-After (the batched counterpart of MODEL_MAX_QUEUE).
   * Requests, as MODEL_MAX_QUEUE counts: 256 one-row requests are one full call.
   */
  @ToNumber()
  @IsInt()
  @Min(0)
  MODEL_BATCH_QUEUE = 256;

  /**
   * Per-model batching, over the defaults above: `name:maxSize[,delayMs]`
   * entries, `;`-separated (`forest:512,5;ranker:0` — 0 turns it off for that model).
   */
  @IsOptional()
  @Matches(BATCH_OVERRIDES, {
    message:
      'MODEL_BATCH must look like name:maxSize[,delayMs][;other:maxSize[,delayMs]] (whole numbers)',
  })
  MODEL_BATCH?: string;

  /**
   * onnxruntime threads per session (0 = onnxruntime's default, one per
   * core). Unset: onnxruntime's default with one worker, and the cores shared
   * out among the workers with API_WORKERS > 1 (defaultIntraOpThreads).
   */
  @IsOptional()
  @ToNumber()
  @IsInt()
  @Min(0)
  ONNX_INTRA_OP_THREADS?: number;

  /**
   * Whether onnxruntime's intra-op threads busy-wait for the next call
   * (onnxruntime's own default) instead of sleeping. A spinning thread holds
   * a core while it waits, the core the event loop needs to parse and answer
   * the next request: on 2 cores, off gave a 1-row forest 1,100–1,450 req/s
   * where on gave 400–1,600, at a third of the CPU per request (bench/README.md).
   */
  @ToBoolean()
  @IsBoolean()
  ONNX_INTRA_OP_SPINNING = false;

  /**
   * sklearn, xgboost and lightgbm models converted to ONNX at load and served
   * in process, when the converted model answers as MLflow's pyfunc predict
   * does: `auto` serves the others through pyfunc (saying why), `require`
   * fails their load, `off` never converts.
   */
  @IsIn(ONNX_ACCELERATE_MODES, {
    message: `MODEL_ONNX_ACCELERATE must be one of ${ONNX_ACCELERATE_MODES.join(', ')}`,
  })
  MODEL_ONNX_ACCELERATE: OnnxAccelerateMode = 'auto';

  /**
   * How far a converted model's scores may be from pyfunc's:
   * |onnx − pyfunc| ≤ t + t·|pyfunc| (absolute and relative). Labels must be
   * equal. 1e-5: float32 arithmetic (trees, boosters) keeps about 7 digits,
   * and a sum over a hundred trees loses one or two of them.
   */
  @ToNumber()
  @IsNumber({}, { message: 'MODEL_ONNX_TOLERANCE must be a number (absolute and relative)' })
  @Min(0)
  @Max(1)
  MODEL_ONNX_TOLERANCE = 1e-5;

  /** Generated rows (seeded, within the signature's types) the answers are compared on, beside the input example. */
  @ToNumber()
  @IsInt({ message: 'MODEL_ONNX_CHECK_ROWS must be a whole number of rows' })
  @Min(0)
  @Max(100_000)
  MODEL_ONNX_CHECK_ROWS = 64;

  /** Seconds one conversion (loading, converting, comparing) may take; past it the model is not converted. */
  @ToNumber()
  @IsInt({ message: 'MODEL_ONNX_CONVERT_TIMEOUT must be a whole number of seconds' })
  @Min(1)
  @Max(3600)
  MODEL_ONNX_CONVERT_TIMEOUT = 180;
}

export const modelsConfig = registerAs('models', () => {
  const env = parseEnvironment(ModelsEnvironment, process.env);
  return {
    models: parseModelList(env.MODELS),
    cacheDir: env.MODEL_CACHE_DIR,
    maxModels: env.MODEL_CACHE_MAX_MODELS,
    maxBytes: env.MODEL_CACHE_MAX_BYTES,
    diskCacheMaxBytes: env.MODEL_DISK_CACHE_MAX_BYTES,
    defaultAlias: env.MODEL_DEFAULT_ALIAS,
    loadOnDemand: env.MODEL_LOAD_ON_DEMAND,
    allow: (env.MODEL_ALLOW ?? '')
      .split(',')
      .map((pattern) => pattern.trim())
      .filter(Boolean),
    refreshIntervalMs: env.MODEL_REFRESH_INTERVAL * 1000,
    drainTimeoutMs: env.MODEL_DRAIN_TIMEOUT * 1000,
    onnx: {
      intraOpThreads:
        env.ONNX_INTRA_OP_THREADS ?? defaultIntraOpThreads(readWorkerSettings(process.env)),
      spinning: env.ONNX_INTRA_OP_SPINNING,
    },
    onnxAccelerate: {
      mode: env.MODEL_ONNX_ACCELERATE,
      tolerance: env.MODEL_ONNX_TOLERANCE,
      checkRows: env.MODEL_ONNX_CHECK_ROWS,
      timeoutMs: env.MODEL_ONNX_CONVERT_TIMEOUT * 1000,
    },
    admission: { maxConcurrent: env.MODEL_MAX_CONCURRENCY, maxQueued: env.MODEL_MAX_QUEUE },
    batching: {
      maxRows: env.MODEL_BATCH_MAX_SIZE,
      maxDelayMs: env.MODEL_BATCH_MAX_DELAY_MS,
      maxQueued: env.MODEL_BATCH_QUEUE,
      models: parseBatchOverrides(env.MODEL_BATCH),
    },
    scoringServers: parseScoringServers(env.SCORING_SERVERS),
    scoringServerTimeoutMs: env.SCORING_SERVER_TIMEOUT * 1000,
    scoringServerCoolDownMs: env.SCORING_SERVER_COOL_DOWN * 1000,
  };
});

export type ModelsConfig = ConfigType<typeof modelsConfig>;

/**
 * MODELS as references, read by the parser the routes use: every entry a
 * `models:/` URI. Throws InvalidModelReferenceError for an entry it cannot read
 * (validation has reported it by then, in the start-up message).
 */
/** MODELS read as the server reads it, and naming one model at least. */
function requireModels(text: string): void {
  if (parseModelList(text).length === 0) throw new Error('names no model');
}

export function parseModelList(text: string | undefined): ModelReference[] {
  const entries = (text ?? '')
    .split(',')
    .map((uri) => uri.trim())
    .filter(Boolean);
  return entries.map((uri) => {
    if (!uri.startsWith(MODEL_SCHEME)) {
      throw new InvalidModelReferenceError(uri, `a model URI starts with ${MODEL_SCHEME}`);
    }
    return parseModelReference(uri);
  });
}

/** `name=url,url;name2=url` → name → URLs. */
function parseScoringServers(text: string | undefined): Record<string, string[]> {
  const result: Record<string, string[]> = {};
  for (const entry of (text ?? '')
    .split(';')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const [name, urls] = entry.split('=');
    result[name.trim()] = urls.split(',').map((u) => u.trim().replace(/\/+$/, ''));
  }
  return result;
}

/** Batching of one model, over the MODEL_BATCH_* defaults. */
export interface BatchOverride {
  maxRows: number;
  maxDelayMs?: number;
}

/** `name:maxSize[,delayMs];…` → name → override (validated by its pattern first). */
export function parseBatchOverrides(text: string | undefined): Record<string, BatchOverride> {
  const result: Record<string, BatchOverride> = {};
  for (const entry of (text ?? '')
    .split(';')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const [name, values] = entry.split(':');
    const [maxRows, maxDelayMs] = values.split(',').map(Number);
    result[name.trim()] = maxDelayMs === undefined ? { maxRows } : { maxRows, maxDelayMs };
  }
  return result;
}
