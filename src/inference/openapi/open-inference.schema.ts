import { JsonSchema, SchemaCatalog, schemaRef } from '../../common/openapi/schema-ref';
import { DATA_TYPES } from '../../models/tensor.types';

/**
 * The Open Inference Protocol v2 over REST (KServe docs/predict-api/v2/
 * required_api.md), as codecs/open-inference.codec.ts decodes and encodes it.
 * Unknown keys are ignored, as the protocol's peers ignore them. What needs the
 * model (input names, datatypes against the signature) or the whole request
 * (`data` holding product(shape) values, unique input names) is answered 400.
 * The binary tensor data extension (Triton `extension_binary_data.md`) is the
 * same JSON as a header, then raw tensor bytes: {@link BINARY_INFER_BODY}.
 */

const PARAMETERS: JsonSchema = {
  type: ['object', 'null'],
  description: 'Protocol parameters, name → value',
};

const DATATYPE: JsonSchema = { type: 'string', enum: [...DATA_TYPES] };

/** -1 marks a variable dimension in metadata; requests and answers have concrete shapes. */
const SHAPE: JsonSchema = { type: 'array', items: { type: 'integer', minimum: 0 } };

const TENSOR_SPEC: JsonSchema = {
  type: 'object',
  required: ['name', 'datatype', 'shape'],
  properties: {
    name: { type: 'string' },
    datatype: DATATYPE,
    shape: { type: 'array', items: { type: 'integer', minimum: -1 } },
  },
};

export const OPEN_INFERENCE_SCHEMAS = {
  InferRequest: {
    type: 'object',
    required: ['inputs'],
    properties: {
      id: { type: ['string', 'null'], description: 'Echoed in the answer' },
      parameters: {
        ...PARAMETERS,
        description:
          'Protocol parameters, name → value; `binary_data_output`: every output not saying otherwise in binary',
      },
      inputs: {
        type: 'array',
        minItems: 1,
        description: 'One entry per input, names unique',
        items: {
          type: 'object',
          required: ['name', 'shape', 'datatype', 'data'],
          properties: {
            name: { type: 'string', minLength: 1 },
            shape: SHAPE,
            datatype: DATATYPE,
            parameters: {
              ...PARAMETERS,
              description:
                'In the binary form, `binary_data_size`: this input takes that many bytes after the header instead of `data`',
            },
            data: {
              description:
                'Row-major values, flat or nested to the shape (a lone value for shape []); product(shape) of them',
            },
          },
        },
      },
      outputs: {
        type: ['array', 'null'],
        description: 'The outputs to answer, in this order; all of them when absent',
        items: {
          type: 'object',
          required: ['name'],
          properties: {
            name: { type: 'string', minLength: 1 },
            parameters: {
              ...PARAMETERS,
              description:
                '`binary_data`: answer this output in binary; `classification`: k, answer its top k classes as BYTES "<score>:<index>"',
            },
          },
        },
      },
    },
  },
  InferResponse: {
    type: 'object',
    required: ['model_name', 'model_version', 'outputs'],
    properties: {
      model_name: { type: 'string' },
      model_version: { type: 'string' },
      id: { type: 'string' },
      parameters: { type: 'object' },
      outputs: {
        type: 'array',
        items: {
          type: 'object',
          description: 'With `data`, or, in binary, with `parameters.binary_data_size`',
          required: ['name', 'shape', 'datatype'],
          properties: {
            name: { type: 'string' },
            shape: SHAPE,
            datatype: DATATYPE,
            parameters: {
              type: 'object',
              properties: { binary_data_size: { type: 'integer', minimum: 0 } },
            },
            data: {
              type: 'array',
              description: 'Flat, row-major; NaN and Infinity are null',
              items: { type: ['number', 'string', 'boolean', 'null'] },
            },
          },
        },
      },
    },
  },
  ModelMetadata: {
    type: 'object',
    required: ['name', 'platform', 'inputs', 'outputs'],
    properties: {
      name: { type: 'string' },
      versions: { type: 'array', items: { type: 'string' } },
      platform: { type: 'string', examples: ['onnx_onnxv1'] },
      inputs: { type: 'array', items: TENSOR_SPEC },
      outputs: { type: 'array', items: TENSOR_SPEC },
      parameters: {
        type: 'object',
        description:
          'Lineage of the served version: mlflow.run_id, mlflow.run_url, param.<key>, metric.<key>, ' +
          'dataset.<n>.name|digest|source|context, airflow.dag_id, airflow.dag_run_id, airflow.run_url',
        additionalProperties: { type: ['string', 'number'] },
      },
    },
  },
  ServerLive: {
    type: 'object',
    required: ['live'],
    properties: { live: { type: 'boolean', const: true } },
  },
  ServerReady: {
    type: 'object',
    required: ['ready'],
    properties: { ready: { type: 'boolean', const: true } },
  },
  ServerMetadata: {
    type: 'object',
    required: ['name', 'version', 'extensions'],
    properties: {
      name: { type: 'string' },
      version: { type: 'string' },
      extensions: { type: 'array', items: { type: 'string' } },
    },
  },
} satisfies SchemaCatalog;

export const inferRequest = schemaRef(OPEN_INFERENCE_SCHEMAS, 'InferRequest');

/** A request for the demo iris model with a tensor signature (scripts/demo_model.py). */
export const INFER_REQUEST_EXAMPLE = {
  inputs: [{ name: 'float_input', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }],
};
export const inferResponse = schemaRef(OPEN_INFERENCE_SCHEMAS, 'InferResponse');
export const modelMetadataSchema = schemaRef(OPEN_INFERENCE_SCHEMAS, 'ModelMetadata');
export const liveSchema = schemaRef(OPEN_INFERENCE_SCHEMAS, 'ServerLive');
export const readySchema = schemaRef(OPEN_INFERENCE_SCHEMAS, 'ServerReady');
export const serverMetadataSchema = schemaRef(OPEN_INFERENCE_SCHEMAS, 'ServerMetadata');

/** The binary tensor data extension's body, request or answer. */
export const BINARY_INFER_BODY: JsonSchema = {
  type: 'string',
  format: 'binary',
  description:
    'The binary tensor data extension: an InferRequest (or InferResponse) as JSON, ' +
    'Inference-Header-Content-Length bytes long, then the bytes of each tensor with ' +
    '`parameters.binary_data_size`, in order: little-endian, row-major; BOOL one byte ' +
    'per element; BYTES elements each a 4-byte little-endian length and the bytes; ' +
    'FP16 and BF16 (inputs only) two bytes.',
};

/** The header saying where the JSON header of a binary body ends. */
export const INFERENCE_HEADER_CONTENT_LENGTH_HEADER = {
  description: 'The length in bytes of the JSON header of a body in the binary form',
  schema: { type: 'integer', minimum: 0 },
};
