import { ConfigType, registerAs } from '@nestjs/config';
import { IsBoolean, IsInt, IsOptional, IsString, Matches, Min } from 'class-validator';
import { parseEnvironment } from './env.validation';
import { ToBoolean, ToNumber } from './env.transforms';

const MODEL_URI = /^\s*models:\/[^\s,]+(\s*,\s*models:\/[^\s,]+)*\s*$/;

export class ModelsEnvironment {
  /** Models loaded at start, comma-separated `models:/…` URIs; the first is the default. */
  @IsOptional()
  @Matches(MODEL_URI, {
    message:
      'MODELS must be comma-separated model URIs such as models:/iris@champion,models:/other/3',
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

  /** Alias a bare model name (`/v1/models/iris/…`) resolves to; latest version if absent. */
  @IsString()
  MODEL_DEFAULT_ALIAS = 'champion';

  /** Load other registered models on their first request. */
  @ToBoolean()
  @IsBoolean()
  MODEL_LOAD_ON_DEMAND = true;

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

  /** onnxruntime threads per session (0 = onnxruntime's default, one per core). */
  @ToNumber()
  @IsInt()
  @Min(0)
  ONNX_INTRA_OP_THREADS = 0;
}

export const modelsConfig = registerAs('models', () => {
  const env = parseEnvironment(ModelsEnvironment, process.env);
  return {
    models: (env.MODELS ?? '')
      .split(',')
      .map((uri) => uri.trim())
      .filter(Boolean),
    cacheDir: env.MODEL_CACHE_DIR,
    maxModels: env.MODEL_CACHE_MAX_MODELS,
    maxBytes: env.MODEL_CACHE_MAX_BYTES,
    defaultAlias: env.MODEL_DEFAULT_ALIAS,
    loadOnDemand: env.MODEL_LOAD_ON_DEMAND,
    refreshIntervalMs: env.MODEL_REFRESH_INTERVAL * 1000,
    drainTimeoutMs: env.MODEL_DRAIN_TIMEOUT * 1000,
    onnxIntraOpThreads: env.ONNX_INTRA_OP_THREADS,
  };
});

export type ModelsConfig = ConfigType<typeof modelsConfig>;
