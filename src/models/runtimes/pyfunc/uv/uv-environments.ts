import { Logger } from '@nestjs/common';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ModelLoadError } from '../../../model.errors';
import { CommandResult, CommandRunner, runCommand } from './command';
import { DirectoryLock, DirectoryLockTimeoutError } from './directory-lock';
import {
  PythonRequirements,
  PythonRequirementsError,
  environmentKey,
  readPythonRequirements,
} from './python-requirements';
import { parseUvFailure } from './uv-failure';

/** The model version an environment is asked for (what PythonEnvironment passes on). */
export interface PythonEnvironmentRequest {
  readonly name: string;
  readonly version: string;
  /** The cached artifact directory, with MLmodel and MLflow's environment files. */
  readonly directory: string;
}

export interface UvEnvironmentsOptions {
  /** Where the venvs live, one directory per environment key. */
  readonly envDir: string;
  /** PYFUNC_UV; unset: `uv` on PATH, else the one beside `python`, else .venv's. */
  readonly uv?: string;
  /** PYFUNC_PYTHON: the interpreter for models whose files name no Python version. */
  readonly python: string;
  /** PYFUNC_INDEX_URL; unset: uv's own configuration. */
  readonly indexUrl?: string;
  /** One whole build (lock wait included). */
  readonly buildTimeoutMs: number;
}

/** What a finished environment records; written last, so its presence means "complete". */
interface EnvironmentStamp {
  readonly key: string;
  readonly python: string;
  readonly requirements: readonly string[];
  readonly builtAt: string;
  readonly buildMs: number;
}

export const STAMP_FILE = '.modelgate-env.json';
/** 96 bits of the SHA-256 name the directory; the stamp holds and checks the whole key. */
const KEY_CHARS_IN_PATH = 24;

/**
 * Importing mlflow.pyfunc once at build time proves the venv can run the
 * worker, and writes the bytecode of what it imports: these machines set
 * PYTHONDONTWRITEBYTECODE=1, and without .pyc files every worker start pays
 * the compile again (~6 s for mlflow, scripts/python-env.sh). Cheaper than
 * `uv pip install --compile-bytecode`, which compiles every installed file
 * (84 s against ~30 s for the imports, measured on this 2-core machine).
 */
const PRIME = [
  'import sys',
  'sys.dont_write_bytecode = False',
  'import mlflow.pyfunc',
  'print("%d.%d.%d" % sys.version_info[:3])',
].join('; ');

/**
 * PYFUNC_ENV=uv: a virtual environment per model, built by uv from the
 * requirements MLflow logged with the version and keyed by their hash, so
 * versions with the same packages share one and a restart finds it again.
 *
 * - A stamp written after every step succeeded marks an environment
 *   complete; a directory without one (a crash, a kill mid-install) is
 *   removed and built again.
 * - Two loads of one environment build it once: within the process they
 *   share the promise, across processes a DirectoryLock beside it.
 * - The Python version comes from python_env.yaml (`major.minor`) and must
 *   be installed here: uv is told never to download an interpreter.
 * - An install uv refuses is a ModelLoadError naming the package, so the
 *   loader keeps the previous version serving.
 */
export class UvEnvironments {
  private readonly logger = new Logger(UvEnvironments.name);
  private readonly building = new Map<string, Promise<string>>();
  private uvCommand?: Promise<string>;

  constructor(
    private readonly options: UvEnvironmentsOptions,
    private readonly run: CommandRunner = runCommand,
  ) {}

  /** The venv's interpreter for this version, built first if no complete one exists. */
  async pythonFor(request: PythonEnvironmentRequest): Promise<string> {
    const spec = await this.requirementsOf(request);
    const key = environmentKey(spec, this.options.python);
    let pending = this.building.get(key);
    if (pending === undefined) {
      pending = this.ensure(key, spec, request).finally(() => this.building.delete(key));
      this.building.set(key, pending);
    }
    return pending;
  }

  private async requirementsOf(request: PythonEnvironmentRequest): Promise<PythonRequirements> {
    try {
      return await readPythonRequirements(request.directory);
    } catch (error) {
      if (error instanceof PythonRequirementsError) {
        throw new ModelLoadError(request.name, request.version, error.message);
      }
      throw error;
    }
  }

  private async ensure(
    key: string,
    spec: PythonRequirements,
    request: PythonEnvironmentRequest,
  ): Promise<string> {
    const venv = join(this.options.envDir, key.slice(0, KEY_CHARS_IN_PATH));
    const python = join(venv, 'bin', 'python');
    if (await this.isComplete(venv, key)) {
      this.logger.log(`reusing Python environment ${venv} for ${describe(request)}`);
      return python;
    }
    await mkdir(this.options.envDir, { recursive: true });
    const deadline = Date.now() + this.options.buildTimeoutMs;
    const lock = await this.lock(`${venv}.lock`, request);
    try {
      // Another process may have finished it while this one waited.
      if (await this.isComplete(venv, key)) {
        this.logger.log(`reusing Python environment ${venv} for ${describe(request)}`);
        return python;
      }
      const started = Date.now();
      this.logger.log(
        `building Python environment ${venv} for ${describe(request)} ` +
          `(Python ${spec.python ?? this.options.python}, ${spec.requirements.length} requirements)`,
      );
      await rm(venv, { recursive: true, force: true });
      try {
        const version = await this.build(venv, spec, request, deadline);
        const buildMs = Date.now() - started;
        await writeStamp(venv, {
          key,
          python: version,
          requirements: spec.requirements,
          builtAt: new Date().toISOString(),
          buildMs,
        });
        this.logger.log(
          `built Python environment ${venv} (Python ${version}) in ${(buildMs / 1000).toFixed(1)} s`,
        );
        return python;
      } catch (error) {
        // Never leave a half-built venv that looks like something.
        await rm(venv, { recursive: true, force: true });
        throw error;
      }
    } finally {
      await lock.release();
    }
  }

  private async build(
    venv: string,
    spec: PythonRequirements,
    request: PythonEnvironmentRequest,
    deadline: number,
  ): Promise<string> {
    const uv = await this.uv(request);
    const wanted = spec.python ?? this.options.python;
    const created = await this.step(request, deadline, uv, [
      'venv',
      '--color',
      'never',
      '--no-python-downloads',
      '--python',
      wanted,
      venv,
    ]);
    if (created.code !== 0) {
      const { detail } = parseUvFailure(created.stderr);
      throw new ModelLoadError(
        request.name,
        request.version,
        spec.python
          ? `the model needs Python ${spec.python} (python_env.yaml) and this host has no such interpreter ` +
              `(PYFUNC_ENV=uv does not download one): ${detail}`
          : `uv cannot create a venv with ${wanted} (PYFUNC_PYTHON): ${detail}`,
      );
    }
    const requirementsFile = join(venv, 'modelgate-requirements.txt');
    await writeFile(requirementsFile, `${spec.requirements.join('\n')}\n`);
    const installed = await this.step(request, deadline, uv, [
      'pip',
      'install',
      '--color',
      'never',
      '--python',
      join(venv, 'bin', 'python'),
      ...(this.options.indexUrl ? ['--index-url', this.options.indexUrl] : []),
      '-r',
      requirementsFile,
    ]);
    if (installed.code !== 0) {
      const failure = parseUvFailure(installed.stderr);
      throw new ModelLoadError(
        request.name,
        request.version,
        failure.package
          ? `package ${failure.package} cannot be installed in its Python environment: ${failure.detail}`
          : `its Python environment cannot be installed: ${failure.detail}`,
      );
    }
    const primed = await this.step(request, deadline, join(venv, 'bin', 'python'), ['-c', PRIME]);
    if (primed.code !== 0) {
      const lastLine = primed.stderr.trim().split('\n').pop() ?? 'no message';
      throw new ModelLoadError(
        request.name,
        request.version,
        `mlflow.pyfunc does not import in its Python environment: ${lastLine}`,
      );
    }
    return primed.stdout.trim();
  }

  /** One command within the build's remaining time. */
  private async step(
    request: PythonEnvironmentRequest,
    deadline: number,
    command: string,
    args: string[],
  ): Promise<CommandResult> {
    const remaining = deadline - Date.now();
    const result = remaining > 0 ? await this.run(command, args, remaining) : undefined;
    if (result === undefined || result.timedOut) {
      throw new ModelLoadError(
        request.name,
        request.version,
        `building its Python environment took longer than PYFUNC_ENV_BUILD_TIMEOUT ` +
          `(${Math.round(this.options.buildTimeoutMs / 1000)} s)`,
      );
    }
    return result;
  }

  private async lock(path: string, request: PythonEnvironmentRequest): Promise<DirectoryLock> {
    try {
      return await DirectoryLock.acquire(path, this.options.buildTimeoutMs);
    } catch (error) {
      if (error instanceof DirectoryLockTimeoutError) {
        throw new ModelLoadError(
          request.name,
          request.version,
          `its Python environment is being built by another process (${error.owner ?? 'unknown'}) ` +
            `for longer than PYFUNC_ENV_BUILD_TIMEOUT`,
        );
      }
      throw error;
    }
  }

  /** The uv to run, found once: PYFUNC_UV, else the first candidate that answers `--version`. */
  private uv(request: PythonEnvironmentRequest): Promise<string> {
    this.uvCommand ??= this.findUv();
    return this.uvCommand.catch((error: Error) => {
      this.uvCommand = undefined;
      throw new ModelLoadError(request.name, request.version, error.message);
    });
  }

  private async findUv(): Promise<string> {
    const candidates = this.options.uv
      ? [this.options.uv]
      : [
          'uv',
          ...(this.options.python.includes('/') ? [join(dirname(this.options.python), 'uv')] : []),
          join('.venv', 'bin', 'uv'),
        ];
    for (const candidate of candidates) {
      const answer = await this.run(candidate, ['--version'], 10_000).catch(() => undefined);
      if (answer?.code === 0) {
        this.logger.log(
          `PYFUNC_ENV=uv builds environments with ${candidate} (${answer.stdout.trim()})`,
        );
        return candidate;
      }
    }
    throw new Error(
      `PYFUNC_ENV=uv needs uv, and none runs here (tried ${candidates.join(', ')}; set PYFUNC_UV)`,
    );
  }

  private async isComplete(venv: string, key: string): Promise<boolean> {
    const stamp = await readStamp(venv);
    // existsSync follows the venv's python symlink: a removed base interpreter fails it.
    return stamp?.key === key && existsSync(join(venv, 'bin', 'python'));
  }
}

function describe(request: PythonEnvironmentRequest): string {
  return `${request.name} version ${request.version}`;
}

async function readStamp(venv: string): Promise<EnvironmentStamp | undefined> {
  try {
    return JSON.parse(await readFile(join(venv, STAMP_FILE), 'utf8')) as EnvironmentStamp;
  } catch {
    return undefined;
  }
}

async function writeStamp(venv: string, stamp: EnvironmentStamp): Promise<void> {
  const file = join(venv, STAMP_FILE);
  await writeFile(`${file}.tmp`, `${JSON.stringify(stamp, null, 2)}\n`);
  await rename(`${file}.tmp`, file);
}
