/**
 * The messages of proto/open-inference.proto as @grpc/proto-loader hands them
 * over with GRPC_LOADER_OPTIONS (grpc.server.ts): field names as in the
 * .proto, 64-bit integers as decimal strings (exact beyond 2^53), bytes as
 * Buffers, repeated fields always arrays, absent messages null.
 */

export interface InferParameterMessage {
  bool_param?: boolean;
  int64_param?: string;
  string_param?: string;
  double_param?: number;
  uint64_param?: string;
  /** Which of the above is set (proto-loader's `oneofs`). */
  parameter_choice?: string;
}

export type ParameterMap = Record<string, InferParameterMessage>;

export interface InferTensorContentsMessage {
  bool_contents: boolean[];
  int_contents: number[];
  int64_contents: (string | number)[];
  uint_contents: number[];
  uint64_contents: (string | number)[];
  fp32_contents: number[];
  fp64_contents: number[];
  bytes_contents: Buffer[];
}

export interface InferInputTensorMessage {
  name: string;
  datatype: string;
  shape: (string | number)[];
  parameters?: ParameterMap;
  contents?: Partial<InferTensorContentsMessage> | null;
}

export interface ModelInferRequestMessage {
  model_name: string;
  model_version: string;
  id: string;
  parameters?: ParameterMap;
  inputs: InferInputTensorMessage[];
  outputs: { name: string; parameters?: ParameterMap }[];
  raw_input_contents: Buffer[];
}

export interface InferOutputTensorMessage {
  name: string;
  datatype: string;
  shape: number[];
  contents?: Partial<InferTensorContentsMessage>;
}

export interface ModelInferResponseMessage {
  model_name: string;
  model_version: string;
  id: string;
  outputs: InferOutputTensorMessage[];
  raw_output_contents: Buffer[];
}

export interface ModelRefMessage {
  name: string;
  version: string;
}

export interface TensorMetadataMessage {
  name: string;
  datatype: string;
  shape: number[];
}

export interface ModelMetadataResponseMessage {
  name: string;
  versions: string[];
  platform: string;
  inputs: TensorMetadataMessage[];
  outputs: TensorMetadataMessage[];
}

export interface RepositoryIndexRequestMessage {
  repository_name: string;
  ready: boolean;
}

export interface RepositoryModelRequestMessage {
  repository_name: string;
  model_name: string;
}

export interface RepositoryIndexResponseMessage {
  models: { name: string; version: string; state: string; reason: string }[];
}
