/**
 * An Open Inference infer body in the binary tensor data extension (Triton
 * `docs/protocol/extension_binary_data.md`): a JSON header of
 * `Inference-Header-Content-Length` bytes, then raw tensor bytes. The body
 * parser only recognises the form; the route's codec checks the framing
 * (inference/codecs/binary-tensor.codec.ts), where its errors have a status.
 */
export class BinaryTensorBody {
  constructor(
    /** The whole body, header and tensors. */
    readonly bytes: Buffer,
    /** The header's value as sent, unchecked. */
    readonly headerLength: string,
  ) {}
}

/** The header naming the JSON header's length, lower-cased as Node gives headers. */
export const INFERENCE_HEADER_CONTENT_LENGTH = 'inference-header-content-length';
