import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');
/** The project's Python environment (scripts/python-env.sh), with MLflow's client and scikit-learn. */
const PYTHON = path.join(ROOT, '.venv/bin/python');
/** The inference clients' environment (requirements-clients.txt): tritonclient and kserve. */
const CLIENTS_PYTHON = path.join(ROOT, '.venv-clients/bin/python');

export interface RegisteredDemoModel {
  name: string;
  version: string;
  run_id: string;
  alias?: string | null;
  metrics: Record<string, number>;
}

export interface DemoModelOptions {
  name: string;
  signature?: 'columns' | 'tensor';
  /** Inverse regularisation: different values give different predictions. */
  c?: number;
  alias?: string | null;
  broken?: boolean;
}

/** Trains and registers a demo model with scripts/demo_model.py against a real MLflow. */
export async function registerDemoModel(
  trackingUri: string,
  options: DemoModelOptions,
): Promise<RegisteredDemoModel> {
  const args = [
    path.join(ROOT, 'scripts/demo_model.py'),
    '--tracking-uri',
    trackingUri,
    '--name',
    options.name,
  ];
  if (options.signature) args.push('--signature', options.signature);
  if (options.c !== undefined) args.push('--C', String(options.c));
  if (options.alias === null) args.push('--no-alias');
  else if (options.alias) args.push('--alias', options.alias);
  if (options.broken) args.push('--broken');
  return lastJsonLine(await python(args));
}

/** The Python side's prediction for the same rows (onnxruntime on the registered ONNX file): output → per-row values. */
export async function pythonPredict(
  trackingUri: string,
  modelUri: string,
  data: number[][],
): Promise<Record<string, unknown[]>> {
  const script = path.join(__dirname, '../fixtures/python_predict.py');
  const stdout = await python([script], JSON.stringify({ model_uri: modelUri, data }), {
    MLFLOW_TRACKING_URI: trackingUri,
  });
  return lastJsonLine<{ outputs: Record<string, unknown[]> }>(stdout).outputs;
}

/**
 * Runs test/fixtures/open_inference_clients.py: one Open Inference client
 * (tritonclient.http in binary or JSON mode, or KServe's REST client) through
 * its calls against a running server; what each answered, or its error.
 */
export async function openInferenceClients<T>(request: Record<string, unknown>): Promise<T> {
  const script = path.join(__dirname, '../fixtures/open_inference_clients.py');
  return lastJsonLine<T>(await python([script], JSON.stringify(request), {}, CLIENTS_PYTHON));
}

export async function python(
  args: string[],
  stdin?: string,
  env: Record<string, string> = {},
  interpreter = PYTHON,
): Promise<string> {
  if (!existsSync(interpreter)) {
    throw new Error(`${interpreter} is missing: run scripts/python-env.sh (npm test does)`);
  }
  const child = run(interpreter, args, {
    env: { ...process.env, PYTHONWARNINGS: 'ignore', ...env },
    maxBuffer: 16 * 1024 * 1024,
  });
  if (stdin !== undefined) child.child.stdin!.end(stdin);
  const { stdout } = await child;
  return stdout;
}

export function lastJsonLine<T>(stdout: string): T {
  const line = stdout
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  if (!line) throw new Error(`no JSON line in the output:\n${stdout}`);
  return JSON.parse(line) as T;
}

/**
 * Registers a scikit-learn-flavor iris model; `withoutPyfunc` drops its
 * python_function flavor, leaving a model no runtime of Modelgate serves.
 */
export async function registerSklearnModel(
  trackingUri: string,
  name: string,
  { withoutPyfunc = false }: { withoutPyfunc?: boolean } = {},
): Promise<{ name: string; version: string }> {
  const script = path.join(__dirname, '../fixtures/register_sklearn.py');
  const args = withoutPyfunc ? [script, name, '--without-pyfunc'] : [script, name];
  return lastJsonLine(await python(args, undefined, { MLFLOW_TRACKING_URI: trackingUri }));
}

/**
 * Registers test/fixtures/register_params_model.py's model: a custom
 * PythonModel whose signature declares params (`scale`, `offset`).
 */
export async function registerParamsModel(
  trackingUri: string,
  name: string,
  signature: 'columns' | 'tensor',
): Promise<{ name: string; version: string }> {
  const script = path.join(__dirname, '../fixtures/register_params_model.py');
  return lastJsonLine(
    await python([script, name, signature], undefined, { MLFLOW_TRACKING_URI: trackingUri }),
  );
}

/** One request for MLflow's own ScoringServerClient (test/fixtures/scoring_client.py). */
export type ScoringClientCall = { prefix: string } & (
  | { kind: 'frame'; columns: string[]; data: number[][]; params?: Record<string, unknown> }
  | { kind: 'array'; data: number[][]; params?: Record<string, unknown> }
  | { kind: 'json'; body: string }
  | { kind: 'csv'; body: string }
);

export type ScoringClientResult = { ok: true; answer: unknown } | { ok: false; error: string };

/** Runs the calls with MLflow's ScoringServerClient, in order, in one Python process. */
export async function scoringClient(calls: ScoringClientCall[]): Promise<ScoringClientResult[]> {
  const script = path.join(__dirname, '../fixtures/scoring_client.py');
  const stdout = await python([script], JSON.stringify({ calls }));
  return lastJsonLine<{ results: ScoringClientResult[] }>(stdout).results;
}

export interface ScoringServer {
  url: string;
  stop(): void;
}

/**
 * `mlflow models serve` for one registered version, from the project's Python
 * environment (`--env-manager local`), on a free loopback port; resolves once
 * it answers /ping.
 */
export async function startScoringServer(
  trackingUri: string,
  modelUri: string,
  port: number,
): Promise<ScoringServer> {
  const child = spawn(
    path.join(ROOT, '.venv/bin/mlflow'),
    [
      'models',
      'serve',
      '-m',
      modelUri,
      '--env-manager',
      'local',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--workers',
      '1',
    ],
    {
      env: {
        ...process.env,
        MLFLOW_TRACKING_URI: trackingUri,
        PYTHONWARNINGS: 'ignore',
        // mlflow models serve execs `uvicorn` from PATH: the venv's bin must be on it.
        PATH: `${path.join(ROOT, '.venv/bin')}:${process.env.PATH ?? ''}`,
      },
      detached: true,
      stdio: 'ignore',
    },
  );
  const url = `http://127.0.0.1:${port}`;
  const stop = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL'); // the whole group: mlflow starts uvicorn workers
    } catch {
      // already gone
    }
  };
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`mlflow models serve exited with ${child.exitCode}`);
    const ok = await fetch(`${url}/ping`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { url, stop };
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  stop();
  throw new Error(`mlflow models serve did not answer /ping on ${url} within 120 s`);
}

/**
 * Registers an iris classifier in the scikit-learn flavor whose logged pip
 * requirements are this .venv's pins plus `extraRequirements`
 * (test/fixtures/pyfunc_env_model.py), for PYFUNC_ENV=uv.
 */
export async function registerPinnedSklearnModel(
  trackingUri: string,
  name: string,
  options: { c?: number; extraRequirements?: string[] } = {},
): Promise<{ name: string; version: string }> {
  const args = [path.join(__dirname, '../fixtures/pyfunc_env_model.py'), name];
  if (options.c !== undefined) args.push('--C', String(options.c));
  for (const requirement of options.extraRequirements ?? []) {
    args.push('--extra-requirement', requirement);
  }
  return lastJsonLine(await python(args, undefined, { MLFLOW_TRACKING_URI: trackingUri }));
}

export interface FlavorModel {
  name: string;
  version: string;
  /** Rows to score (not the input example), in the signature's column order. */
  columns: string[];
  rows: number[][];
}

export type FlavorModels = Record<
  | 'sk-classifier'
  | 'sk-regressor'
  | 'xgboost'
  | 'lightgbm'
  | 'custom'
  | 'missing-package'
  | 'custom-next',
  FlavorModel
>;

/** Registers one model per flavor the pyfunc runtime serves (test/fixtures/flavor_models.py). */
export async function registerFlavorModels(
  trackingUri: string,
  prefix: string,
): Promise<FlavorModels> {
  const script = path.join(__dirname, '../fixtures/flavor_models.py');
  const stdout = await python([script, prefix], undefined, { MLFLOW_TRACKING_URI: trackingUri });
  return lastJsonLine<{ models: FlavorModels }>(stdout).models;
}

/**
 * MLflow's own answer: `mlflow.pyfunc.load_model(uri).predict` on the rows,
 * as MLflow's scoring server writes it (`{"predictions": …}`).
 */
export async function pyfuncPredict(
  trackingUri: string,
  modelUri: string,
  table: { columns: string[]; rows: unknown[][] },
  params?: Record<string, unknown>,
): Promise<{ predictions: unknown }> {
  const script = path.join(__dirname, '../fixtures/pyfunc_predict.py');
  const request = {
    model_uri: modelUri,
    dataframe_split: { columns: table.columns, data: table.rows },
    params,
  };
  const stdout = await python([script], JSON.stringify(request), {
    MLFLOW_TRACKING_URI: trackingUri,
  });
  return lastJsonLine(stdout);
}

export interface RollbackModels {
  name: string;
  good: { version: string; run_id: string };
  bad: { version: string; run_id: string };
  columns: string[];
  rows: number[][];
}

/**
 * Registers test/fixtures/register_rollback_models.py's two versions: a good
 * v1 under `champion`, and a v2 that passes the warm-up on its input example
 * and fails on real rows (a bad promotion).
 */
export async function registerRollbackModels(
  trackingUri: string,
  name: string,
): Promise<RollbackModels> {
  const script = path.join(__dirname, '../fixtures/register_rollback_models.py');
  return lastJsonLine(
    await python([script, name], undefined, { MLFLOW_TRACKING_URI: trackingUri }),
  );
}
