import { JsonSchema, SchemaCatalog, schemaRef } from '../../common/openapi/schema-ref';

/**
 * The MLflow scoring protocol's bodies, as codecs/mlflow-scoring.codec.ts
 * decodes them (MLflow 3.17's `mlflow models serve`). What the codec cannot
 * know before the model is looked up (column names and types, a row's width
 * against `columns`, tensor shapes) is checked against the model's signature
 * and answered 400; the schema says what the envelope must be.
 */

const FORMATS = ['dataframe_split', 'dataframe_records', 'instances', 'inputs'] as const;

/** TF-serving style tensors: one unnamed tensor (a list or a value), or named tensors (an object). */
const TENSORS: JsonSchema = {
  description:
    'A list (one unnamed tensor), an object of named tensors, or a list of records (named tensors column-wise, every record with the same keys)',
  type: ['array', 'object', 'number', 'string', 'boolean'],
  minProperties: 1,
};

const FORMAT_SCHEMAS: Record<(typeof FORMATS)[number], JsonSchema> = {
  dataframe_split: {
    description:
      'pandas\' split orient. Without `columns`, columns are named "0", "1", … by position; `index` is accepted and not used',
    type: 'object',
    required: ['data'],
    additionalProperties: false,
    properties: {
      columns: {
        type: ['array', 'null'],
        items: { type: ['string', 'number'] },
        uniqueItems: true,
      },
      data: {
        type: 'array',
        description: 'Rows, each with one value per column',
        items: { type: 'array' },
      },
      index: { type: ['array', 'null'] },
    },
  },
  dataframe_records: {
    description: "pandas' records orient; a key missing from a record is a missing value",
    type: 'array',
    items: { type: 'object' },
  },
  instances: TENSORS,
  inputs: TENSORS,
};

/** Exactly one format; `params` beside it. */
const JSON_REQUEST: JsonSchema = {
  oneOf: FORMATS.map((format): JsonSchema => ({
    type: 'object',
    title: format,
    required: [format],
    properties: {
      [format]: FORMAT_SCHEMAS[format],
      ...Object.fromEntries(
        FORMATS.filter((other) => other !== format).map((other) => [other, { not: {} }]),
      ),
      params: {
        type: ['object', 'null'],
        description: 'Inference params for models whose signature declares them, name → value',
      },
    },
  })),
};

export const MLFLOW_SCORING_SCHEMAS = {
  MlflowScoringRequest: {
    description:
      'A JSON body with exactly one of dataframe_split, dataframe_records, instances, inputs (and optionally params). Python NaN and Infinity tokens are accepted, as MLflow accepts them',
    ...JSON_REQUEST,
  },
  MlflowScoringCsv: {
    type: 'string',
    description: 'CSV with a header row of column names (UTF-8)',
  },
  MlflowPredictions: {
    type: 'object',
    required: ['predictions'],
    properties: {
      predictions: {
        description:
          'Per MLflow: for a tensor-based signature, output name → values; for a column-based one, a list of records',
        type: ['array', 'object'],
      },
    },
  },
} satisfies SchemaCatalog;

/** The request examples, against the demo iris model (scripts/demo_model.py). */
export const MLFLOW_SCORING_EXAMPLE = {
  dataframe_split: {
    columns: ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'],
    data: [[5.1, 3.5, 1.4, 0.2]],
  },
};
export const MLFLOW_SCORING_CSV_EXAMPLE =
  'sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n';

/** `@ApiRequestBody(...SCORING_BODY)`: JSON in its four forms, or CSV. */
export const SCORING_BODY = [
  'JSON (application/json, charset utf-8 only) or CSV (text/csv); any other type is a 415',
  {
    'application/json': {
      schema: schemaRef(MLFLOW_SCORING_SCHEMAS, 'MlflowScoringRequest'),
      example: MLFLOW_SCORING_EXAMPLE,
    },
    'text/csv': {
      schema: schemaRef(MLFLOW_SCORING_SCHEMAS, 'MlflowScoringCsv'),
      example: MLFLOW_SCORING_CSV_EXAMPLE,
    },
  },
] as const;

export const PREDICTIONS = schemaRef(MLFLOW_SCORING_SCHEMAS, 'MlflowPredictions');
