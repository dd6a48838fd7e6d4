/**
 * ONNX's protobuf schema, read with protobufjs from the vendored `onnx.proto` next to this file
 * (github.com/onnx/onnx, tag v1.22.0, commit 2bb50465112feca9003e1ed654d77f01ff1415ca, Apache-2.0,
 * unmodified). The interfaces below are the part of ModelProto this project writes and reads,
 * with the proto's own field names, so an object here is the message as it goes on the wire.
 */
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';

/** `TensorProto.DataType` values this project uses (the numbers are read from onnx.proto). */
export type OnnxDataTypeName = 'FLOAT' | 'STRING' | 'BOOL' | 'INT64' | 'DOUBLE';

/** `AttributeProto.AttributeType` values this project uses. */
export type OnnxAttributeTypeName = 'FLOAT' | 'INT' | 'STRING' | 'TENSOR' | 'FLOATS' | 'INTS' | 'STRINGS';

/** A TensorProto (initializers and tensor attributes). */
export interface OnnxTensor {
  readonly name?: string;
  readonly dims: readonly number[];
  readonly data_type: number;
  readonly float_data?: readonly number[];
  readonly int64_data?: readonly number[];
  readonly string_data?: readonly Uint8Array[];
  readonly raw_data?: Uint8Array;
}

/** An AttributeProto: `type` says which one value field is set. */
export interface OnnxAttribute {
  readonly name: string;
  readonly type: number;
  readonly f?: number;
  readonly i?: number;
  /** UTF-8 bytes (protobufjs would read a JS string as base64). */
  readonly s?: Uint8Array;
  readonly t?: OnnxTensor;
  readonly floats?: readonly number[];
  readonly ints?: readonly number[];
  readonly strings?: readonly Uint8Array[];
}

/** A NodeProto. */
export interface OnnxNode {
  readonly name?: string;
  readonly op_type: string;
  /** Empty or absent for the default `ai.onnx` domain. */
  readonly domain?: string;
  readonly input: readonly string[];
  readonly output: readonly string[];
  readonly attribute: readonly OnnxAttribute[];
  readonly doc_string?: string;
}

/** One dimension of a tensor shape: a fixed size or a named (symbolic) one. */
export type OnnxDimension = { readonly dim_value: number } | { readonly dim_param: string };

/** A ValueInfoProto of a tensor. */
export interface OnnxValueInfo {
  readonly name: string;
  /** Required on graph inputs and outputs; may be absent on a file read back. */
  readonly type?: {
    readonly tensor_type: {
      readonly elem_type: number;
      readonly shape?: { readonly dim: readonly OnnxDimension[] };
    };
  };
  readonly doc_string?: string;
}

/** A GraphProto. */
export interface OnnxGraph {
  readonly name: string;
  readonly node: readonly OnnxNode[];
  readonly initializer: readonly OnnxTensor[];
  readonly input: readonly OnnxValueInfo[];
  readonly output: readonly OnnxValueInfo[];
  readonly doc_string?: string;
}

/** An OperatorSetIdProto; the empty domain is `ai.onnx`. */
export interface OnnxOpset {
  readonly domain: string;
  readonly version: number;
}

/** A ModelProto. */
export interface OnnxModel {
  readonly ir_version: number;
  readonly opset_import: readonly OnnxOpset[];
  readonly producer_name?: string;
  readonly producer_version?: string;
  readonly domain?: string;
  readonly model_version?: number;
  readonly doc_string?: string;
  readonly graph: OnnxGraph;
  readonly metadata_props: readonly { readonly key: string; readonly value: string }[];
}

/** Raised when bytes are not an ONNX ModelProto, or an object cannot be written as one. */
export class OnnxFormatError extends Error {
  override readonly name: string = 'OnnxFormatError';
}

interface Schema {
  readonly model: protobuf.Type;
  readonly dataTypes: Readonly<Record<string, number>>;
  readonly attributeTypes: Readonly<Record<string, number>>;
}

let loaded: Schema | undefined;

/** Parses onnx.proto once, on first use (it is a file read and a parse, a few milliseconds). */
function schema(): Schema {
  if (loaded) return loaded;
  const text = readFileSync(new URL('./onnx.proto', import.meta.url), 'utf8');
  // keepCase: the field names stay as onnx.proto spells them (ir_version, op_type, ...).
  const { root } = protobuf.parse(text, { keepCase: true });
  loaded = {
    model: root.lookupType('onnx.ModelProto'),
    dataTypes: root.lookupEnum('onnx.TensorProto.DataType').values,
    attributeTypes: root.lookupEnum('onnx.AttributeProto.AttributeType').values,
  };
  return loaded;
}

function enumValue(values: Readonly<Record<string, number>>, name: string, what: string): number {
  const value = values[name];
  if (value === undefined) throw new OnnxFormatError(`onnx.proto has no ${what} ${name}`);
  return value;
}

/** The number of a `TensorProto.DataType`, as onnx.proto defines it. */
export function onnxDataType(name: OnnxDataTypeName): number {
  return enumValue(schema().dataTypes, name, 'TensorProto.DataType');
}

/** The name of a `TensorProto.DataType` number, or `undefined` for a number onnx.proto does not define. */
export function onnxDataTypeName(value: number): string | undefined {
  return Object.entries(schema().dataTypes).find(([, v]) => v === value)?.[0];
}

/** The number of an `AttributeProto.AttributeType`, as onnx.proto defines it. */
export function onnxAttributeType(name: OnnxAttributeTypeName): number {
  return enumValue(schema().attributeTypes, name, 'AttributeProto.AttributeType');
}

/** Serializes a ModelProto. */
export function encodeOnnxModel(model: OnnxModel): Uint8Array {
  const type = schema().model;
  const problem = type.verify(model);
  if (problem) throw new OnnxFormatError(`not a valid ModelProto: ${problem}`);
  return type.encode(type.fromObject(model)).finish();
}

/** Parses a serialized ModelProto (int64 fields as numbers, bytes fields as Uint8Array). */
export function decodeOnnxModel(bytes: Uint8Array): OnnxModel {
  const type = schema().model;
  let message: protobuf.Message;
  try {
    message = type.decode(bytes);
  } catch (e) {
    throw new OnnxFormatError(`not an ONNX model: ${e instanceof Error ? e.message : String(e)}`);
  }
  const model = type.toObject(message, { longs: Number, enums: Number, arrays: true, defaults: false });
  if (typeof model.ir_version !== 'number' || typeof model.graph !== 'object' || model.graph === null) {
    throw new OnnxFormatError('not an ONNX model: no ir_version or graph');
  }
  return model as OnnxModel;
}
