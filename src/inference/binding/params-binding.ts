import { ModelSignature } from '../../models/model-signature.types';

/**
 * A request's inference params as the model receives them: every param of
 * the signature's params schema, the request's value or the schema's default.
 * Params the schema does not declare are dropped, and a model without a
 * params schema gets none, as MLflow does (it only warns). Types are the
 * runtime's to enforce (MLflow's own `_enforce_params_schema` for pyfunc).
 */
export function bindParams(
  requested: Readonly<Record<string, unknown>> | undefined,
  signature: ModelSignature | undefined,
): Record<string, unknown> | undefined {
  const schema = signature?.params ?? [];
  if (schema.length === 0) return undefined;
  return Object.fromEntries(
    schema.map((param) => [
      param.name,
      requested && Object.hasOwn(requested, param.name) ? requested[param.name] : param.default,
    ]),
  );
}
