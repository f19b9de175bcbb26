import * as path from 'node:path';
import * as yaml from 'js-yaml';
import { MlModelFormatError } from './mlmodel.error';
import { InputExampleInfo, MlModel, OnnxFlavor, OnnxSessionOptions } from './mlmodel.types';
import { parseSignature } from './signature.parser';
import { describe, isRecord } from './values';

export { readInputExample, readServingExample } from './input-example.reader';
export type { MlModel, OnnxFlavor } from './mlmodel.types';

/**
 * YAML 1.1 floats, as PyYAML (which writes MLmodel files) resolves them: a
 * float needs a dot. js-yaml's YAML 1.2 schemas would read an unquoted run id
 * such as `1234e5` (PyYAML leaves it unquoted: to PyYAML it is a string) as
 * the number 123400000. Pattern from PyYAML's `resolver.py`, minus sexagesimals.
 */
const PYYAML_FLOAT =
  /^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;

const yamlTypes = (yaml as unknown as { types: Record<'null' | 'bool' | 'int', yaml.Type> }).types;

const MLMODEL_SCHEMA = yaml.FAILSAFE_SCHEMA.extend({
  implicit: [
    yamlTypes.null,
    yamlTypes.bool,
    yamlTypes.int,
    new yaml.Type('tag:yaml.org,2002:float', {
      kind: 'scalar',
      resolve: (data: string) => PYYAML_FLOAT.test(data),
      construct: (data: string) => {
        const text = data.replace(/_/g, '').toLowerCase();
        if (text.endsWith('.nan')) return NaN;
        if (text.endsWith('.inf')) return text.startsWith('-') ? -Infinity : Infinity;
        return Number(text);
      },
    }),
  ],
});

/** onnxruntime's GraphOptimizationLevel values (ORT_DISABLE_ALL … ORT_ENABLE_ALL). */
const GRAPH_OPTIMIZATION_LEVELS: Readonly<
  Record<number, OnnxSessionOptions['graphOptimizationLevel']>
> = {
  0: 'disabled',
  1: 'basic',
  2: 'extended',
  3: 'layout',
  99: 'all',
};

/**
 * Parses the text of an MLmodel file.
 * @throws MlModelFormatError naming what is wrong: not YAML, not a mapping, no
 *   flavors, a malformed signature or input example info.
 */
export function parseMlModel(text: string): MlModel {
  let doc: unknown;
  try {
    doc = yaml.load(text, { schema: MLMODEL_SCHEMA });
  } catch (error) {
    const reason = error instanceof yaml.YAMLException ? error.message : String(error);
    throw new MlModelFormatError(`not valid YAML: ${reason}`);
  }
  if (!isRecord(doc)) {
    throw new MlModelFormatError(`the file must be a YAML mapping, got ${describe(doc)}`);
  }
  const flavors = parseFlavors(doc.flavors);
  const model: MlModel = {
    flavors,
    modelId: optionalString(doc, 'model_id'),
    runId: optionalString(doc, 'run_id'),
    artifactPath: optionalString(doc, 'artifact_path'),
    modelUuid: optionalString(doc, 'model_uuid'),
    utcTimeCreated: optionalString(doc, 'utc_time_created'),
    mlflowVersion: optionalString(doc, 'mlflow_version'),
  };
  if (isRecord(doc.metadata)) model.metadata = doc.metadata;
  if (doc.signature !== undefined && doc.signature !== null) {
    const parsed = parseSignature(doc.signature);
    if (parsed.signature) model.signature = parsed.signature;
    else model.signatureUnsupported = parsed.unsupported;
    if (parsed.warnings.length > 0) model.warnings = parsed.warnings;
  }
  if (doc.saved_input_example_info !== undefined && doc.saved_input_example_info !== null) {
    model.inputExample = parseInputExampleInfo(doc.saved_input_example_info);
  }
  return model;
}

/**
 * The ONNX flavor's settings, or undefined when the model has no `onnx` flavor.
 * Session options are mapped the way MLflow's `_OnnxModelWrapper.__init__`
 * applies them (mlflow/onnx/__init__.py, MLflow 3.17), renamed for
 * onnxruntime-node. One difference: MLflow skips falsy values, so
 * `graph_optimization_level: 0` leaves onnxruntime's default (all); here 0
 * means what it says, `disabled`.
 * @throws MlModelFormatError when the flavor is malformed.
 */
export function onnxFlavor(model: MlModel): OnnxFlavor | undefined {
  const flavor = model.flavors.onnx;
  if (flavor === undefined) return undefined;
  const flavorOut: OnnxFlavor = {
    dataFile: relativeFile(flavor.data, 'flavors.onnx.data'),
  };
  const onnxVersion = scalarText(flavor.onnx_version);
  if (onnxVersion !== undefined) flavorOut.onnxVersion = onnxVersion;
  const providers = parseProviders(flavor.providers);
  if (providers) flavorOut.providers = providers;
  const options = flavor.onnx_session_options;
  if (options !== undefined && options !== null) {
    if (!isRecord(options)) {
      throw new MlModelFormatError(
        `flavors.onnx.onnx_session_options must be a mapping, got ${describe(options)}`,
        'flavors.onnx.onnx_session_options',
      );
    }
    const sessionOptions = parseSessionOptions(options);
    if (Object.keys(sessionOptions).length > 0) flavorOut.sessionOptions = sessionOptions;
    const extra = parseExtraSessionConfig(options.extra_session_config);
    if (extra) flavorOut.extraSessionConfig = extra;
  }
  return flavorOut;
}

function parseFlavors(raw: unknown): MlModel['flavors'] {
  if (!isRecord(raw)) {
    throw new MlModelFormatError(
      `'flavors' must be a mapping of flavor name to settings, got ${describe(raw)}`,
      'flavors',
    );
  }
  const names = Object.keys(raw);
  if (names.length === 0) throw new MlModelFormatError(`'flavors' is empty`, 'flavors');
  for (const name of names) {
    // A flavor written as `name: null` has no settings, which is legal YAML and harmless.
    if (raw[name] === null) raw[name] = {};
    if (!isRecord(raw[name])) {
      throw new MlModelFormatError(
        `flavors.${name} must be a mapping, got ${describe(raw[name])}`,
        `flavors.${name}`,
      );
    }
  }
  return raw as MlModel['flavors'];
}

function parseInputExampleInfo(raw: unknown): InputExampleInfo {
  const key = 'saved_input_example_info';
  if (!isRecord(raw)) {
    throw new MlModelFormatError(`${key} must be a mapping, got ${describe(raw)}`, key);
  }
  if (typeof raw.type !== 'string') {
    throw new MlModelFormatError(`${key} has no 'type'`, `${key}.type`);
  }
  const info: InputExampleInfo = {
    // INPUT_EXAMPLE_PATH = "artifact_path" (mlflow/models/utils.py).
    artifactPath: relativeFile(raw.artifact_path, `${key}.artifact_path`),
    type: raw.type,
    // EXAMPLE_PARAMS_KEY: MLflow writes the string 'true'.
    hasParams: raw.params === true || raw.params === 'true',
  };
  if (typeof raw.format === 'string') info.format = raw.format;
  if (typeof raw.pandas_orient === 'string') info.pandasOrient = raw.pandas_orient;
  if (raw.serving_input_path !== undefined && raw.serving_input_path !== null) {
    info.servingInputPath = relativeFile(raw.serving_input_path, `${key}.serving_input_path`);
  }
  return info;
}

function parseSessionOptions(options: Record<string, unknown>): OnnxSessionOptions {
  const key = 'flavors.onnx.onnx_session_options';
  const out: OnnxSessionOptions = {};
  const intra = threadCount(options.intra_op_num_threads, `${key}.intra_op_num_threads`);
  if (intra) out.intraOpNumThreads = intra;
  const inter = threadCount(options.inter_op_num_threads, `${key}.inter_op_num_threads`);
  if (inter) out.interOpNumThreads = inter;

  const level = options.graph_optimization_level;
  if (level !== undefined && level !== null) {
    const mapped = typeof level === 'number' ? GRAPH_OPTIMIZATION_LEVELS[level] : undefined;
    if (!mapped) {
      throw new MlModelFormatError(
        `${key}.graph_optimization_level must be 0, 1, 2, 3 or 99, got ${describe(level)}`,
        `${key}.graph_optimization_level`,
      );
    }
    out.graphOptimizationLevel = mapped;
  }

  const mode = options.execution_mode;
  if (mode !== undefined && mode !== null) {
    const lower = typeof mode === 'string' ? mode.toLowerCase() : undefined;
    if (lower !== 'sequential' && lower !== 'parallel') {
      throw new MlModelFormatError(
        `${key}.execution_mode must be 'sequential' or 'parallel', got ${describe(mode)}`,
        `${key}.execution_mode`,
      );
    }
    out.executionMode = lower;
  }
  return out;
}

function threadCount(raw: unknown, key: string): number | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 0) {
    throw new MlModelFormatError(`${key} must be a whole number ≥ 0, got ${describe(raw)}`, key);
  }
  // 0 lets onnxruntime choose, as MLflow does by not setting it.
  return raw === 0 ? undefined : raw;
}

function parseExtraSessionConfig(raw: unknown): Record<string, string> | undefined {
  if (raw === undefined || raw === null) return undefined;
  const key = 'flavors.onnx.onnx_session_options.extra_session_config';
  if (!isRecord(raw)) {
    throw new MlModelFormatError(`${key} must be a mapping, got ${describe(raw)}`, key);
  }
  const entries = Object.entries(raw).map(([k, v]) => {
    const text = scalarText(v);
    if (text === undefined) {
      throw new MlModelFormatError(`${key}.${k} must be a single value, got ${describe(v)}`, key);
    }
    return [k, text] as const;
  });
  return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}

/** MLflow accepts one name, a list of names, or [name, options] pairs (onnx/__init__.py). */
function parseProviders(raw: unknown): string[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  const list = Array.isArray(raw) ? (raw as unknown[]) : [raw];
  const names = list.map((entry) => (Array.isArray(entry) ? (entry as unknown[])[0] : entry));
  if (!names.every((n): n is string => typeof n === 'string' && n.length > 0)) {
    throw new MlModelFormatError(
      `flavors.onnx.providers must be provider names, got ${describe(raw)}`,
      'flavors.onnx.providers',
    );
  }
  return names.length > 0 ? names : undefined;
}

function optionalString(doc: Record<string, unknown>, key: string): string | undefined {
  const value = doc[key];
  if (value === undefined || value === null) return undefined;
  const text = scalarText(value);
  if (text === undefined) {
    throw new MlModelFormatError(`'${key}' must be a single value, got ${describe(value)}`, key);
  }
  return text;
}

/** A YAML scalar as text (a version `1.17` reads as a number); undefined for null, lists and mappings. */
function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/** A file named by the MLmodel: relative, and inside the model directory. */
function relativeFile(raw: unknown, key: string): string {
  if (typeof raw !== 'string' || raw.length === 0) {
    throw new MlModelFormatError(`${key} must name a file, got ${describe(raw)}`, key);
  }
  const normalized = path.posix.normalize(raw.replace(/\\/g, '/'));
  const escapes = normalized === '..' || normalized.startsWith('../');
  if (path.posix.isAbsolute(normalized) || /^[a-zA-Z]:/.test(normalized) || escapes) {
    throw new MlModelFormatError(`${key} must stay inside the model directory, got '${raw}'`, key);
  }
  return normalized;
}
