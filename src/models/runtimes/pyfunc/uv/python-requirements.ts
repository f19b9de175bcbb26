import * as yaml from 'js-yaml';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isAbsolute, join, normalize, sep } from 'node:path';

/** What a model version's Python environment must hold, as MLflow logged it. */
export interface PythonRequirements {
  /** `major.minor` from python_env.yaml (`3.11.7` → `3.11`); absent without that file. */
  readonly python?: string;
  /** Requirement lines, normalized: trimmed, comments dropped, deduplicated, sorted. */
  readonly requirements: readonly string[];
}

/** The model directory's environment files cannot be read as MLflow writes them. */
export class PythonRequirementsError extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = PythonRequirementsError.name;
  }
}

const PYTHON_ENV_FILE = 'python_env.yaml';
const REQUIREMENTS_FILE = 'requirements.txt';
/** `-r` nesting deeper than this is a loop or not MLflow's doing. */
const MAX_INCLUDE_DEPTH = 3;
/** Distributions that provide `mlflow.pyfunc`, which the worker imports. */
const MLFLOW_DISTRIBUTIONS = new Set(['mlflow', 'mlflow-skinny']);

/**
 * Reads the environment MLflow logged beside MLmodel: python_env.yaml
 * (`python`, `dependencies`, usually `-r requirements.txt`), else
 * requirements.txt alone. `build_dependencies` (pip, setuptools, wheel) are
 * left out: uv needs none of them and builds sdists in isolation.
 *
 * Only requirement lines and `-r <file in the model directory>` are taken:
 * any other pip option (`--index-url`, `-e`, `-f`, …) is refused, so a
 * model's files cannot point the installer elsewhere.
 */
export async function readPythonRequirements(directory: string): Promise<PythonRequirements> {
  const pythonEnv = await readOptional(join(directory, PYTHON_ENV_FILE));
  if (pythonEnv !== undefined) {
    const parsed = parsePythonEnv(pythonEnv);
    const lines = await expand(directory, parsed.dependencies, PYTHON_ENV_FILE, 0);
    return withMlflow({ python: parsed.python, requirements: normalizeLines(lines) });
  }
  const requirements = await readOptional(join(directory, REQUIREMENTS_FILE));
  if (requirements === undefined) {
    throw new PythonRequirementsError(
      `the model has neither ${PYTHON_ENV_FILE} nor ${REQUIREMENTS_FILE}, so PYFUNC_ENV=uv cannot build its environment`,
    );
  }
  const lines = await expand(directory, splitLines(requirements), REQUIREMENTS_FILE, 0);
  return withMlflow({ requirements: normalizeLines(lines) });
}

/**
 * The environment's identity: SHA-256 over the Python version and the
 * normalized requirements, so versions logged with the same packages share
 * one venv however their files were laid out.
 */
export function environmentKey(spec: PythonRequirements, defaultPython: string): string {
  const hash = createHash('sha256');
  hash.update(`python=${spec.python ?? `default:${defaultPython}`}\n`);
  for (const line of spec.requirements) hash.update(`${line}\n`);
  return hash.digest('hex');
}

/** The distribution a requirement line names, lower-case with `_`/`.` as `-` (PEP 503). */
export function requirementName(line: string): string {
  const match = /^([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(line);
  return (match?.[1] ?? line).toLowerCase().replace(/[._]+/g, '-');
}

function parsePythonEnv(text: string): { python?: string; dependencies: string[] } {
  let doc: unknown;
  try {
    // FAILSAFE: every scalar a string, so `python: 3.10` stays "3.10", not 3.1.
    doc = yaml.load(text, { schema: yaml.FAILSAFE_SCHEMA });
  } catch (error) {
    throw new PythonRequirementsError(
      `${PYTHON_ENV_FILE} is not YAML: ${(error as Error).message.split('\n')[0]}`,
    );
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new PythonRequirementsError(`${PYTHON_ENV_FILE} is not a mapping`);
  }
  const { python, dependencies } = doc as Record<string, unknown>;
  if (python !== undefined && (typeof python !== 'string' || !/^\d+\.\d+/.test(python))) {
    throw new PythonRequirementsError(`${PYTHON_ENV_FILE}: python must be a version such as 3.11`);
  }
  if (
    dependencies !== undefined &&
    (!Array.isArray(dependencies) || dependencies.some((d) => typeof d !== 'string'))
  ) {
    throw new PythonRequirementsError(`${PYTHON_ENV_FILE}: dependencies must be a list of strings`);
  }
  return {
    python: python === undefined ? undefined : /^(\d+\.\d+)/.exec(python)![1],
    dependencies: (dependencies as string[] | undefined) ?? [],
  };
}

async function expand(
  directory: string,
  lines: readonly string[],
  from: string,
  depth: number,
): Promise<string[]> {
  const out: string[] = [];
  for (const raw of lines) {
    const line = stripComment(raw);
    if (line === '') continue;
    const include = /^(?:-r|--requirement)(?:\s+|=)(\S+)$/.exec(line);
    if (include) {
      if (depth >= MAX_INCLUDE_DEPTH) {
        throw new PythonRequirementsError(`${from}: -r nested more than ${MAX_INCLUDE_DEPTH} deep`);
      }
      const file = insideDirectory(include[1], from);
      const text = await readOptional(join(directory, file));
      if (text === undefined) {
        throw new PythonRequirementsError(
          `${from} includes ${file}, which the model does not have`,
        );
      }
      out.push(...(await expand(directory, splitLines(text), file, depth + 1)));
    } else if (line.startsWith('-')) {
      throw new PythonRequirementsError(
        `${from}: the option "${line.split(/\s/)[0]}" is not taken (only requirements and -r <file>)`,
      );
    } else {
      out.push(line);
    }
  }
  return out;
}

/** A relative path that stays in the model directory. */
function insideDirectory(file: string, from: string): string {
  const relative = normalize(file);
  if (isAbsolute(relative) || relative === '..' || relative.startsWith(`..${sep}`)) {
    throw new PythonRequirementsError(`${from} includes ${file}, outside the model directory`);
  }
  return relative;
}

function withMlflow(spec: PythonRequirements): PythonRequirements {
  if (!spec.requirements.some((line) => MLFLOW_DISTRIBUTIONS.has(requirementName(line)))) {
    throw new PythonRequirementsError(
      'the model requirements do not list mlflow, which the worker needs (MLflow writes it in requirements.txt)',
    );
  }
  return spec;
}

function normalizeLines(lines: readonly string[]): string[] {
  return [...new Set(lines.map((line) => line.replace(/\s+/g, ' ').trim()))].sort();
}

function stripComment(line: string): string {
  // pip: a comment starts at `#` at the line's start or after whitespace.
  return line.replace(/(^|\s)#.*$/, '').trim();
}

function splitLines(text: string): string[] {
  return text.split(/\r?\n/);
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
