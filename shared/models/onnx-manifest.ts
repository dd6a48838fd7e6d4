/**
 * What an exported ONNX file is, read from the file itself: its sha256, operator sets, inputs and
 * output, and the model it was exported from. The manifest is what a device team checks before
 * loading the file, and what the ledger records about an export.
 */
import { createHash } from 'node:crypto';
import * as z from 'zod';
import { ONNX_METADATA_KEYS } from './onnx-export.ts';
import { decodeOnnxModel, type OnnxValueInfo, onnxDataTypeName } from './onnx-proto.ts';

const Sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits');

/** Element types an edge model's inputs and outputs may have. */
export const OnnxElementTypeSchema = z.enum(['float32', 'string', 'bool', 'int64', 'float64']);
export type OnnxElementType = z.infer<typeof OnnxElementTypeSchema>;

const ELEMENT_TYPES: Readonly<Record<string, OnnxElementType>> = {
  FLOAT: 'float32',
  STRING: 'string',
  BOOL: 'bool',
  INT64: 'int64',
  DOUBLE: 'float64',
};

/** One graph input or output: its name, element type and shape (a string is a named dimension). */
export const OnnxTensorSpecSchema = z.strictObject({
  name: z.string().min(1),
  type: OnnxElementTypeSchema,
  shape: z.array(z.union([z.number().int().nonnegative(), z.string().min(1)])),
});
export type OnnxTensorSpec = z.infer<typeof OnnxTensorSpecSchema>;

/** An operator set the model imports; `ai.onnx` is written out for ONNX's empty default domain. */
export const OnnxOpsetSchema = z.strictObject({
  domain: z.string().min(1),
  version: z.number().int().positive(),
});

/** The signature of an ONNX file, as {@link readOnnxSignature} reads it. */
export const OnnxSignatureSchema = z.strictObject({
  irVersion: z.number().int().positive(),
  opsets: z.array(OnnxOpsetSchema),
  producer: z.strictObject({ name: z.string(), version: z.string() }),
  inputs: z.array(OnnxTensorSpecSchema),
  outputs: z.array(OnnxTensorSpecSchema),
  metadata: z.record(z.string(), z.string()),
});
export type OnnxSignature = z.infer<typeof OnnxSignatureSchema>;

/** The manifest written next to an exported edge model. */
export const EdgeManifestSchema = z.strictObject({
  format: z.literal('onnx'),
  file: z.strictObject({ sha256: Sha256Schema, bytes: z.number().int().positive() }),
  irVersion: z.number().int().positive(),
  opsets: z.array(OnnxOpsetSchema),
  producer: z.strictObject({ name: z.string(), version: z.string() }),
  inputs: z.array(OnnxTensorSpecSchema).min(1),
  output: OnnxTensorSpecSchema,
  /** sha256 of the model file the export was made from (SageMaker's `xgboost-model`). */
  sourceModelSha256: Sha256Schema,
  /** The model version exported, when the file records one. */
  modelVersion: z.string().nullable(),
});
export type EdgeManifest = z.infer<typeof EdgeManifestSchema>;

/** Raised when an ONNX file cannot be described: unknown element types, no single output, or a source hash that disagrees. */
export class EdgeManifestError extends Error {
  override readonly name: string = 'EdgeManifestError';
}

/** The sha256 (hex) of some bytes. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function tensorSpec(info: OnnxValueInfo): OnnxTensorSpec {
  const tensor = info.type?.tensor_type;
  const typeName = tensor ? onnxDataTypeName(tensor.elem_type) : undefined;
  const type = typeName === undefined ? undefined : ELEMENT_TYPES[typeName];
  if (type === undefined) {
    throw new EdgeManifestError(
      `value ${info.name} has element type ${typeName ?? tensor?.elem_type ?? 'none'}, not one of ${Object.keys(ELEMENT_TYPES).join(', ')}`,
    );
  }
  const shape = (tensor?.shape?.dim ?? []).map((d) => ('dim_param' in d ? d.dim_param : d.dim_value));
  return { name: info.name, type, shape };
}

/** Reads the operator sets, inputs, outputs and metadata of a serialized ONNX model. */
export function readOnnxSignature(onnxBytes: Uint8Array): OnnxSignature {
  const model = decodeOnnxModel(onnxBytes);
  return {
    irVersion: model.ir_version,
    opsets: model.opset_import.map((o) => ({ domain: o.domain || 'ai.onnx', version: o.version })),
    producer: { name: model.producer_name ?? '', version: model.producer_version ?? '' },
    inputs: model.graph.input.map(tensorSpec),
    outputs: model.graph.output.map(tensorSpec),
    metadata: Object.fromEntries(model.metadata_props.map((p) => [p.key, p.value])),
  };
}

/**
 * Describes an exported edge model: the file's hash and size, its signature, and the source
 * model's hash (checked against the one the file records, when it records one).
 */
export function buildEdgeManifest(onnxBytes: Uint8Array, sourceModel: Uint8Array): EdgeManifest {
  const signature = readOnnxSignature(onnxBytes);
  const [output, ...extra] = signature.outputs;
  if (!output || extra.length > 0) {
    throw new EdgeManifestError(`an edge model has one output, this one has ${signature.outputs.length}`);
  }
  const sourceModelSha256 = sha256Hex(sourceModel);
  const recorded = signature.metadata[ONNX_METADATA_KEYS.sourceModelSha256];
  if (recorded !== undefined && recorded !== sourceModelSha256) {
    throw new EdgeManifestError(
      `the ONNX file was exported from model ${recorded}, not from the given model ${sourceModelSha256}`,
    );
  }
  return EdgeManifestSchema.parse({
    format: 'onnx',
    file: { sha256: sha256Hex(onnxBytes), bytes: onnxBytes.byteLength },
    irVersion: signature.irVersion,
    opsets: signature.opsets,
    producer: signature.producer,
    inputs: signature.inputs,
    output,
    sourceModelSha256,
    modelVersion: signature.metadata[ONNX_METADATA_KEYS.modelVersion] ?? null,
  });
}
