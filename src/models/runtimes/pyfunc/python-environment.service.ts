import { Inject, Injectable } from '@nestjs/common';
import { PyfuncConfig, pyfuncConfig } from '../../../config/pyfunc.config';
import { UvEnvironments } from './uv/uv-environments';

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
 * packages already; with PYFUNC_ENV=uv each runs in a venv built from its own
 * logged requirements (UvEnvironments), shared by versions that list the same.
 */
@Injectable()
export class PythonEnvironment {
  private readonly uv?: UvEnvironments;

  constructor(@Inject(pyfuncConfig.KEY) private readonly config: PyfuncConfig) {
    if (config.env === 'uv') {
      this.uv = new UvEnvironments({
        envDir: config.envDir,
        uv: config.uv,
        python: config.python,
        indexUrl: config.indexUrl,
        buildTimeoutMs: config.envBuildTimeoutMs,
      });
    }
  }

  /**
   * The interpreter path (or command on PATH) for the version's workers.
   * Rejects with ModelLoadError when its environment cannot be built (a
   * package that does not install, a Python version this host lacks).
   */
  pythonFor(version: PythonTarget): Promise<string> {
    return this.uv ? this.uv.pythonFor(version) : Promise.resolve(this.config.python);
  }
}
