import { parse as parseDotenv } from 'dotenv';
import { existsSync, readFileSync } from 'node:fs';
import { AirflowEnvironment } from './airflow.config';
import { AuthEnvironment } from './auth.config';
import { ClusterEnvironment } from './cluster.config';
import { ConfigValidationError, Environment, assertValidEnvironment } from './env.validation';
import { GrpcEnvironment } from './grpc.config';
import { HealthEnvironment } from './health.config';
import { LoggingEnvironment } from './logging.config';
import { LimitsEnvironment } from './limits.config';
import { MetricsEnvironment } from './metrics.config';
import { MlflowEnvironment } from './mlflow.config';
import { ModelsEnvironment } from './models.config';
import { PyfuncEnvironment } from './pyfunc.config';
import { RolloutEnvironment } from './rollout.config';
import { RollbackEnvironment } from './rollback.config';
import { ServerEnvironment } from './server.config';
import { ShutdownEnvironment } from './shutdown.config';
import { TrainingEnvironment } from './training.config';
import { TracingEnvironment } from './tracing.config';
import { UpstreamEnvironment } from './upstream.config';
import { WorkersEnvironment } from './workers.config';

/** Every namespace's environment class, validated together at start. */
export const ENVIRONMENT_CLASSES = [
  ServerEnvironment,
  LimitsEnvironment,
  UpstreamEnvironment,
  MlflowEnvironment,
  AirflowEnvironment,
  ModelsEnvironment,
  RolloutEnvironment,
  PyfuncEnvironment,
  TrainingEnvironment,
  HealthEnvironment,
  ShutdownEnvironment,
  LoggingEnvironment,
  MetricsEnvironment,
  ClusterEnvironment,
  AuthEnvironment,
  GrpcEnvironment,
  WorkersEnvironment,
  RollbackEnvironment,
  TracingEnvironment,
] as const;

/**
 * `.env` files, first match wins per variable: `deployment/.env` (where the
 * deployment guide puts it), then `./.env`. The process environment beats both.
 */
export const ENV_FILES = ['deployment/.env', '.env'];

/** The environment as the service will see it: files below the process environment. */
export function readEnvironment(processEnv: Environment = process.env): Environment {
  const fromFiles: Environment = {};
  for (const file of [...ENV_FILES].reverse()) {
    if (existsSync(file)) {
      Object.assign(fromFiles, parseDotenv(readFileSync(file)));
    }
  }
  return { ...fromFiles, ...processEnv };
}

/**
 * The environment, read once for the process and checked whole before
 * anything starts: the .env files are read here and nowhere else (Nest's
 * ConfigModule is told to ignore them), then laid into the process
 * environment below what it already has, so every namespace's factory sees
 * the same values. A bad environment ends the process with one readable
 * message (every bad variable, never a value) and `exitCode`, instead of a
 * stack trace.
 */
export function loadEnvironment(exitCode: number): Environment {
  const env = readEnvironment();
  try {
    assertValidEnvironment(ENVIRONMENT_CLASSES, env);
  } catch (error) {
    if (error instanceof ConfigValidationError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(exitCode);
    }
    throw error;
  }
  for (const [key, value] of Object.entries(env)) {
    if (process.env[key] === undefined && value !== undefined) process.env[key] = value;
  }
  return env;
}
