import { MlModelFormatError } from './mlmodel.error';
import { onnxFlavor, parseMlModel } from './mlmodel.parser';

/** Written by MLflow 3.17.2 `mlflow.onnx.save_model(..., signature=..., input_example=df, onnx_session_options=...)`. */
const COLUMN_MLMODEL = `flavors:
  onnx:
    code: null
    data: model.onnx
    onnx_session_options:
      execution_mode: sequential
      graph_optimization_level: 99
      intra_op_num_threads: 2
    onnx_version: 1.23.2
    providers:
    - CUDAExecutionProvider
    - CPUExecutionProvider
  python_function:
    data: model.onnx
    env:
      conda: conda.yaml
      virtualenv: python_env.yaml
    loader_module: mlflow.onnx
    python_version: 3.11.7
is_signature_from_type_hint: false
mlflow_version: 3.17.2
model_id: null
model_size_bytes: 720
model_uuid: 199c33566ec34ba4abbc779d98be3042
prompts: null
saved_input_example_info:
  artifact_path: input_example.json
  pandas_orient: split
  serving_input_path: serving_input_example.json
  type: dataframe
signature:
  inputs: '[{"type": "double", "name": "sepal length (cm)", "required": true}, {"type":
    "double", "name": "sepal width (cm)", "required": true}, {"type": "double", "name":
    "petal length (cm)", "required": true}, {"type": "double", "name": "petal width
    (cm)", "required": false}]'
  outputs: '[{"type": "long", "name": "label", "required": true}]'
  params: null
type_hint_from_example: false
utc_time_created: '2026-11-22 03:13:25.382617'
`;

/** Same model logged with a tensor signature, params and an ndarray example. */
const TENSOR_MLMODEL = `artifact_path: model
flavors:
  onnx:
    code: null
    data: model.onnx
    onnx_session_options: null
    onnx_version: 1.23.2
    providers:
    - CUDAExecutionProvider
    - CPUExecutionProvider
  python_function:
    data: model.onnx
    loader_module: mlflow.onnx
    python_version: 3.11.7
mlflow_version: 3.17.2
model_id: m-7f3e2a
run_id: 1234e5
saved_input_example_info:
  artifact_path: input_example.json
  params: 'true'
  serving_input_path: serving_input_example.json
  type: ndarray
signature:
  inputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 4]}}]'
  outputs: '[{"name": "label", "type": "tensor", "tensor-spec": {"dtype": "int64",
    "shape": [-1]}}, {"name": "probabilities", "type": "tensor", "tensor-spec": {"dtype":
    "float32", "shape": [-1, 3]}}]'
  params: '[{"name": "threshold", "default": 0.5, "shape": null, "type": "double"}]'
utc_time_created: '2026-11-22 03:13:32.507471'
`;

function withSignature(inputs: string): string {
  return `flavors:\n  onnx:\n    data: model.onnx\nsignature:\n  inputs: '${inputs}'\n`;
}

function expectFormatError(text: string, message: RegExp): void {
  let error: unknown;
  try {
    parseMlModel(text);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(MlModelFormatError);
  expect((error as Error).message).toMatch(message);
}

describe('parseMlModel', () => {
  it('reads a column-based MLmodel as MLflow writes it', () => {
    const model = parseMlModel(COLUMN_MLMODEL);

    expect(Object.keys(model.flavors)).toEqual(['onnx', 'python_function']);
    expect(model.signature).toEqual({
      inputs: [
        { kind: 'column', name: 'sepal length (cm)', type: 'double', required: true },
        { kind: 'column', name: 'sepal width (cm)', type: 'double', required: true },
        { kind: 'column', name: 'petal length (cm)', type: 'double', required: true },
        { kind: 'column', name: 'petal width (cm)', type: 'double', required: false },
      ],
      outputs: [{ kind: 'column', name: 'label', type: 'long', required: true }],
      params: [],
    });
    expect(model.inputExample).toEqual({
      artifactPath: 'input_example.json',
      servingInputPath: 'serving_input_example.json',
      type: 'dataframe',
      pandasOrient: 'split',
      hasParams: false,
    });
    expect(model).toMatchObject({
      mlflowVersion: '3.17.2',
      modelUuid: '199c33566ec34ba4abbc779d98be3042',
      utcTimeCreated: '2026-11-22 03:13:25.382617',
    });
    expect(model.modelId).toBeUndefined();
  });

  it('reads tensor specs, numpy dtypes and params', () => {
    const model = parseMlModel(TENSOR_MLMODEL);

    expect(model.signature).toEqual({
      inputs: [
        { kind: 'tensor', name: undefined, dtype: 'float32', datatype: 'FP32', shape: [-1, 4] },
      ],
      outputs: [
        { kind: 'tensor', name: 'label', dtype: 'int64', datatype: 'INT64', shape: [-1] },
        {
          kind: 'tensor',
          name: 'probabilities',
          dtype: 'float32',
          datatype: 'FP32',
          shape: [-1, 3],
        },
      ],
      params: [{ name: 'threshold', type: 'double', default: 0.5, shape: null }],
    });
    expect(model.inputExample?.hasParams).toBe(true);
    expect(model).toMatchObject({ modelId: 'm-7f3e2a', artifactPath: 'model' });
  });

  it('keeps an unquoted run id that looks like a YAML 1.2 float as text, as PyYAML does', () => {
    expect(parseMlModel(TENSOR_MLMODEL).runId).toBe('1234e5');
  });

  it.each([
    ['float16', 'FP16'],
    ['float64', 'FP64'],
    ['int32', 'INT32'],
    ['uint8', 'UINT8'],
    ['bool', 'BOOL'],
    ['object', 'BYTES'],
    ['str', 'BYTES'],
  ])('maps the numpy dtype %s to %s', (dtype, datatype) => {
    const model = parseMlModel(
      withSignature(`[{"type": "tensor", "tensor-spec": {"dtype": "${dtype}", "shape": [-1]}}]`),
    );

    expect(model.signature?.inputs[0]).toMatchObject({ dtype, datatype });
  });

  it('accepts signature lists written as YAML instead of JSON text', () => {
    const model = parseMlModel(
      'flavors:\n  onnx:\n    data: model.onnx\nsignature:\n  inputs:\n  - {type: long, name: n}\n',
    );

    expect(model.signature?.inputs).toEqual([
      { kind: 'column', name: 'n', type: 'long', required: true },
    ]);
  });

  it('reports a signature it cannot check instead of failing the whole model', () => {
    const model = parseMlModel(
      withSignature('[{"type": "array", "items": {"type": "string"}, "name": "tokens"}]'),
    );

    expect(model.signature).toBeUndefined();
    expect(model.signatureUnsupported).toMatch(
      /signature\.inputs\[0\] \('tokens'\) has type 'array'/,
    );
  });

  it('leaves out an output it cannot model, with a warning', () => {
    const model = parseMlModel(
      `flavors:\n  onnx:\n    data: model.onnx\nsignature:\n  inputs: '[{"type": "double", "name": "x"}]'\n` +
        `  outputs: '[{"type": "long", "name": "label"}, {"type": "array", "items": {"type": "double"}, "name": "scores"}]'\n`,
    );

    expect(model.signature?.outputs).toEqual([
      { kind: 'column', name: 'label', type: 'long', required: true },
    ]);
    expect(model.warnings).toEqual([
      "signature.outputs[1] ('scores') has type 'array', which Modelgate cannot check: left out of the signature",
    ]);
  });

  it('reads params saved with the older dtype key, and user metadata', () => {
    const model = parseMlModel(
      `flavors:\n  onnx:\n    data: model.onnx\nmetadata:\n  team: fraud\nsignature:\n  params: '[{"name": "k", "dtype": "long", "default": [1, 2], "shape": [-1]}]'\n`,
    );

    expect(model.signature).toEqual({
      inputs: [],
      outputs: [],
      params: [{ name: 'k', type: 'long', default: [1, 2], shape: [-1] }],
    });
    expect(model.metadata).toEqual({ team: 'fraud' });
  });

  it('reads a flavor written as null as one without settings', () => {
    expect(parseMlModel('flavors:\n  python_function: null\n').flavors).toEqual({
      python_function: {},
    });
  });

  it('reads YAML 1.1 floats, infinities and NaN as PyYAML writes them', () => {
    const model = parseMlModel(
      'flavors:\n  onnx:\n    data: model.onnx\nmetadata:\n  a: 1.0e-05\n  b: -.inf\n  c: .nan\n  d: 1_000.5\n',
    );

    expect(model.metadata).toEqual({ a: 1e-5, b: -Infinity, c: NaN, d: 1000.5 });
  });

  it('reports a tensor dtype it cannot serve', () => {
    const model = parseMlModel(
      withSignature(
        '[{"type": "tensor", "tensor-spec": {"dtype": "datetime64[ns]", "shape": [-1]}}]',
      ),
    );

    expect(model.signatureUnsupported).toMatch(/dtype 'datetime64\[ns\]'/);
  });

  it.each([
    ['text that is not YAML', 'flavors: [unclosed', /not valid YAML/],
    ['a YAML list', '- a\n- b\n', /must be a YAML mapping, got a list/],
    ['no flavors', 'run_id: abc\n', /'flavors' must be a mapping/],
    ['empty flavors', 'flavors: {}\n', /'flavors' is empty/],
    ['a flavor that is a list', 'flavors:\n  onnx: [1]\n', /flavors\.onnx must be a mapping/],
    [
      'a signature that is a list',
      'flavors:\n  onnx: {data: m.onnx}\nsignature: [1]\n',
      /signature must be a mapping, got a list/,
    ],
    [
      'signature inputs that are not a list',
      withSignature('{"a": 1}'),
      /signature\.inputs must be a JSON list, got a mapping/,
    ],
    [
      'a spec that is not an object',
      withSignature('[1]'),
      /signature\.inputs\[0\] must be an object, got number 1/,
    ],
    [
      'a spec name that is not text',
      withSignature('[{"type": "double", "name": 3}]'),
      /signature\.inputs\[0\]\.name must be a string/,
    ],
    [
      'a tensor spec without dtype',
      withSignature('[{"type": "tensor", "tensor-spec": {"shape": [-1]}}]'),
      /tensor-spec has no 'dtype'/,
    ],
    [
      'a param without a name',
      'flavors:\n  onnx: {data: m.onnx}\nsignature:\n  inputs: null\n  params: \'[{"type": "double", "default": 1}]\'\n',
      /signature\.params\[0\] must be an object with a 'name'/,
    ],
    [
      'a param without a type',
      'flavors:\n  onnx: {data: m.onnx}\nsignature:\n  params: \'[{"name": "k", "default": 1}]\'\n',
      /signature\.params\[0\] \('k'\) has no 'type'/,
    ],
    [
      'a param with a bad shape',
      'flavors:\n  onnx: {data: m.onnx}\nsignature:\n  params: \'[{"name": "k", "type": "long", "default": [1], "shape": "x"}]\'\n',
      /signature\.params\[0\]\.shape must be a list of integers or null/,
    ],
    [
      'a run id that is a mapping',
      'flavors:\n  onnx: {data: m.onnx}\nrun_id: {a: 1}\n',
      /'run_id' must be a single value, got a mapping/,
    ],
    [
      'input example info that is a list',
      'flavors:\n  onnx: {data: m.onnx}\nsaved_input_example_info: [1]\n',
      /saved_input_example_info must be a mapping, got a list/,
    ],
    [
      'signature JSON that does not parse',
      withSignature('[{"type": '),
      /signature\.inputs is not valid JSON/,
    ],
    [
      'an unknown column type',
      withSignature('[{"type": "doubel", "name": "x"}]'),
      /signature\.inputs\[0\]: unknown column type 'doubel'/,
    ],
    [
      'a spec without type',
      withSignature('[{"name": "x"}]'),
      /signature\.inputs\[0\] has no 'type'/,
    ],
    [
      'a tensor without tensor-spec',
      withSignature('[{"type": "tensor"}]'),
      /has type 'tensor' but no 'tensor-spec'/,
    ],
    [
      'a bad tensor shape',
      withSignature('[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": "4"}}]'),
      /tensor-spec\.shape must be a list of integers/,
    ],
    [
      'mixed column and tensor specs',
      withSignature(
        '[{"type": "double", "name": "a"}, {"type": "tensor", "name": "b", "tensor-spec": {"dtype": "float32", "shape": [-1]}}]',
      ),
      /mixes column and tensor specs/,
    ],
    [
      'named and unnamed specs',
      withSignature('[{"type": "double", "name": "a"}, {"type": "double"}]'),
      /mixes named and unnamed specs/,
    ],
    [
      'a column declared twice',
      withSignature('[{"type": "double", "name": "a"}, {"type": "long", "name": "a"}]'),
      /declares 'a' twice/,
    ],
    [
      'a non-boolean required',
      withSignature('[{"type": "double", "name": "a", "required": "yes"}]'),
      /\.required must be true or false/,
    ],
    [
      'input example info without a type',
      'flavors:\n  onnx: {data: m.onnx}\nsaved_input_example_info:\n  artifact_path: x.json\n',
      /saved_input_example_info has no 'type'/,
    ],
    [
      'an example path outside the model',
      'flavors:\n  onnx: {data: m.onnx}\nsaved_input_example_info:\n  artifact_path: ../../etc/passwd\n  type: dataframe\n',
      /must stay inside the model directory/,
    ],
  ])('refuses %s, naming what is wrong', (_case, text, message) => {
    expectFormatError(text, message);
  });
});

describe('onnxFlavor', () => {
  it('maps MLflow session options to onnxruntime-node names', () => {
    expect(onnxFlavor(parseMlModel(COLUMN_MLMODEL))).toEqual({
      dataFile: 'model.onnx',
      onnxVersion: '1.23.2',
      providers: ['CUDAExecutionProvider', 'CPUExecutionProvider'],
      sessionOptions: {
        intraOpNumThreads: 2,
        graphOptimizationLevel: 'all',
        executionMode: 'sequential',
      },
    });
  });

  it('has no session options when MLflow wrote null', () => {
    expect(onnxFlavor(parseMlModel(TENSOR_MLMODEL))?.sessionOptions).toBeUndefined();
  });

  it('is undefined for a model without an onnx flavor', () => {
    expect(
      onnxFlavor(parseMlModel('flavors:\n  sklearn: {pickled_model: model.pkl}\n')),
    ).toBeUndefined();
  });

  it.each([
    [0, 'disabled'],
    [1, 'basic'],
    [2, 'extended'],
    [3, 'layout'],
    [99, 'all'],
  ])('maps graph_optimization_level %i to %s', (level, name) => {
    const model = parseMlModel(
      `flavors:\n  onnx:\n    data: model.onnx\n    onnx_session_options:\n      graph_optimization_level: ${level}\n`,
    );

    expect(onnxFlavor(model)?.sessionOptions).toEqual({ graphOptimizationLevel: name });
  });

  it('takes inter-op threads and a PARALLEL execution mode in any case', () => {
    const model = parseMlModel(
      'flavors:\n  onnx:\n    data: model.onnx\n    onnx_session_options:\n      inter_op_num_threads: 4\n      execution_mode: PARALLEL\n',
    );

    expect(onnxFlavor(model)?.sessionOptions).toEqual({
      interOpNumThreads: 4,
      executionMode: 'parallel',
    });
  });

  it('leaves zero thread counts to onnxruntime, as MLflow does', () => {
    const model = parseMlModel(
      'flavors:\n  onnx:\n    data: model.onnx\n    onnx_session_options:\n      intra_op_num_threads: 0\n',
    );

    expect(onnxFlavor(model)?.sessionOptions).toBeUndefined();
  });

  it('keeps extra session config entries and provider names given with options', () => {
    const model = parseMlModel(
      [
        'flavors:',
        '  onnx:',
        '    data: model.onnx',
        '    providers:',
        '    - [CUDAExecutionProvider, {device_id: 0}]',
        '    onnx_session_options:',
        '      extra_session_config:',
        '        session.intra_op.allow_spinning: 0',
        '',
      ].join('\n'),
    );

    expect(onnxFlavor(model)).toMatchObject({
      providers: ['CUDAExecutionProvider'],
      extraSessionConfig: { 'session.intra_op.allow_spinning': '0' },
    });
  });

  it('takes a single provider name', () => {
    const model = parseMlModel(
      'flavors:\n  onnx:\n    data: model.onnx\n    providers: CPUExecutionProvider\n',
    );

    expect(onnxFlavor(model)?.providers).toEqual(['CPUExecutionProvider']);
  });

  it.each([
    [
      'extra session config that is a list',
      'flavors:\n  onnx:\n    data: m.onnx\n    onnx_session_options:\n      extra_session_config: [1]\n',
      /extra_session_config must be a mapping, got a list/,
    ],
    [
      'no data file',
      'flavors:\n  onnx:\n    onnx_version: 1.17\n',
      /flavors\.onnx\.data must name a file/,
    ],
    [
      'an absolute data file',
      'flavors:\n  onnx:\n    data: /etc/model.onnx\n',
      /must stay inside the model directory/,
    ],
    [
      'a level onnxruntime does not have',
      'flavors:\n  onnx:\n    data: m.onnx\n    onnx_session_options:\n      graph_optimization_level: 5\n',
      /graph_optimization_level must be 0, 1, 2, 3 or 99, got number 5/,
    ],
    [
      'an unknown execution mode',
      'flavors:\n  onnx:\n    data: m.onnx\n    onnx_session_options:\n      execution_mode: fast\n',
      /execution_mode must be 'sequential' or 'parallel'/,
    ],
    [
      'a negative thread count',
      'flavors:\n  onnx:\n    data: m.onnx\n    onnx_session_options:\n      intra_op_num_threads: -1\n',
      /intra_op_num_threads must be a whole number/,
    ],
    [
      'session options that are a list',
      'flavors:\n  onnx:\n    data: m.onnx\n    onnx_session_options: [1]\n',
      /onnx_session_options must be a mapping/,
    ],
    [
      'providers that are not names',
      'flavors:\n  onnx:\n    data: m.onnx\n    providers: [1]\n',
      /providers must be provider names/,
    ],
  ])('refuses %s', (_case, text, message) => {
    expect(() => onnxFlavor(parseMlModel(text))).toThrow(message);
  });
});
