import { Inject, Injectable } from '@nestjs/common';
import { PyfuncConfig, pyfuncConfig } from '../../../config/pyfunc.config';

/** The model version whose workers need an interpreter. */
export interface PythonTarget {
  name: string;
  version: string;
  /** The version's cached artifacts (MLmodel, requirements.txt, python_env.yaml, …). */
  directory: string;
}

/**
 * Which Python runs a pyfunc version's workers. With PYFUNC_ENV=local every
 * version runs on PYFUNC_PYTHON, which must have mlflow and the model's
 * packages already; other environments build one per model.
 */
@Injectable()
export class PythonEnvironment {
  constructor(@Inject(pyfuncConfig.KEY) private readonly config: PyfuncConfig) {}

  /** The interpreter path (or command on PATH) for the version's workers. */
  pythonFor(version: PythonTarget): Promise<string> {
    void version;
    return Promise.resolve(this.config.python);
  }
}
