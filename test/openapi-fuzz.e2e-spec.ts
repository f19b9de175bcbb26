import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { LoggerService } from '@nestjs/common';
import { RunningServer, startServer, stackEnv } from './support/app';
import { TEST_API_KEY } from './support/credentials';
import { request, waitFor } from './support/http';
import { registerDemoModel } from './support/python';
import { sharedStack } from './support/shared-stack';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..');
const FIGURES = path.join(ROOT, '.cache/schemathesis-figures.json');

/** schemathesis sends the harness's admin key (stackEnv's API_KEYS lists it) as a bearer token. */
const API_KEY = TEST_API_KEY;
/** The DAG callback's own token: the hook route is fuzzed past its guard. */
const CALLBACK_TOKEN = 'fuzz-callback-token-0123456789';
/** The registry webhook on, as a deployment runs it: fuzzed deliveries must be refused 4xx. */
const WEBHOOK_SECRET = 'fuzz-webhook-secret-0123456789';

/** The shipped retraining DAG (TRAINING_DAG_ID's default), which the fuzzer must never run. */
const REAL_DAG = 'modelgate_retrain';

/** Bounded and reproducible: examples per operation, a fixed seed, a wall-clock bound. */
const MAX_EXAMPLES = 30;
const SEED = 20261201;
const RUN_TIMEOUT_MS = 15 * 60_000;

/**
 * Where a check's default expectations cannot hold, per route, and why. Every
 * check runs on every route; nothing else is relaxed.
 */
const EXCEPTIONS: { pathRegex: string; check: string; expectedStatuses: string[]; why: string }[] =
  [
    {
      pathRegex: '/(invocations|infer)$',
      check: 'positive_data_acceptance',
      expectedStatuses: ['2xx', '400', '401', '403', '404', '409', '429', '5xx'],
      why:
        'a body can fit the envelope schema and still not fit the model: column names and types, ' +
        "a row's width against `columns`, `data` against `shape`, which only the signature of the " +
        'model behind the URL decides (and no document can, for every model): those are 400',
    },
    {
      pathRegex: '/ready$',
      check: 'positive_data_acceptance',
      expectedStatuses: ['2xx', '400', '401', '403', '404', '409', '429', '5xx'],
      why:
        'the Open Inference protocol answers "not ready" with a 4xx (KServe required_api.md); ' +
        'MLflow and Triton use 400: any valid model name that is not loaded is a 400',
    },
    {
      pathRegex: '/v2/repository/models/[^/]+/unload$',
      check: 'positive_data_acceptance',
      expectedStatuses: ['2xx', '400', '401', '403', '404', '409', '429', '5xx'],
      why:
        'a model listed in MODELS cannot be unloaded (readiness depends on it), a 409: the ' +
        "fuzzer's models are all in MODELS, so every unload of one is refused and the other " +
        'operations keep their models',
    },
    {
      pathRegex: '/v1/training/runs$',
      check: 'positive_data_acceptance',
      expectedStatuses: ['2xx', '400', '401', '403', '404', '409', '429', '5xx'],
      why:
        "which `conf` keys a DAG takes is the operator's allow-list (TRAINING_CONF_KEYS), set " +
        'per deployment and per DAG: a conf the document allows can still name a key this DAG ' +
        'does not take, a 400 naming it',
    },
  ];

/**
 * schemathesis's configuration: credentials, and the names of the models the
 * server has (half the path parameters are drawn from them, half generated),
 * so that fuzzed bodies reach real models rather than 404.
 */
function configToml(models: string[], versions: string[]): string {
  const lines = [
    '# Written by test/openapi-fuzz.e2e-spec.ts',
    `headers = { Authorization = "Bearer ${API_KEY}" }`,
    '',
    '# One credential a request, as clients send it: not also a generated X-API-Key.',
    '[generation]',
    'with-security-parameters = false',
    '',
    '[dictionaries.models]',
    `values = ${JSON.stringify(models)}`,
    '[dictionaries.versions]',
    `values = ${JSON.stringify(versions)}`,
    '',
    '[parameters]',
    '"path.name" = { dictionary = "models", probability = 0.5 }',
    '"path.ref" = { dictionary = "models", probability = 0.5 }',
    '"path.version" = { dictionary = "versions", probability = 0.5 }',
    '',
    '[[operations]]',
    'include-path = "/v1/hooks/airflow"',
    `headers = { Authorization = "Bearer ${CALLBACK_TOKEN}" }`,
  ];
  for (const exception of EXCEPTIONS) {
    lines.push(
      '',
      `# ${exception.why}`,
      '[[operations]]',
      `include-path-regex = '${exception.pathRegex}'`,
      `checks.${exception.check}.expected-statuses = ${JSON.stringify(exception.expectedStatuses)}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

interface JsonReport {
  schemathesis_version: string;
  exit_code: number;
  test_cases: { generated: number; with_failures: number; unique_failures: number };
  errors: unknown[];
}

describe('schemathesis over the whole OpenAPI document', () => {
  const suffix = Date.now();
  const COLUMNS_MODEL = `fuzz-columns-${suffix}`;
  const TENSOR_MODEL = `fuzz-tensor-${suffix}`;
  let server: RunningServer;
  let work: string;
  let schemathesis: string;
  let versions: string[];
  /** What the server logged as errors, distinct, for the failure message (not the console: thousands of 404s). */
  const serverErrors = new Set<string>();
  const serverLog: LoggerService = {
    log: () => undefined,
    warn: () => undefined,
    error: (message: unknown) => {
      if (serverErrors.size < 50) serverErrors.add(String(message).split('\n')[0]);
    },
  };

  beforeAll(async () => {
    const stack = sharedStack();
    const setup = run('bash', [path.join(ROOT, 'scripts/python-env.sh'), 'fuzz'], { cwd: ROOT });
    const columns = await registerDemoModel(stack.mlflowUrl, {
      name: COLUMNS_MODEL,
      alias: 'champion',
    });
    const tensor = await registerDemoModel(stack.mlflowUrl, {
      name: TENSOR_MODEL,
      signature: 'tensor',
      alias: 'champion',
    });
    versions = [...new Set([columns.version, tensor.version])];
    schemathesis = path.join(path.dirname((await setup).stdout.trim()), 'schemathesis');
    work = await mkdtemp(path.join(tmpdir(), 'mg-fuzz-'));
    server = await startServer(
      {
        ...stackEnv(stack),
        MODELS: `models:/${COLUMNS_MODEL}@champion,models:/${TENSOR_MODEL}@champion`,
        MODEL_CACHE_DIR: path.join(work, 'cache'),
        MODEL_REFRESH_INTERVAL: '0',
        API_CALLBACK_TOKEN: CALLBACK_TOKEN,
        MLFLOW_WEBHOOK_SECRET: WEBHOOK_SECRET,
        // Fuzzed training requests must never start a real DAG run in the shared
        // Airflow (each trains and registers a model): the default DAG is one
        // that does not exist, answered 404, and the document names no real DAG
        // in any example (schemathesis draws values from every string constant
        // in the document), so a generated dagId is the real one only by chance.
        TRAINING_DAG_ID: `fuzz-no-such-dag-${suffix}`,
        TRAINING_UNPAUSE_DAG: 'false',
      },
      { logger: serverLog },
    );
    await waitFor(
      () => request(`${server.url}/ping`),
      (r) => r.status === 200,
      120_000,
    );
  });

  afterAll(async () => {
    await server?.app.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it(
    'finds no failure of any check, on loopback, within bounds',
    async () => {
      expect(new URL(server.url).hostname).toBe('127.0.0.1');
      const served = await request(`${server.url}/docs/openapi.json`);
      expect(served.text).not.toContain(REAL_DAG);
      const config = path.join(work, 'schemathesis.toml');
      const report = path.join(work, 'report.json');
      await writeFile(config, configToml([COLUMNS_MODEL, TENSOR_MODEL], versions));
      const args = [
        '--config-file',
        config,
        '--no-color',
        'run',
        `${server.url}/docs/openapi.json`,
        '--checks',
        'all',
        '--max-examples',
        String(MAX_EXAMPLES),
        '--seed',
        String(SEED),
        '--generation-database',
        'none',
        '--request-timeout',
        '30',
        '--report',
        'json',
        '--report-json-path',
        report,
      ];
      const outcome = await run(schemathesis, args, {
        cwd: work,
        timeout: RUN_TIMEOUT_MS,
        maxBuffer: 64 * 1024 * 1024,
      }).then(
        ({ stdout }) => ({ code: 0, output: stdout }),
        (error: { code?: number; stdout?: string; stderr?: string }) => ({
          code: error.code ?? -1,
          output: `${error.stdout ?? ''}${error.stderr ?? ''}`,
        }),
      );
      const json = JSON.parse(await readFile(report, 'utf8')) as JsonReport;
      await mkdir(path.dirname(FIGURES), { recursive: true });
      await writeFile(
        FIGURES,
        `${JSON.stringify(
          {
            schemathesis: json.schemathesis_version,
            seed: SEED,
            maxExamples: MAX_EXAMPLES,
            cases: json.test_cases.generated,
            casesWithFailures: json.test_cases.with_failures,
            failures: json.test_cases.unique_failures,
            errors: json.errors.length,
            exitCode: outcome.code,
          },
          null,
          2,
        )}\n`,
      );

      if (outcome.code !== 0) {
        throw new Error(
          `schemathesis found failures:\n${outcome.output}\n` +
            `server errors logged (first ${serverErrors.size} distinct):\n${[...serverErrors].join('\n')}`,
        );
      }
      expect(json.test_cases.generated).toBeGreaterThan(0);
      expect(json.test_cases.unique_failures).toBe(0);
    },
    RUN_TIMEOUT_MS + 60_000,
  );
});
