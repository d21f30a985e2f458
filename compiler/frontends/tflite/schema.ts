/**
 * The parts of the TFLite schema (tensorflow/lite/schema/schema.fbs, version 3) edgec reads,
 * decoded once into plain objects through the checked accessors of flatbuf.ts. Field numbers are
 * the schema's declaration order.
 */
import { invalid } from '../../errors.js';
import { FbTable, rootTable } from './flatbuf.js';

/** TFLite TensorType codes -> edgec dtypes (undefined: not supported). */
export const TENSOR_TYPES: Readonly<Record<number, string>> = {
  0: 'f32', 1: 'f16', 2: 'i32', 3: 'u8', 4: 'i64', 5: 'string', 6: 'bool', 7: 'i16', 8: 'complex64', 9: 'i8',
  10: 'f64', 11: 'complex128', 12: 'u64', 13: 'resource', 14: 'variant', 15: 'u32', 16: 'u16', 17: 'i4',
};

export interface TflQuant {
  scale: number[];
  zeroPoint: number[];
  /** Axis of per-channel parameters. */
  axis: number;
}

export interface TflTensor {
  shape: number[];
  /** shape_signature (-1 = dynamic), when present. */
  signature: number[] | null;
  type: number;
  buffer: number;
  name: string;
  quant: TflQuant | null;
  isVariable: boolean;
  sparse: boolean;
}

export interface TflOperator {
  opcode: number;
  inputs: number[];
  outputs: number[];
  /** builtin_options union type and table (null when absent). */
  optionsType: number;
  options: FbTable | null;
}

export interface TflSubGraph {
  tensors: TflTensor[];
  inputs: number[];
  outputs: number[];
  operators: TflOperator[];
  name: string;
}

export interface TflOpCode {
  /** Effective builtin code: max(deprecated_builtin_code, builtin_code) as the schema specifies. */
  builtin: number;
  custom: string;
  version: number;
}

export interface TflModel {
  version: number;
  opcodes: TflOpCode[];
  subgraphs: TflSubGraph[];
  /** Buffer contents (empty = no data); data outside the flatbuffer (offset/size) is resolved. */
  buffers: Uint8Array[];
  description: string;
}

function quant(t: FbTable | null): TflQuant | null {
  if (!t) return null;
  const scale = t.f32s(2);
  const zeroPoint = t.i64s(3);
  if (scale.length === 0) return null;
  if (zeroPoint.length !== 0 && zeroPoint.length !== scale.length) {
    throw invalid(`quantization has ${scale.length} scales but ${zeroPoint.length} zero points`);
  }
  return { scale, zeroPoint: zeroPoint.length ? zeroPoint : scale.map(() => 0), axis: t.i32(6, 0) };
}

function tensor(t: FbTable): TflTensor {
  return {
    shape: t.i32s(0),
    signature: t.has(7) ? t.i32s(7) : null,
    type: t.i8(1, 0),
    buffer: t.u32(2, 0),
    name: t.str(3),
    quant: quant(t.table(4, 'QuantizationParameters')),
    isVariable: t.bool(5, false),
    sparse: t.has(6),
  };
}

function operator(t: FbTable): TflOperator {
  return {
    opcode: t.u32(0, 0),
    inputs: t.i32s(1),
    outputs: t.i32s(2),
    optionsType: t.u8(3, 0),
    options: t.table(4, 'builtin options'),
  };
}

/** Decodes a .tflite flatbuffer (identifier "TFL3"). */
export function readTflite(bytes: Uint8Array): TflModel {
  const m = rootTable(bytes, 'TFL3', 'TFLite');
  const version = m.u32(0, 0);
  if (version !== 3) throw invalid(`TFLite schema version ${version} is not supported (3 is)`);
  const opcodes = m.tables(1, 'OperatorCode').map((c) => ({
    builtin: Math.max(c.i8(0, 0), c.i32(3, 0)),
    custom: c.str(1),
    version: c.i32(2, 1),
  }));
  const subgraphs = m.tables(2, 'SubGraph').map((s) => ({
    tensors: s.tables(0, 'Tensor').map(tensor),
    inputs: s.i32s(1),
    outputs: s.i32s(2),
    operators: s.tables(3, 'Operator').map(operator),
    name: s.str(4),
  }));
  const buffers = m.tables(4, 'Buffer').map((b, i) => {
    const data = b.bytes(0);
    const off = b.u64(1, 0);
    const size = b.u64(2, 0);
    if (off > 1) {
      // large models keep buffers after the flatbuffer: offset is from the start of the file
      if (off + size > bytes.length) throw invalid(`buffer ${i} (offset ${off}, ${size} bytes) lies outside the file (${bytes.length} bytes)`);
      return bytes.subarray(off, off + size);
    }
    return data;
  });
  if (subgraphs.length === 0) throw invalid('TFLite model has no subgraph');
  return { version, opcodes, subgraphs, buffers, description: m.str(3) };
}

/** BuiltinOperator names by code (for messages and the op table). */
export const BUILTIN_NAMES: readonly string[] = [
  'ADD', 'AVERAGE_POOL_2D', 'CONCATENATION', 'CONV_2D', 'DEPTHWISE_CONV_2D', 'DEPTH_TO_SPACE', 'DEQUANTIZE',
  'EMBEDDING_LOOKUP', 'FLOOR', 'FULLY_CONNECTED', 'HASHTABLE_LOOKUP', 'L2_NORMALIZATION', 'L2_POOL_2D',
  'LOCAL_RESPONSE_NORMALIZATION', 'LOGISTIC', 'LSH_PROJECTION', 'LSTM', 'MAX_POOL_2D', 'MUL', 'RELU',
  'RELU_N1_TO_1', 'RELU6', 'RESHAPE', 'RESIZE_BILINEAR', 'RNN', 'SOFTMAX', 'SPACE_TO_DEPTH', 'SVDF', 'TANH',
  'CONCAT_EMBEDDINGS', 'SKIP_GRAM', 'CALL', 'CUSTOM', 'EMBEDDING_LOOKUP_SPARSE', 'PAD',
  'UNIDIRECTIONAL_SEQUENCE_RNN', 'GATHER', 'BATCH_TO_SPACE_ND', 'SPACE_TO_BATCH_ND', 'TRANSPOSE', 'MEAN',
  'SUB', 'DIV', 'SQUEEZE', 'UNIDIRECTIONAL_SEQUENCE_LSTM', 'STRIDED_SLICE', 'BIDIRECTIONAL_SEQUENCE_RNN',
  'EXP', 'TOPK_V2', 'SPLIT', 'LOG_SOFTMAX', 'DELEGATE', 'BIDIRECTIONAL_SEQUENCE_LSTM', 'CAST', 'PRELU',
  'MAXIMUM', 'ARG_MAX', 'MINIMUM', 'LESS', 'NEG', 'PADV2', 'GREATER', 'GREATER_EQUAL', 'LESS_EQUAL', 'SELECT',
  'SLICE', 'SIN', 'TRANSPOSE_CONV', 'SPARSE_TO_DENSE', 'TILE', 'EXPAND_DIMS', 'EQUAL', 'NOT_EQUAL', 'LOG',
  'SUM', 'SQRT', 'RSQRT', 'SHAPE', 'POW', 'ARG_MIN', 'FAKE_QUANT', 'REDUCE_PROD', 'REDUCE_MAX', 'PACK',
  'LOGICAL_OR', 'ONE_HOT', 'LOGICAL_AND', 'LOGICAL_NOT', 'UNPACK', 'REDUCE_MIN', 'FLOOR_DIV', 'REDUCE_ANY', 'SQUARE',
  'ZEROS_LIKE', 'FILL', 'FLOOR_MOD', 'RANGE', 'RESIZE_NEAREST_NEIGHBOR', 'LEAKY_RELU', 'SQUARED_DIFFERENCE',
  'MIRROR_PAD', 'ABS', 'SPLIT_V', 'UNIQUE', 'CEIL', 'REVERSE_V2', 'ADD_N', 'GATHER_ND', 'COS', 'WHERE', 'RANK',
  'ELU', 'REVERSE_SEQUENCE', 'MATRIX_DIAG', 'QUANTIZE', 'MATRIX_SET_DIAG', 'ROUND', 'HARD_SWISH', 'IF',
  'WHILE', 'NON_MAX_SUPPRESSION_V4', 'NON_MAX_SUPPRESSION_V5', 'SCATTER_ND', 'SELECT_V2', 'DENSIFY',
  'SEGMENT_SUM', 'BATCH_MATMUL',
];

/** Name of a builtin code (or "builtin N"). */
export function builtinName(code: number): string {
  return BUILTIN_NAMES[code] ?? `builtin ${code}`;
}
