/**
 * Tiny ONNX models written byte by byte, so runtime specs run a real
 * onnxruntime session without Python or checked-in binaries. Only the fields
 * onnxruntime needs are written (onnx/onnx.proto3: ModelProto, GraphProto,
 * NodeProto, ValueInfoProto, TypeProto.Tensor, TensorShapeProto).
 */

/** ONNX TensorProto.DataType values used here. */
export const ELEM = { FLOAT: 1, INT64: 7, STRING: 8, DOUBLE: 11 } as const;

export interface TinyValue {
  name: string;
  elemType: number;
  /** A number is a fixed dimension, a string a symbolic one ("N"). */
  dims: (number | string)[];
  /** A sequence of such tensors (as skl2onnx's ZipMap outputs are not tensors). */
  sequence?: boolean;
}

export interface TinyNode {
  op: string;
  inputs: string[];
  outputs: string[];
  /** Integer attributes only (axis, keepdims, to). */
  ints?: Record<string, number>;
}

export interface TinyGraph {
  inputs: TinyValue[];
  outputs: TinyValue[];
  nodes: TinyNode[];
  opset?: number;
}

/** The serialized ModelProto of a graph. */
export function tinyOnnxModel(graph: TinyGraph): Uint8Array {
  const model = [
    varintField(1, 8), // ir_version 8 (onnxruntime 1.30 reads 3..10)
    bytesField(7, graphProto(graph)),
    bytesField(8, Buffer.concat([stringField(1, ''), varintField(2, graph.opset ?? 13)])),
  ];
  return new Uint8Array(Buffer.concat(model));
}

/**
 * `x` float [N, 2] → `probabilities` = Identity(x) float [N, 2] and
 * `label` = ArgMax(x, axis 1) int64 [N]: a classifier's two outputs.
 */
export function tinyClassifier(): Uint8Array {
  return tinyOnnxModel({
    inputs: [{ name: 'x', elemType: ELEM.FLOAT, dims: ['N', 2] }],
    outputs: [
      { name: 'label', elemType: ELEM.INT64, dims: ['N'] },
      { name: 'probabilities', elemType: ELEM.FLOAT, dims: ['N', 2] },
    ],
    nodes: [
      { op: 'ArgMax', inputs: ['x'], outputs: ['label'], ints: { axis: 1, keepdims: 0 } },
      { op: 'Identity', inputs: ['x'], outputs: ['probabilities'] },
    ],
  });
}

function graphProto(graph: TinyGraph): Buffer {
  return Buffer.concat([
    ...graph.nodes.map((node, i) => bytesField(1, nodeProto(node, `node${i}`))),
    stringField(2, 'tiny'),
    ...graph.inputs.map((v) => bytesField(11, valueInfo(v))),
    ...graph.outputs.map((v) => bytesField(12, valueInfo(v))),
  ]);
}

function nodeProto(node: TinyNode, name: string): Buffer {
  return Buffer.concat([
    ...node.inputs.map((input) => stringField(1, input)),
    ...node.outputs.map((output) => stringField(2, output)),
    stringField(3, name),
    stringField(4, node.op),
    ...Object.entries(node.ints ?? {}).map(([key, value]) =>
      // AttributeProto: name 1, i 3, type 20 (AttributeType.INT = 2).
      bytesField(
        5,
        Buffer.concat([stringField(1, key), varintField(3, value), varintField(20, 2)]),
      ),
    ),
  ]);
}

function valueInfo(value: TinyValue): Buffer {
  const dims = value.dims.map((d) =>
    bytesField(1, typeof d === 'number' ? varintField(1, d) : stringField(2, d)),
  );
  const tensorType = Buffer.concat([
    varintField(1, value.elemType),
    bytesField(2, Buffer.concat(dims)),
  ]);
  // TypeProto: tensor_type 1; sequence_type 4 (TypeProto.Sequence: elem_type 1).
  const tensor = bytesField(1, tensorType);
  const type = value.sequence ? bytesField(4, bytesField(1, tensor)) : tensor;
  return Buffer.concat([stringField(1, value.name), bytesField(2, type)]);
}

function varint(value: number): Buffer {
  const bytes: number[] = [];
  let v = value;
  while (v > 0x7f) {
    bytes.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  bytes.push(v);
  return Buffer.from(bytes);
}

function varintField(field: number, value: number): Buffer {
  return Buffer.concat([varint(field << 3), varint(value)]);
}

function bytesField(field: number, payload: Buffer): Buffer {
  return Buffer.concat([varint((field << 3) | 2), varint(payload.length), payload]);
}

function stringField(field: number, value: string): Buffer {
  return bytesField(field, Buffer.from(value, 'utf8'));
}
