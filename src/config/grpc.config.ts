import { ConfigType, registerAs } from '@nestjs/config';
import {
  IsBoolean,
  IsInt,
  IsOptional,
  IsString,
  Max,
  Min,
  ValidateBy,
  ValidateIf,
} from 'class-validator';
import { existsSync } from 'node:fs';
import { parseEnvironment } from './env.validation';
import { ToBoolean, ToNumber } from './env.transforms';
import { ServerEnvironment } from './server.config';

/** A path that names an existing file, checked at start so a typo fails there, not at bind. */
const IsExistingFile = (variable: string): PropertyDecorator =>
  ValidateBy({
    name: 'isExistingFile',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && existsSync(value),
      defaultMessage: () => `${variable} must name a readable file`,
    },
  });

/**
 * The Open Inference gRPC listener (src/grpc/). Triton's port, 8001, by
 * default, so its clients' defaults reach us. TLS when a certificate and key
 * are given (both or neither); a client CA on top asks for client
 * certificates (mutual TLS).
 */
export class GrpcEnvironment {
  @ToBoolean()
  @IsBoolean()
  API_GRPC_ENABLED = true;

  /** 0 lets the system choose (tests); the bound port is logged and in /health/topology. */
  @ToNumber()
  @IsInt()
  @Min(0)
  @Max(65535)
  API_GRPC_PORT = 8001;

  /** Defaults to API_HOST. */
  @IsOptional()
  @IsString()
  API_GRPC_HOST?: string;

  @ValidateIf((env: GrpcEnvironment) => env.API_GRPC_TLS_KEY !== undefined)
  @IsString({ message: 'API_GRPC_TLS_CERT must be set when API_GRPC_TLS_KEY is' })
  @IsExistingFile('API_GRPC_TLS_CERT')
  API_GRPC_TLS_CERT?: string;

  @ValidateIf((env: GrpcEnvironment) => env.API_GRPC_TLS_CERT !== undefined)
  @IsString({ message: 'API_GRPC_TLS_KEY must be set when API_GRPC_TLS_CERT is' })
  @IsExistingFile('API_GRPC_TLS_KEY')
  API_GRPC_TLS_KEY?: string;

  /** CA bundle that client certificates must chain to; needs API_GRPC_TLS_CERT and _KEY. */
  @ValidateIf((env: GrpcEnvironment) => env.API_GRPC_TLS_CLIENT_CA !== undefined)
  @IsString()
  @IsExistingFile('API_GRPC_TLS_CLIENT_CA')
  @ValidateBy({
    name: 'needsServerTls',
    validator: {
      validate: (_value: unknown, args) =>
        (args?.object as GrpcEnvironment).API_GRPC_TLS_CERT !== undefined,
      defaultMessage: () => 'API_GRPC_TLS_CLIENT_CA needs API_GRPC_TLS_CERT and API_GRPC_TLS_KEY',
    },
  })
  API_GRPC_TLS_CLIENT_CA?: string;
}

export interface GrpcTlsFiles {
  certFile: string;
  keyFile: string;
  /** Client certificates are required and checked against it. */
  clientCaFile?: string;
}

export const grpcConfig = registerAs('grpc', () => {
  const env = parseEnvironment(GrpcEnvironment, process.env);
  const server = parseEnvironment(ServerEnvironment, process.env);
  const tls: GrpcTlsFiles | undefined =
    env.API_GRPC_TLS_CERT !== undefined && env.API_GRPC_TLS_KEY !== undefined
      ? {
          certFile: env.API_GRPC_TLS_CERT,
          keyFile: env.API_GRPC_TLS_KEY,
          clientCaFile: env.API_GRPC_TLS_CLIENT_CA,
        }
      : undefined;
  return {
    enabled: env.API_GRPC_ENABLED,
    host: env.API_GRPC_HOST ?? server.API_HOST,
    port: env.API_GRPC_PORT,
    tls,
  };
});

export type GrpcConfig = ConfigType<typeof grpcConfig>;
