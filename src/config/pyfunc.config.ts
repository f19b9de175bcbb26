import { ConfigType, registerAs } from '@nestjs/config';
import { dirname, join } from 'node:path';
import {
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
} from 'class-validator';
import { parseEnvironment } from './env.validation';
import { ToNumber } from './env.transforms';
import { ModelsEnvironment } from './models.config';

/**
 * Where a pyfunc version's Python comes from: `local` is PYFUNC_PYTHON for
 * every version; `uv` a virtual environment per model built from the
 * version's own python_env.yaml / requirements.txt.
 */
export const PYFUNC_ENVS = ['local', 'uv'] as const;
export type PyfuncEnv = (typeof PYFUNC_ENVS)[number];

/**
 * Models served by Python worker processes that Modelgate starts itself: any
 * `python_function` flavor no in-process runtime takes (sklearn, xgboost,
 * lightgbm, a custom PythonModel, …).
 */
export class PyfuncEnvironment {
  /** Worker processes per loaded version; a request goes to an idle one. */
  @ToNumber()
  @IsInt({ message: 'PYFUNC_WORKERS must be a whole number of processes' })
  @Min(1)
  @Max(64)
  PYFUNC_WORKERS = 1;

  /**
   * `local`: every version runs on PYFUNC_PYTHON, which must have mlflow and
   * the model's packages. `uv`: each version runs in a venv built by uv from
   * the requirements MLflow logged with it, shared by every version with the
   * same requirements and Python.
   */
  @IsIn(PYFUNC_ENVS, { message: `PYFUNC_ENV must be one of ${PYFUNC_ENVS.join(', ')}` })
  PYFUNC_ENV: PyfuncEnv = 'local';

  /** The interpreter workers run on with PYFUNC_ENV=local. */
  @IsString()
  @MinLength(1)
  PYFUNC_PYTHON = 'python3';

  /**
   * PYFUNC_ENV=uv: where the venvs live, one directory per requirements hash,
   * kept across restarts. Unset: `pyfunc-envs` beside MODEL_CACHE_DIR.
   */
  @IsOptional()
  @IsString()
  @MinLength(1)
  PYFUNC_ENV_DIR?: string;

  /**
   * PYFUNC_ENV=uv: the uv executable. Unset: `uv` on PATH, else the one
   * beside PYFUNC_PYTHON (the image's venv and the dev .venv both have one).
   */
  @IsOptional()
  @IsString()
  @MinLength(1)
  PYFUNC_UV?: string;

  /**
   * PYFUNC_ENV=uv: the package index to install from (passed to uv as
   * UV_INDEX_URL). Unset: uv's own configuration decides (UV_INDEX_URL,
   * uv.toml), PyPI if it names none.
   */
  @IsOptional()
  @Matches(/^(https?|file):\/\/\S+$/, {
    message: 'PYFUNC_INDEX_URL must be an http(s):// or file:// URL of a package index',
  })
  PYFUNC_INDEX_URL?: string;

  /** PYFUNC_ENV=uv: seconds one environment build (create, install, check) may take. */
  @ToNumber()
  @IsNumber({}, { message: 'PYFUNC_ENV_BUILD_TIMEOUT must be a number of seconds' })
  @Min(1)
  @Max(7200)
  PYFUNC_ENV_BUILD_TIMEOUT = 900;

  /**
   * A worker whose resident memory is above this many MiB after a request is
   * replaced before it takes the next one; 0 never replaces one for its size.
   */
  @ToNumber()
  @IsInt({ message: 'PYFUNC_MAX_RSS must be a whole number of MiB (0 for no limit)' })
  @Min(0)
  PYFUNC_MAX_RSS = 0;

  /** Seconds one prediction may take; a worker past it is killed and restarted. */
  @ToNumber()
  @IsNumber({}, { message: 'PYFUNC_PREDICT_TIMEOUT must be a number of seconds' })
  @Min(0.1)
  @Max(3600)
  PYFUNC_PREDICT_TIMEOUT = 30;

  /** Seconds a worker may take to start and load its model (importing mlflow is slow). */
  @ToNumber()
  @IsNumber({}, { message: 'PYFUNC_START_TIMEOUT must be a number of seconds' })
  @Min(1)
  @Max(3600)
  PYFUNC_START_TIMEOUT = 120;
}

export const pyfuncConfig = registerAs('pyfunc', () => {
  const env = parseEnvironment(PyfuncEnvironment, process.env);
  const workerEnv: NodeJS.ProcessEnv = {
    ...process.env,
    PYTHONWARNINGS: process.env.PYTHONWARNINGS ?? 'ignore',
  };
  return {
    /** The workers' environment: this process's, Python's warnings off unless PYTHONWARNINGS says. */
    workerEnv,
    workers: env.PYFUNC_WORKERS,
    env: env.PYFUNC_ENV,
    python: env.PYFUNC_PYTHON,
    envDir: env.PYFUNC_ENV_DIR ?? defaultEnvDir(),
    uv: env.PYFUNC_UV,
    indexUrl: env.PYFUNC_INDEX_URL,
    envBuildTimeoutMs: Math.round(env.PYFUNC_ENV_BUILD_TIMEOUT * 1000),
    maxRssBytes: env.PYFUNC_MAX_RSS * 1024 ** 2,
    predictTimeoutMs: Math.round(env.PYFUNC_PREDICT_TIMEOUT * 1000),
    startTimeoutMs: Math.round(env.PYFUNC_START_TIMEOUT * 1000),
  };
});

/** `pyfunc-envs` beside the model cache: `.cache/models` → `.cache/pyfunc-envs`. */
function defaultEnvDir(): string {
  const { MODEL_CACHE_DIR } = parseEnvironment(ModelsEnvironment, process.env);
  return join(dirname(MODEL_CACHE_DIR), 'pyfunc-envs');
}

export type PyfuncConfig = ConfigType<typeof pyfuncConfig>;
