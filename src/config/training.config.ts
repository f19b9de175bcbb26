import { ConfigType, registerAs } from '@nestjs/config';
import {
  IsBoolean,
  IsInt,
  IsOptional,
  IsUrl,
  Max,
  Min,
  IsString,
  Matches,
  MinLength,
} from 'class-validator';
import { parseEnvironment } from './env.validation';
import { ParsesWith } from './parses-with';
import { ToBoolean, ToNumber } from './env.transforms';

const DAG_ID = /^[\w.-]+$/;
const CONF_KEY = /^[\w.-]+$/;

/** The JSON types a conf value may be declared as (the names of JSON Schema, as Airflow's Params use). */
export const CONF_VALUE_TYPES = [
  'string',
  'number',
  'integer',
  'boolean',
  'object',
  'array',
] as const;
export type ConfValueType = (typeof CONF_VALUE_TYPES)[number];

/** Per DAG: the conf keys a caller may send, each with its type (undefined: any JSON value). */
export type ConfKeyRules = ReadonlyMap<string, ReadonlyMap<string, ConfValueType | undefined>>;

/**
 * The conf keys of the shipped DAG, typed as its Params declare them
 * (airflow/dags/retrain_dag.py): in force unless TRAINING_CONF_KEYS names
 * `modelgate_retrain` itself.
 */
export const RETRAIN_DAG_CONF_KEYS =
  'modelgate_retrain:model_name=string,alias=string,C=number,max_iter=integer,metric=string,force=boolean,experiment=string,flavor=string';

/** `a,b,c` → DAG ids; throws naming the rule (never the value) on a bad list. */
export function parseDagList(text: string): string[] {
  const dags = text.split(',').map((dag) => dag.trim());
  dags.forEach((dag, n) => {
    if (!DAG_ID.test(dag)) {
      throw new Error(`entry ${n + 1} is not a DAG id (letters, digits, "_", "-", ".")`);
    }
  });
  return [...new Set(dags)];
}

/**
 * `dag:key[=type],key2;dag2:key3` → the allowed conf keys per DAG. `dag:` (no
 * keys) allows no conf at all. Throws naming the entry and the rule broken.
 */
export function parseConfKeys(text: string): Map<string, Map<string, ConfValueType | undefined>> {
  const rules = new Map<string, Map<string, ConfValueType | undefined>>();
  const entries = text
    .split(';')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  entries.forEach((entry, n) => {
    const where = `entry ${n + 1}`;
    const colon = entry.indexOf(':');
    if (colon < 0) throw new Error(`${where} must read dag_id:key1,key2`);
    const dag = entry.slice(0, colon).trim();
    if (!DAG_ID.test(dag)) throw new Error(`${where} does not start with a DAG id`);
    if (rules.has(dag)) throw new Error(`${where} names a DAG a previous entry already named`);
    const keys = new Map<string, ConfValueType | undefined>();
    const list = entry.slice(colon + 1).trim();
    for (const item of list === '' ? [] : list.split(',')) {
      const [key, type, ...rest] = item.split('=').map((part) => part.trim());
      if (!CONF_KEY.test(key) || rest.length > 0) {
        throw new Error(`${where}: a conf key is letters, digits, "_", "-", "." (then =type)`);
      }
      if (type !== undefined && !(CONF_VALUE_TYPES as readonly string[]).includes(type)) {
        throw new Error(`${where}: a key's type is one of ${CONF_VALUE_TYPES.join(', ')}`);
      }
      keys.set(key, type as ConfValueType | undefined);
    }
    rules.set(dag, keys);
  });
  return rules;
}

function allowedDags(env: TrainingEnvironment): string[] {
  return env.TRAINING_DAGS ? parseDagList(env.TRAINING_DAGS) : [env.TRAINING_DAG_ID];
}

export class TrainingEnvironment {
  /** The DAG `POST /v1/training/runs` triggers when the request names none. */
  @Matches(DAG_ID, {
    message: 'TRAINING_DAG_ID must be a DAG id (letters, digits, "_", "-", ".")',
  })
  TRAINING_DAG_ID = 'modelgate_retrain';

  /**
   * The only DAGs callers may trigger or read (comma-separated); unset: just
   * TRAINING_DAG_ID. Any other DAG id is answered 404, and never unpaused.
   */
  @IsOptional()
  @ParsesWith<TrainingEnvironment>((value, env) => {
    if (!parseDagList(value).includes(env.TRAINING_DAG_ID)) {
      throw new Error('must list TRAINING_DAG_ID (the DAG a request without dagId runs)');
    }
  })
  TRAINING_DAGS?: string;

  /**
   * The conf keys callers may send, per DAG: `dag_id:key[=type],…;dag2:…`.
   * Each entry replaces the built-in one for its DAG (RETRAIN_DAG_CONF_KEYS);
   * a listed DAG with no entry takes no conf.
   */
  @IsOptional()
  @ParsesWith<TrainingEnvironment>((value, env) => {
    const dags = allowedDags(env);
    for (const dag of parseConfKeys(value).keys()) {
      if (!dags.includes(dag)) throw new Error('names a DAG that TRAINING_DAGS does not list');
    }
  })
  TRAINING_CONF_KEYS?: string;

  /** New DAGs start paused in Airflow; unpause before triggering so the run starts. */
  @ToBoolean()
  @IsBoolean()
  TRAINING_UNPAUSE_DAG = true;

  /**
   * Shared secret the Airflow DAG sends back (`Authorization: Bearer …`) on
   * `POST /v1/hooks/airflow`; separate from any client key. Unset: the hook is off.
   */
  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'API_CALLBACK_TOKEN must be at least 16 characters' })
  API_CALLBACK_TOKEN?: string;

  /**
   * The secret MLflow signs registry webhooks with (`X-MLflow-Signature`) on
   * `POST /v1/hooks/mlflow`; the same value is given to MLflow when the
   * webhook is created (`npm run doctor -- --webhook create`). Unset: the
   * hook is off (503), never open.
   */
  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'MLFLOW_WEBHOOK_SECRET must be at least 16 characters' })
  MLFLOW_WEBHOOK_SECRET?: string;

  /**
   * How far `X-MLflow-Timestamp` may be from this server's clock, seconds;
   * older (or later) deliveries are refused as replays. 300 is the Standard
   * Webhooks default MLflow follows.
   */
  @ToNumber()
  @IsInt({ message: 'MLFLOW_WEBHOOK_TOLERANCE_SECONDS must be a whole number of seconds' })
  @Min(1)
  @Max(3600)
  MLFLOW_WEBHOOK_TOLERANCE_SECONDS = 300;

  /**
   * The URL callers (and MLflow) reach this service at, behind its balancer:
   * the doctor registers `<API_PUBLIC_URL>/v1/hooks/mlflow` as the webhook.
   */
  @IsOptional()
  @IsUrl(
    { require_tld: false, require_protocol: true, protocols: ['http', 'https'] },
    { message: 'API_PUBLIC_URL must be an http(s) URL such as https://api.example.com' },
  )
  API_PUBLIC_URL?: string;
}

export const trainingConfig = registerAs('training', () => {
  const env = parseEnvironment(TrainingEnvironment, process.env);
  const dags: readonly string[] = allowedDags(env);
  const confKeys: ConfKeyRules = new Map([
    ...parseConfKeys(RETRAIN_DAG_CONF_KEYS),
    ...parseConfKeys(env.TRAINING_CONF_KEYS ?? ''),
  ]);
  return {
    defaultDagId: env.TRAINING_DAG_ID,
    /** The DAGs callers may trigger and read; no other is ever unpaused. */
    dags,
    confKeys,
    unpauseDag: env.TRAINING_UNPAUSE_DAG,
    callbackToken: env.API_CALLBACK_TOKEN,
    mlflowWebhook: {
      secret: env.MLFLOW_WEBHOOK_SECRET,
      toleranceSeconds: env.MLFLOW_WEBHOOK_TOLERANCE_SECONDS,
      /** Where MLflow posts: `<API_PUBLIC_URL>/v1/hooks/mlflow`; undefined without API_PUBLIC_URL. */
      url: env.API_PUBLIC_URL && `${env.API_PUBLIC_URL.replace(/\/+$/, '')}/v1/hooks/mlflow`,
    },
  };
});

export type TrainingConfig = ConfigType<typeof trainingConfig>;
