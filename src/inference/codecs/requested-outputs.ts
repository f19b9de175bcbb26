import { describeJsonKind as describe, isRecord } from '../../common/values';
import { InvalidInputError } from '../inference.error';

/**
 * What an Open Inference request says about its outputs beyond their names:
 * the binary tensor data extension's `binary_data` (per output) and
 * `binary_data_output` (per request), and the classification extension's
 * `classification` (Triton `docs/protocol/extension_binary_data.md`,
 * `extension_classification.md`). These keys are the protocol's own: they are
 * taken out here and never reach the model.
 */

/** One entry of `outputs`. */
export interface RequestedOutput {
  name: string;
  /** `parameters.binary_data`; absent means the request's default. */
  binary?: boolean;
  /** `parameters.classification`: answer the top k classes instead of the scores. */
  classification?: number;
}

/** Request-level `parameters`, with the extension's key taken out. */
export interface RequestParameters {
  /** The rest, for the model; undefined when nothing is left. */
  parameters?: Record<string, unknown>;
  /** `binary_data_output`: outputs not saying otherwise are answered in binary. */
  binaryOutput: boolean;
}

/** Decodes `outputs`: each an object with a name and optional extension parameters. */
export function decodeRequestedOutputs(raw: unknown): RequestedOutput[] {
  if (!Array.isArray(raw)) {
    throw new InvalidInputError(`outputs must be a list, got ${describe(raw)}`, 'outputs');
  }
  return raw.map((item: unknown, i) => {
    if (!isRecord(item) || typeof item.name !== 'string' || item.name === '') {
      throw new InvalidInputError(
        `outputs[${i}] must be an object with a name`,
        `outputs[${i}].name`,
      );
    }
    return decodeOutputParameters(item.name, item.parameters);
  });
}

/** Decodes request-level `parameters`, taking `binary_data_output` out. */
export function decodeRequestParameters(raw: unknown): RequestParameters {
  if (raw === undefined || raw === null) return { binaryOutput: false };
  if (!isRecord(raw)) {
    throw new InvalidInputError(`parameters must be an object, got ${describe(raw)}`, 'parameters');
  }
  const { binary_data_output: binary, ...rest } = raw;
  if (binary !== undefined && typeof binary !== 'boolean') {
    throw new InvalidInputError(
      `parameters.binary_data_output must be true or false, got ${describe(binary)}`,
      'parameters.binary_data_output',
    );
  }
  return {
    parameters: Object.keys(rest).length > 0 ? rest : undefined,
    binaryOutput: binary === true,
  };
}

function decodeOutputParameters(name: string, raw: unknown): RequestedOutput {
  const output: RequestedOutput = { name };
  if (raw === undefined || raw === null) return output;
  const label = `output '${name}'`;
  if (!isRecord(raw)) {
    throw new InvalidInputError(
      `${label}: parameters must be an object, got ${describe(raw)}`,
      name,
    );
  }
  const { binary_data: binary, classification } = raw;
  if (binary !== undefined) {
    if (typeof binary !== 'boolean') {
      throw new InvalidInputError(
        `${label}: parameters.binary_data must be true or false, got ${describe(binary)}`,
        name,
      );
    }
    output.binary = binary;
  }
  // tritonclient sends classification only when asked (class_count > 0); 0 means none.
  if (classification !== undefined && classification !== 0) {
    if (
      typeof classification !== 'number' ||
      !Number.isSafeInteger(classification) ||
      classification < 0
    ) {
      throw new InvalidInputError(
        `${label}: parameters.classification must be a whole number of classes ≥ 1, got ${JSON.stringify(classification)}`,
        name,
      );
    }
    output.classification = classification;
  }
  return output;
}
