import type { FastifyReply } from 'fastify';
import { OPEN_INFERENCE_ROUTE } from './protocol-routes';

/**
 * The error formats callers read. Nest's exception filters pick theirs per
 * controller; Fastify hooks that answer before any controller runs
 * (authentication, rate limits, body limits) pick it from the URL here, so a
 * refusal reads the same as any other error of that route.
 */
export type ErrorProtocol = 'mlflow' | 'open-inference' | 'api';

/** MLflow scoring routes: `/ping`, `/version`, `/invocations`, `/v1/models/{ref}/invocations`. */
const MLFLOW_ROUTE = /^\/(?:ping|version|invocations|v1\/models\/.+\/invocations)(?:[?#]|$)/;

export function errorProtocolOf(url: string): ErrorProtocol {
  if (OPEN_INFERENCE_ROUTE.test(url)) return 'open-inference';
  if (MLFLOW_ROUTE.test(url)) return 'mlflow';
  return 'api';
}

export interface ErrorBody {
  status: number;
  /** MLflow's error code (mlflow/protos/databricks.proto), e.g. `UNAUTHENTICATED`. */
  code: string;
  message: string;
}

/** The body of an error in the caller's protocol, as the exception filters write it. */
export function errorBodyFor(
  protocol: ErrorProtocol,
  { status, code, message }: ErrorBody,
): object {
  switch (protocol) {
    case 'mlflow':
      return { error_code: code, message };
    case 'open-inference':
      return { error: message };
    case 'api':
      return { statusCode: status, error: code, message };
  }
}

/**
 * The Content-Type of an error body. Open Inference errors say plain
 * `application/json`, as Triton does: KServe's REST client shows the
 * `error` message only under exactly that type.
 */
export function errorContentType(protocol: ErrorProtocol): string {
  return protocol === 'open-inference' ? 'application/json' : 'application/json; charset=utf-8';
}

/** Answers an error from a Fastify hook, in the format of the route the URL names. */
export function sendErrorReply(reply: FastifyReply, url: string, error: ErrorBody): FastifyReply {
  const protocol = errorProtocolOf(url);
  return reply
    .status(error.status)
    .type(errorContentType(protocol))
    .send(errorBodyFor(protocol, error));
}
