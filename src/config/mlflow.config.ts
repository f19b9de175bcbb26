import { ConfigType, registerAs } from '@nestjs/config';
import {
  IsBoolean,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  IsUrl,
  Max,
  Min,
  ValidateIf,
} from 'class-validator';
import { parseEnvironment } from './env.validation';
import { ToBoolean, ToNumber } from './env.transforms';
import { splitUrlCredentials } from './url.util';

const HTTP_URL = { require_tld: false, require_protocol: true, protocols: ['http', 'https'] };

/**
 * MLflow's own client variable names, so an existing MLflow setup carries over.
 * The timeout and retry defaults are lower than MLflow's (120 s, 7 retries):
 * a server answering requests should fail fast and report, not hang.
 */
export class MlflowEnvironment {
  @IsUrl(HTTP_URL, {
    message: 'MLFLOW_TRACKING_URI must be an http(s) URL such as http://mlflow:5000',
  })
  MLFLOW_TRACKING_URI!: string;

  @IsOptional()
  @IsString()
  MLFLOW_TRACKING_TOKEN?: string;

  @ValidateIf((env: MlflowEnvironment) => env.MLFLOW_TRACKING_PASSWORD !== undefined)
  @IsString({ message: 'MLFLOW_TRACKING_USERNAME must be set when MLFLOW_TRACKING_PASSWORD is' })
  MLFLOW_TRACKING_USERNAME?: string;

  @ValidateIf((env: MlflowEnvironment) => env.MLFLOW_TRACKING_USERNAME !== undefined)
  @IsString({ message: 'MLFLOW_TRACKING_PASSWORD must be set when MLFLOW_TRACKING_USERNAME is' })
  MLFLOW_TRACKING_PASSWORD?: string;

  @ToBoolean()
  @IsBoolean()
  MLFLOW_TRACKING_INSECURE_TLS = false;

  /** Seconds, as in MLflow's client. */
  @ToNumber()
  @IsNumber({}, { message: 'MLFLOW_HTTP_REQUEST_TIMEOUT must be a number of seconds' })
  @Min(0.1)
  MLFLOW_HTTP_REQUEST_TIMEOUT = 10;

  @ToNumber()
  @IsInt()
  @Min(0)
  @Max(20)
  MLFLOW_HTTP_REQUEST_MAX_RETRIES = 3;

  /** Seconds for one artifact file to download. */
  @ToNumber()
  @IsNumber({}, { message: 'MLFLOW_ARTIFACT_DOWNLOAD_TIMEOUT must be a number of seconds' })
  @Min(1)
  MLFLOW_ARTIFACT_DOWNLOAD_TIMEOUT = 300;
}

export const mlflowConfig = registerAs('mlflow', () => {
  const env = parseEnvironment(MlflowEnvironment, process.env);
  const { url, username, password } = splitUrlCredentials(env.MLFLOW_TRACKING_URI);
  return {
    trackingUri: url,
    token: env.MLFLOW_TRACKING_TOKEN,
    username: env.MLFLOW_TRACKING_USERNAME ?? username,
    password: env.MLFLOW_TRACKING_PASSWORD ?? password,
    insecureTls: env.MLFLOW_TRACKING_INSECURE_TLS,
    timeoutMs: Math.round(env.MLFLOW_HTTP_REQUEST_TIMEOUT * 1000),
    maxRetries: env.MLFLOW_HTTP_REQUEST_MAX_RETRIES,
    artifactDownloadTimeoutMs: Math.round(env.MLFLOW_ARTIFACT_DOWNLOAD_TIMEOUT * 1000),
  };
});

export type MlflowConfig = ConfigType<typeof mlflowConfig>;
