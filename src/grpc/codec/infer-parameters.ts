import { ParameterMap, InferParameterMessage } from '../open-inference.messages';

/**
 * `InferParameter`s as plain values, the form REST's JSON `parameters` take
 * (InferRequest.parameters): bool, string and double as they are, 64-bit
 * integers as numbers when exact, else as decimal strings. Undefined when
 * there are none.
 */
export function readParameters(map: ParameterMap | undefined): Record<string, unknown> | undefined {
  const entries = Object.entries(map ?? {});
  if (entries.length === 0) return undefined;
  const parameters: Record<string, unknown> = {};
  for (const [key, parameter] of entries) parameters[key] = parameterValue(parameter);
  return parameters;
}

function parameterValue(parameter: InferParameterMessage): unknown {
  switch (parameter.parameter_choice) {
    case 'bool_param':
      return parameter.bool_param;
    case 'string_param':
      return parameter.string_param;
    case 'double_param':
      return parameter.double_param;
    case 'int64_param':
    case 'uint64_param': {
      const text = String(parameter[parameter.parameter_choice]);
      const n = Number(text);
      return Number.isSafeInteger(n) ? n : text;
    }
    default:
      // No choice set: an empty InferParameter, as protobuf allows.
      return null;
  }
}
