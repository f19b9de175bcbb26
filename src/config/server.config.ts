import { ConfigType, registerAs } from '@nestjs/config';
import { IsIn, IsInt, IsString, Max, Min } from 'class-validator';
import { parseEnvironment } from './env.validation';
import { ToNumber } from './env.transforms';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'] as const;

export class ServerEnvironment {
  @IsString()
  API_HOST = '0.0.0.0';

  @ToNumber()
  @IsInt()
  @Min(1)
  @Max(65535)
  API_PORT = 8000;

  @IsIn(LOG_LEVELS)
  LOG_LEVEL: (typeof LOG_LEVELS)[number] = 'log';
}

export const serverConfig = registerAs('server', () => {
  const env = parseEnvironment(ServerEnvironment, process.env);
  return { host: env.API_HOST, port: env.API_PORT, logLevel: env.LOG_LEVEL };
});

export type ServerConfig = ConfigType<typeof serverConfig>;
