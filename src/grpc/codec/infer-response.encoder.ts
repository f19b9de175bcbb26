import { InferenceResult } from '../../inference/inference.types';
import { ModelInferResponseMessage } from '../open-inference.messages';
import { writeRawTensor } from './raw-tensor.codec';
import { writeContents } from './tensor-contents.codec';

/**
 * The ModelInferResponse for a result: outputs as the inference service
 * chose them (those asked for, in the order asked), `id` echoed. Values go in
 * raw_output_contents when the request sent raw inputs, or when an output has
 * no typed field (FP16); in typed contents otherwise. Never both: clients
 * read one or the other for every output.
 */
export function encodeModelInferResponse(
  result: InferenceResult,
  options: { id: string; raw: boolean },
): ModelInferResponseMessage {
  const raw = options.raw || result.outputs.some((t) => t.datatype === 'FP16');
  return {
    model_name: result.modelName,
    model_version: result.modelVersion,
    id: options.id,
    outputs: result.outputs.map((tensor) => ({
      name: tensor.name,
      datatype: tensor.datatype,
      shape: [...tensor.shape],
      ...(raw ? {} : { contents: writeContents(tensor) }),
    })),
    raw_output_contents: raw ? result.outputs.map(writeRawTensor) : [],
  };
}
