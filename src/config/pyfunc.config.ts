import { ConfigType, registerAs } from '@nestjs/config';
import { IsIn, IsInt, IsNumber, IsString, Max, Min, MinLength } from 'class-validator';
import { parseEnvironment } from './env.validation';
import { ToNumber } from './env.transforms';

/** Where a pyfunc version's Python comes from. */
export const PYFUNC_ENVS = ['local'] as const;
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

  /** `local`: every version runs on PYFUNC_PYTHON, which must have mlflow and the model's packages. */
  @IsIn(PYFUNC_ENVS, { message: `PYFUNC_ENV must be one of ${PYFUNC_ENVS.join(', ')}` })
  PYFUNC_ENV: PyfuncEnv = 'local';

  /** The interpreter workers run on with PYFUNC_ENV=local. */
  @IsString()
  @MinLength(1)
  PYFUNC_PYTHON = 'python3';

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
  return {
    workers: env.PYFUNC_WORKERS,
    env: env.PYFUNC_ENV,
    python: env.PYFUNC_PYTHON,
    maxRssBytes: env.PYFUNC_MAX_RSS * 1024 ** 2,
    predictTimeoutMs: Math.round(env.PYFUNC_PREDICT_TIMEOUT * 1000),
    startTimeoutMs: Math.round(env.PYFUNC_START_TIMEOUT * 1000),
  };
});

export type PyfuncConfig = ConfigType<typeof pyfuncConfig>;
