import { registerAs } from '@nestjs/config';
import {
  IsBoolean,
  IsIn,
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
 * The deployment guide's names (AIRFLOW_BASE_URL, AIRFLOW_USERNAME,
 * AIRFLOW_PASSWORD). Airflow is optional: serving needs none, so an instance
 * without the URL or without credentials starts, and only training is
 * unavailable. Half a pair of credentials is a mistake and is refused.
 */
export class AirflowEnvironment {
  @IsOptional()
  @IsUrl(HTTP_URL, {
    message: 'AIRFLOW_BASE_URL must be an http(s) URL such as http://airflow:8080',
  })
  AIRFLOW_BASE_URL?: string;

  @ValidateIf((env: AirflowEnvironment) => env.AIRFLOW_PASSWORD !== undefined)
  @IsString({ message: 'AIRFLOW_USERNAME must be set when AIRFLOW_PASSWORD is' })
  AIRFLOW_USERNAME?: string;

  @ValidateIf((env: AirflowEnvironment) => env.AIRFLOW_USERNAME !== undefined)
  @IsString({
    message: 'AIRFLOW_PASSWORD must be set when AIRFLOW_USERNAME is (the REST API needs both)',
  })
  AIRFLOW_PASSWORD?: string;

  /** 1 = Airflow 2 (/api/v1, basic auth); 2 = Airflow 3 (/api/v2, token). Unset: detected. */
  @IsOptional()
  @IsIn(['1', '2'], { message: 'AIRFLOW_API_VERSION must be 1 (Airflow 2) or 2 (Airflow 3)' })
  AIRFLOW_API_VERSION?: '1' | '2';

  /** Where people open Airflow's UI, for links in our answers; defaults to AIRFLOW_BASE_URL. */
  @IsOptional()
  @IsUrl(HTTP_URL, { message: 'AIRFLOW_PUBLIC_URL must be an http(s) URL' })
  AIRFLOW_PUBLIC_URL?: string;

  @ToBoolean()
  @IsBoolean()
  AIRFLOW_INSECURE_TLS = false;

  @ToNumber()
  @IsNumber({}, { message: 'AIRFLOW_HTTP_REQUEST_TIMEOUT must be a number of seconds' })
  @Min(0.1)
  AIRFLOW_HTTP_REQUEST_TIMEOUT = 10;

  @ToNumber()
  @IsInt()
  @Min(0)
  @Max(20)
  AIRFLOW_HTTP_REQUEST_MAX_RETRIES = 3;

  /** Renew an Airflow 3 token this many seconds before it expires. */
  @ToNumber()
  @IsInt()
  @Min(0)
  AIRFLOW_TOKEN_RENEW_MARGIN = 60;
}

/** How this instance reaches Airflow, when it is configured. */
export interface AirflowConnectionConfig {
  configured: true;
  baseUrl: string;
  publicUrl: string;
  username: string;
  password: string;
  apiVersion?: 1 | 2;
  insecureTls: boolean;
  timeoutMs: number;
  maxRetries: number;
  tokenRenewMarginMs: number;
}

/** Airflow is not configured: training is unavailable, and these variables would enable it. */
export interface AirflowNotConfigured {
  configured: false;
  missing: string[];
}

export type AirflowConfig = AirflowConnectionConfig | AirflowNotConfigured;

export const airflowConfig = registerAs('airflow', (): AirflowConfig => {
  const env = parseEnvironment(AirflowEnvironment, process.env);
  const missing = (['AIRFLOW_BASE_URL', 'AIRFLOW_USERNAME', 'AIRFLOW_PASSWORD'] as const).filter(
    (name) => env[name] === undefined,
  );
  if (
    !env.AIRFLOW_BASE_URL ||
    env.AIRFLOW_USERNAME === undefined ||
    env.AIRFLOW_PASSWORD === undefined
  ) {
    return { configured: false, missing };
  }
  const { url } = splitUrlCredentials(env.AIRFLOW_BASE_URL);
  return {
    configured: true,
    baseUrl: url,
    publicUrl: env.AIRFLOW_PUBLIC_URL ? splitUrlCredentials(env.AIRFLOW_PUBLIC_URL).url : url,
    username: env.AIRFLOW_USERNAME,
    password: env.AIRFLOW_PASSWORD,
    apiVersion: env.AIRFLOW_API_VERSION ? (Number(env.AIRFLOW_API_VERSION) as 1 | 2) : undefined,
    insecureTls: env.AIRFLOW_INSECURE_TLS,
    timeoutMs: Math.round(env.AIRFLOW_HTTP_REQUEST_TIMEOUT * 1000),
    maxRetries: env.AIRFLOW_HTTP_REQUEST_MAX_RETRIES,
    tokenRenewMarginMs: env.AIRFLOW_TOKEN_RENEW_MARGIN * 1000,
  };
});
