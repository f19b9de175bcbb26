import { InvalidInputError } from '../../inference/inference.error';
import { DataType, Tensor } from '../../models/tensor.types';
import { InferTensorContentsMessage } from '../open-inference.messages';

type ContentsField = keyof InferTensorContentsMessage;

/**
 * Which `InferTensorContents` field holds a datatype's values (KServe's
 * grpc_predict_v2.proto). FP16 has no typed field in the protocol; requests
 * may send it as fp32_contents (the values are rounded to half precision),
 * and answers send it raw (see encodeInferResponse).
 */
export const CONTENTS_FIELD: Readonly<Record<DataType, ContentsField>> = {
  BOOL: 'bool_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  UINT8: 'uint_contents',
  UINT16: 'uint_contents',
  UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  FP16: 'fp32_contents',
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
};

const FIELDS = Object.keys({
  bool_contents: 0,
  int_contents: 0,
  int64_contents: 0,
  uint_contents: 0,
  uint64_contents: 0,
  fp32_contents: 0,
  fp64_contents: 0,
  bytes_contents: 0,
} satisfies Record<ContentsField, 0>) as ContentsField[];

/** Whether a contents message holds any value at all. */
export function hasContents(
  contents: Partial<InferTensorContentsMessage> | null | undefined,
): boolean {
  return contents != null && FIELDS.some((field) => (contents[field]?.length ?? 0) > 0);
}

/**
 * The values of one input's typed contents, from the field its datatype
 * names; values in any other field are refused (they would be silently
 * dropped otherwise). 64-bit integers stay exact (a BigInt beyond 2^53),
 * BYTES elements are read as UTF-8 strings.
 * @throws InvalidInputError naming the input.
 */
export function readContents(
  contents: Partial<InferTensorContentsMessage> | null | undefined,
  datatype: DataType,
  name: string,
): unknown[] {
  const field = CONTENTS_FIELD[datatype];
  const stray = FIELDS.find((f) => f !== field && (contents?.[f]?.length ?? 0) > 0);
  if (stray !== undefined) {
    throw new InvalidInputError(
      `input '${name}' is ${datatype}: its values belong in contents.${field}, got contents.${stray}`,
      name,
    );
  }
  const values = (contents?.[field] ?? []) as unknown[];
  if (field === 'int64_contents' || field === 'uint64_contents') return values.map(exactInteger);
  if (field === 'bytes_contents') return values.map((b) => (b as Buffer).toString('utf8'));
  return values;
}

/** An output's values in the field of its datatype (not FP16, which is sent raw). */
export function writeContents(tensor: Tensor): Partial<InferTensorContentsMessage> {
  const field = CONTENTS_FIELD[tensor.datatype];
  const data = tensor.data as ArrayLike<unknown>;
  switch (field) {
    case 'int64_contents':
    case 'uint64_contents':
      return { [field]: Array.from(data, (v) => String(v)) };
    case 'bool_contents':
      return { bool_contents: Array.from(data, (v) => Boolean(v)) };
    case 'bytes_contents':
      return { bytes_contents: Array.from(data, (v) => Buffer.from(String(v), 'utf8')) };
    default:
      return { [field]: Array.from(data, (v) => Number(v)) };
  }
}

/** A 64-bit integer as proto-loader gives it (a decimal string): a number when exact, else a BigInt. */
function exactInteger(value: unknown): number | bigint {
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : BigInt(value as string);
}
