/**
 * The HTTP request bodies bench/load.ts sends, one per body form, and the
 * check of one answer to each (a 200 that answers every row, else why not):
 *
 *   mlflow     MLflow scoring, `dataframe_split` (POST /invocations)
 *   oi-json    Open Inference REST, JSON tensors (POST /v2/models/NAME/infer)
 *   oi-binary  Open Inference REST with the binary tensor data extension:
 *              a JSON header of `Inference-Header-Content-Length` bytes, then
 *              the FP32 input; outputs asked for in binary too
 */
import { Dataset, fp32Bytes, takeRows } from './dataset';

export const BODY_FORMS = ['mlflow', 'oi-json', 'oi-binary'] as const;
export type BodyForm = (typeof BODY_FORMS)[number];

export interface HttpRequest {
  body: string | Buffer;
  headers: Record<string, string>;
}

export interface HttpAnswer {
  status: number;
  headers: Headers;
  body: Buffer;
}

/** Null when the answer is right for `rows` rows, else what is wrong with it. */
export type AnswerCheck = (answer: HttpAnswer) => string | null;

export const HEADER_LENGTH = 'inference-header-content-length';

export function httpRequest(
  form: BodyForm,
  dataset: Dataset,
  rows: number,
  inputName: string,
): HttpRequest {
  const data = takeRows(dataset, rows);
  const shape = [rows, dataset.columns.length];
  switch (form) {
    case 'mlflow':
      return {
        body: JSON.stringify({ dataframe_split: { columns: dataset.columns, data } }),
        headers: { 'content-type': 'application/json' },
      };
    case 'oi-json':
      return {
        body: JSON.stringify({
          inputs: [{ name: inputName, shape, datatype: 'FP32', data: data.flat() }],
        }),
        headers: { 'content-type': 'application/json' },
      };
    case 'oi-binary': {
      const tensor = fp32Bytes(data);
      const header = Buffer.from(
        JSON.stringify({
          inputs: [
            {
              name: inputName,
              shape,
              datatype: 'FP32',
              parameters: { binary_data_size: tensor.length },
            },
          ],
          parameters: { binary_data_output: true },
        }),
      );
      return {
        body: Buffer.concat([header, tensor]),
        headers: {
          'content-type': 'application/octet-stream',
          [HEADER_LENGTH]: String(header.length),
        },
      };
    }
  }
}

export function answerCheck(form: BodyForm, rows: number): AnswerCheck {
  return (answer) => {
    const text = answer.body.toString('utf8');
    const excerpt = text.length > 300 ? `${text.slice(0, 300)}…` : text;
    if (answer.status !== 200) return `HTTP ${answer.status}: ${excerpt}`;
    switch (form) {
      case 'mlflow':
        return checkMlflow(text, rows, excerpt);
      case 'oi-json':
        return checkOpenInference(parseObject(text), rows, excerpt, 0);
      case 'oi-binary':
        return checkBinary(answer, rows);
    }
  };
}

/** The JSON object `text` holds, or undefined when it holds none. */
function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object'
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** A `predictions` array of one per row, or an object of such arrays (tensor signatures). */
function checkMlflow(text: string, rows: number, excerpt: string): string | null {
  const body = parseObject(text);
  if (body === undefined) return `not a JSON object: ${excerpt}`;
  const predictions = body.predictions;
  if (Array.isArray(predictions)) {
    return predictions.length === rows
      ? null
      : `${predictions.length} predictions for ${rows} rows: ${excerpt}`;
  }
  if (predictions !== null && typeof predictions === 'object') {
    const outputs = Object.entries(predictions);
    const wrong = outputs.filter(([, v]) => !Array.isArray(v) || v.length !== rows);
    return outputs.length > 0 && wrong.length === 0
      ? null
      : `outputs ${wrong.map(([k]) => k).join(', ') || '(none)'} do not have ${rows} rows: ${excerpt}`;
  }
  return `no predictions array: ${excerpt}`;
}

interface OutputTensor {
  name?: string;
  shape?: number[];
  data?: unknown[];
  parameters?: { binary_data_size?: number };
}

/**
 * Every output has `rows` as its first dimension and carries its data: inline
 * (JSON) or, when `binaryBytes` > 0, as binary_data_size bytes that add up to
 * what follows the header.
 */
function checkOpenInference(
  body: Record<string, unknown> | undefined,
  rows: number,
  excerpt: string,
  binaryBytes: number,
): string | null {
  const outputs = body?.outputs as OutputTensor[] | undefined;
  if (!Array.isArray(outputs) || outputs.length === 0) return `no outputs: ${excerpt}`;
  let binary = 0;
  for (const output of outputs) {
    if (output.shape?.[0] !== rows) {
      return `output ${output.name} has shape ${JSON.stringify(output.shape)} for ${rows} rows`;
    }
    const size = output.parameters?.binary_data_size;
    if (binaryBytes > 0) {
      if (typeof size !== 'number') return `output ${output.name} is not binary: ${excerpt}`;
      binary += size;
    } else if (!Array.isArray(output.data)) {
      return `output ${output.name} has no data: ${excerpt}`;
    }
  }
  if (binaryBytes > 0 && binary !== binaryBytes) {
    return `binary outputs declare ${binary} bytes, ${binaryBytes} follow the header`;
  }
  return null;
}

function checkBinary(answer: HttpAnswer, rows: number): string | null {
  const declared = answer.headers.get(HEADER_LENGTH);
  if (declared === null) {
    return `no ${HEADER_LENGTH} header in the answer: ${answer.body.toString('utf8', 0, 300)}`;
  }
  const headerLength = Number(declared);
  if (!Number.isInteger(headerLength) || headerLength > answer.body.length) {
    return `${HEADER_LENGTH} ${declared} for a ${answer.body.length}-byte body`;
  }
  const header = answer.body.toString('utf8', 0, headerLength);
  const parsed = parseObject(header);
  if (parsed === undefined) return `header is not a JSON object: ${header.slice(0, 300)}`;
  const binaryBytes = answer.body.length - headerLength;
  if (binaryBytes === 0) return `no binary data after the header: ${header.slice(0, 300)}`;
  return checkOpenInference(parsed, rows, header.slice(0, 300), binaryBytes);
}
