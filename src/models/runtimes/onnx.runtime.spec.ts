/**
 * @jest-environment ../test/setup/node-environment.ts
 */
// onnxruntime-node returns outputs made in Node's main realm; this environment
// gives the spec the same typed-array constructors (see that file).
import { ModelInputRejectedError, ModelRuntimeError } from '../model.errors';
import { Tensor } from '../tensor.types';
import { OnnxRuntime, sessionOptionsOf } from './onnx.runtime';
import { ELEM, tinyClassifier, tinyOnnxModel } from './testing/tiny-onnx';

function x(shape: number[], values: number[]): Tensor {
  return { name: 'x', datatype: 'FP32', shape, data: Float32Array.from(values) };
}

describe(OnnxRuntime.name, () => {
  let sut: OnnxRuntime;

  beforeEach(async () => {
    sut = await OnnxRuntime.load(tinyClassifier());
  });

  afterEach(async () => {
    await sut.dispose();
  });

  it('reads the inputs and outputs the model declares, symbolic dimensions as -1', () => {
    expect(sut.inputs).toEqual([{ name: 'x', datatype: 'FP32', shape: [-1, 2] }]);
    expect(sut.outputs).toEqual([
      { name: 'label', datatype: 'INT64', shape: [-1] },
      { name: 'probabilities', datatype: 'FP32', shape: [-1, 2] },
    ]);
  });

  it('reports the platform as Triton names its ONNX Runtime backend', () => {
    expect(sut.platform).toBe('onnxruntime_onnx');
    expect(sut.kind).toBe('onnx');
  });

  it('answers every output with the datatype the model declares', async () => {
    const answer = await sut.predict([x([2, 2], [0.2, 0.8, 0.9, 0.1])]);

    expect(answer.extras).toBeUndefined();
    expect(answer.outputs).toEqual([
      { name: 'label', datatype: 'INT64', shape: [2], data: BigInt64Array.from([1n, 0n]) },
      {
        name: 'probabilities',
        datatype: 'FP32',
        shape: [2, 2],
        data: Float32Array.from([0.2, 0.8, 0.9, 0.1]),
      },
    ]);
  });

  it('computes only the outputs asked for', async () => {
    const answer = await sut.predict([x([1, 2], [1, 0])], { outputs: ['label'] });

    expect(answer.outputs.map((o) => o.name)).toEqual(['label']);
  });

  it.each([
    [
      'a wrong datatype',
      { name: 'x', datatype: 'FP64', shape: [1, 2], data: Float64Array.from([1, 2]) },
      "input 'x' is FP64, the model takes FP32",
    ],
    [
      'a wrong rank',
      x([2], [1, 2]),
      "input 'x' has shape [2], the model takes [-1, 2] (-1: any size)",
    ],
    [
      'a wrong fixed dimension',
      x([1, 3], [1, 2, 3]),
      "input 'x' has shape [1, 3], the model takes [-1, 2] (-1: any size)",
    ],
    [
      'too few values for the shape',
      x([2, 2], [1, 2]),
      "input 'x' has 2 values for shape [2, 2] (4)",
    ],
    [
      'an input the model does not have',
      { ...x([1, 2], [1, 2]), name: 'y' },
      "the model has no input 'y'; its inputs are 'x'",
    ],
  ] satisfies [string, Tensor, string][])(
    'refuses %s as an input fault, naming the input',
    async (_case, feed, message) => {
      const error = await sut.predict([feed]).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(ModelInputRejectedError);
      expect((error as ModelInputRejectedError).detail).toBe(message);
      expect((error as ModelInputRejectedError).code).toBe('MODEL_INPUT_REJECTED');
    },
  );

  it('refuses a missing input as an input fault', async () => {
    const error = await sut.predict([]).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ModelInputRejectedError);
    expect((error as ModelInputRejectedError).field).toBe('x');
  });

  it('reports a run that fails on accepted input as a model fault, with onnxruntime’s message', async () => {
    // a [N, A] + b [N, B]: every input fits its declaration, the Add cannot broadcast 2 with 3.
    const broken = await OnnxRuntime.load(
      tinyOnnxModel({
        inputs: [
          { name: 'a', elemType: ELEM.FLOAT, dims: ['N', 'A'] },
          { name: 'b', elemType: ELEM.FLOAT, dims: ['N', 'B'] },
        ],
        outputs: [{ name: 'sum', elemType: ELEM.FLOAT, dims: ['N', 'C'] }],
        nodes: [{ op: 'Add', inputs: ['a', 'b'], outputs: ['sum'] }],
      }),
    );

    const error = await broken
      .predict([
        { name: 'a', datatype: 'FP32', shape: [1, 2], data: Float32Array.from([1, 2]) },
        { name: 'b', datatype: 'FP32', shape: [1, 3], data: Float32Array.from([1, 2, 3]) },
      ])
      .catch((e: unknown) => e);
    await broken.dispose();

    expect(error).toBeInstanceOf(ModelRuntimeError);
    expect((error as ModelRuntimeError).code).toBe('MODEL_RUNTIME_FAILED');
    expect((error as ModelRuntimeError).runtimeMessage).toMatch(/broadcast/i);
  });

  it('refuses to load a model whose output is not a tensor, saying how to convert it', async () => {
    const sequence = tinyOnnxModel({
      inputs: [{ name: 'x', elemType: ELEM.FLOAT, dims: [1] }],
      outputs: [{ name: 'seq', elemType: ELEM.FLOAT, dims: [1], sequence: true }],
      nodes: [{ op: 'SequenceConstruct', inputs: ['x'], outputs: ['seq'] }],
      opset: 13,
    });

    await expect(OnnxRuntime.load(sequence)).rejects.toThrow(/"seq" is not a tensor.*zipmap/);
  });
});

describe(sessionOptionsOf.name, () => {
  it('sleeps idle intra-op threads unless told to spin, and sets threads only when asked', () => {
    expect(sessionOptionsOf({ intraOpThreads: 0, spinning: false })).toEqual({
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    });
    expect(
      sessionOptionsOf({ intraOpThreads: 3, spinning: true }, { executionMode: 'parallel' }),
    ).toEqual({
      executionMode: 'parallel',
      intraOpNumThreads: 3,
      extra: { session: { intra_op: { allow_spinning: '1' } } },
    });
  });

  it('gives options onnxruntime-node reads: a session runs with them, and a bad value of the key is refused', async () => {
    const runtime = await OnnxRuntime.load(
      tinyClassifier(),
      sessionOptionsOf({ intraOpThreads: 1, spinning: false }),
    );
    try {
      const answer = await runtime.predict([x([1, 2], [0.2, 0.8])]);
      expect(answer.outputs.map((o) => o.name)).toEqual(['label', 'probabilities']);
    } finally {
      await runtime.dispose();
    }
    // The binding reads `extra` (some bindings ignore it): a value that is no string is an error.
    await expect(
      OnnxRuntime.load(tinyClassifier(), {
        extra: { session: { intra_op: { allow_spinning: 0 } } },
      }),
    ).rejects.toThrow(/extra value must be a string/);
  });
});
