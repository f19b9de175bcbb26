import type { FastifyReply } from 'fastify';
import { InferenceResult } from './inference.types';

/** Which registered version answered: neither protocol's body says so for every answer. */
export function setModelHeaders(reply: FastifyReply, result: InferenceResult): void {
  void reply
    .header('x-model-name', result.modelName)
    .header('x-model-version', result.modelVersion);
}
