import { ConfigType, registerAs } from '@nestjs/config';
import { IsBoolean, IsIn, IsNumber, Max, Min } from 'class-validator';
import { Environment, parseEnvironment } from './env.validation';
import { ToBoolean, ToNumber } from './env.transforms';
import { LOG_LEVELS, ServerEnvironment } from './server.config';

export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** How log lines are written; LOG_LEVEL (which lines) belongs to the server namespace. */
export class LoggingEnvironment {
  /** json: one JSON object per line, for log shippers; pretty: for a terminal. */
  @IsIn(LOG_FORMATS, { message: 'LOG_FORMAT must be json or pretty' })
  LOG_FORMAT: LogFormat = 'json';

  /** Add request bodies (cut to a few KB) to the request log lines. Off: bodies may hold personal data. */
  @ToBoolean()
  @IsBoolean()
  LOG_REQUEST_BODIES = false;

  /**
   * Share of the answers below 400 that get an access log line (0…1; 1: every
   * one). 4xx and 5xx answers are always logged. Under heavy prediction
   * traffic the line costs a share of each request's CPU (bench/profile.sh);
   * metrics count every request whatever this says.
   */
  @ToNumber()
  @IsNumber({}, { message: 'LOG_ACCESS_SAMPLE must be a number from 0 to 1' })
  @Min(0, { message: 'LOG_ACCESS_SAMPLE must be a number from 0 to 1' })
  @Max(1, { message: 'LOG_ACCESS_SAMPLE must be a number from 0 to 1' })
  LOG_ACCESS_SAMPLE = 1;
}

export const loggingConfig = registerAs('logging', () => {
  const env = parseEnvironment(LoggingEnvironment, process.env);
  return {
    format: env.LOG_FORMAT,
    requestBodies: env.LOG_REQUEST_BODIES,
    accessSample: env.LOG_ACCESS_SAMPLE,
  };
});

export type LoggingConfig = ConfigType<typeof loggingConfig>;

/**
 * The logger's settings from an environment, for main.ts: the logger exists
 * before Nest and its ConfigModule do.
 */
export function readLoggerSettings(env: Environment): {
  format: LogFormat;
  level: (typeof LOG_LEVELS)[number];
  requestBodies: boolean;
} {
  const logging = parseEnvironment(LoggingEnvironment, env);
  const server = parseEnvironment(ServerEnvironment, env);
  return {
    format: logging.LOG_FORMAT,
    level: server.LOG_LEVEL,
    requestBodies: logging.LOG_REQUEST_BODIES,
  };
}
