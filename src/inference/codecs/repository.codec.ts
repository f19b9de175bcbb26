import { describeJsonKind as describe, isRecord } from '../../common/values';
import { InvalidInputError } from '../inference.error';

/**
 * The bodies of the model repository extension (Triton's
 * `extension_model_repository.md`, MLServer's `/v2/repository`): each is
 * optional (tritonclient posts an empty index body), else a JSON object;
 * unknown keys are ignored, as the protocol's peers ignore them.
 */

export interface IndexRequest {
  /** Only the models that can answer now. */
  ready?: boolean;
}

/** `POST /v2/repository/index`: `{"ready": bool}`, or nothing. */
export function decodeIndexRequest(body: unknown): IndexRequest {
  const request = objectOf(body);
  const { ready } = request;
  if (ready === undefined || ready === null) return {};
  if (typeof ready !== 'boolean') {
    throw new InvalidInputError(`'ready' must be a boolean, got ${describe(ready)}`, 'ready');
  }
  return { ready };
}

/**
 * `POST /v2/repository/models/{name}/load`: `{"parameters": {...}}`, or
 * nothing. A `config` parameter (Triton's model configuration override, with
 * its `file:` contents) is refused: versions come from the MLflow registry as
 * they are.
 */
export function decodeLoadRequest(body: unknown): void {
  const parameters = parametersOf(objectOf(body));
  if (parameters.config !== undefined) {
    throw new InvalidInputError(
      "'parameters.config' is not supported: models are loaded from the MLflow registry as registered",
      'parameters.config',
    );
  }
}

/** `POST /v2/repository/models/{name}/unload`: `{"parameters": {"unload_dependents": bool}}`, or nothing (no model here has dependents). */
export function decodeUnloadRequest(body: unknown): void {
  const dependents = parametersOf(objectOf(body)).unload_dependents;
  if (dependents !== undefined && dependents !== null && typeof dependents !== 'boolean') {
    throw new InvalidInputError(
      `'parameters.unload_dependents' must be a boolean, got ${describe(dependents)}`,
      'parameters.unload_dependents',
    );
  }
}

function objectOf(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null || body === '') return {};
  if (!isRecord(body)) {
    throw new InvalidInputError(`the request body must be a JSON object, got ${describe(body)}`);
  }
  return body;
}

function parametersOf(request: Record<string, unknown>): Record<string, unknown> {
  const { parameters } = request;
  if (parameters === undefined || parameters === null) return {};
  if (!isRecord(parameters)) {
    throw new InvalidInputError(
      `'parameters' must be an object, got ${describe(parameters)}`,
      'parameters',
    );
  }
  return parameters;
}
