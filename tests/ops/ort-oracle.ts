/**
 * Single-node ONNX models built in code, run on onnxruntime-node (the oracle) and on the reference
 * interpreter through the ONNX importer.
 */
import * as ort from 'onnxruntime-node';
import onnxproto from 'onnx-proto';
import { DType, ONNX_DTYPE, f16BitsToNumber, numberToF16Bits } from '../../compiler/ir/dtype.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { importOnnx } from '../../compiler/frontends/onnx/import.js';
import { tensorToProto } from '../../compiler/frontends/onnx/tensor-proto.js';
import { runGraph } from '../../compiler/interp/interp.js';

const { onnx } = onnxproto;

/** Attribute values as written in a test: numbers (int when integral unless listed in `floats`), strings, lists. */
export type AttrIn = number | string | number[] | string[] | Tensor;

export interface NodeModel {
  op: string;
  opset: number;
  /** Graph inputs (fed at run time), in node-input order; null leaves an optional input out. */
  inputs: (Tensor | null)[];
  /** Inputs given as initializers instead (same positions as `inputs`, overriding them). */
  consts?: Record<number, Tensor>;
  attrs?: Record<string, AttrIn>;
  /** Attribute names that must be encoded as FLOAT(S) even when the value is integral. */
  floatAttrs?: string[];
  outputs?: number;
}

const ORT_TYPE: Partial<Record<DType, string>> = {
  f32: 'float32', f64: 'float64', f16: 'float16', i8: 'int8', u8: 'uint8', i16: 'int16', u16: 'uint16',
  i32: 'int32', u32: 'uint32', i64: 'int64', u64: 'uint64', bool: 'bool', string: 'string',
};
const FROM_ORT: Record<string, DType> = Object.fromEntries(Object.entries(ORT_TYPE).map(([k, v]) => [v, k as DType]));

function attrProto(name: string, v: AttrIn, asFloat: boolean): onnxproto.onnx.AttributeProto {
  const a = new onnx.AttributeProto({ name });
  const T = onnx.AttributeProto.AttributeType;
  if (v instanceof Tensor) { a.type = T.TENSOR; a.t = tensorToProto(v, name); }
  else if (typeof v === 'string') { a.type = T.STRING; a.s = new TextEncoder().encode(v); }
  else if (typeof v === 'number') {
    if (asFloat || !Number.isInteger(v)) { a.type = T.FLOAT; a.f = v; } else { a.type = T.INT; a.i = v; }
  } else if (v.length > 0 && typeof v[0] === 'string') { a.type = T.STRINGS; a.strings = (v as string[]).map((s) => new TextEncoder().encode(s)); }
  else if (asFloat || (v as number[]).some((x) => !Number.isInteger(x))) { a.type = T.FLOATS; a.floats = v as number[]; }
  else { a.type = T.INTS; a.ints = v as number[]; }
  return a;
}

function valueInfo(name: string, t: Tensor | null, dtype?: DType): onnxproto.onnx.ValueInfoProto {
  const vi = new onnx.ValueInfoProto({ name });
  const elemType = ONNX_DTYPE[(t?.dtype ?? dtype)!];
  vi.type = new onnx.TypeProto({
    tensorType: new onnx.TypeProto.Tensor({
      elemType,
      ...(t ? { shape: new onnx.TensorShapeProto({ dim: t.shape.map((d) => new onnx.TensorShapeProto.Dimension({ dimValue: d })) }) } : {}),
    }),
  });
  return vi;
}

/** Serialized single-node model. Output types are left to the runtimes (declared without shape). */
export function buildModel(m: NodeModel, outTypes: DType[]): Uint8Array {
  const count = Math.max(m.inputs.length, ...Object.keys(m.consts ?? {}).map((k) => Number(k) + 1));
  const names = Array.from({ length: count }, (_, i) => (m.inputs[i] || m.consts?.[i] ? `in${i}` : ''));
  const node = new onnx.NodeProto({
    opType: m.op,
    input: names,
    output: outTypes.map((_, k) => `out${k}`),
    attribute: Object.entries(m.attrs ?? {}).map(([k, v]) => attrProto(k, v, m.floatAttrs?.includes(k) ?? false)),
  });
  const graph = new onnx.GraphProto({
    name: 'g',
    node: [node],
    input: m.inputs.flatMap((t, i) => (t && !m.consts?.[i] ? [valueInfo(`in${i}`, t)] : [])),
    initializer: Object.entries(m.consts ?? {}).map(([i, t]) => tensorToProto(t, `in${i}`)),
    output: outTypes.map((dt, k) => valueInfo(`out${k}`, null, dt)),
  });
  const model = new onnx.ModelProto({ irVersion: 8, opsetImport: [{ domain: '', version: m.opset }], graph });
  return onnx.ModelProto.encode(model).finish();
}

function toOrt(t: Tensor): ort.Tensor {
  const type = ORT_TYPE[t.dtype];
  if (!type) throw new Error(`no onnxruntime type for ${t.dtype}`);
  let data: unknown = t.data;
  if (t.dtype === 'f16') data = Uint16Array.from(t.data as Float32Array, (v) => numberToF16Bits(v));
  if (t.dtype === 'bool') data = Uint8Array.from(t.data as Uint8Array);
  return new ort.Tensor(type as 'float32', data as Float32Array, [...t.shape]);
}

function fromOrt(t: ort.Tensor): Tensor {
  const dt = FROM_ORT[t.type];
  if (!dt) throw new Error(`unexpected onnxruntime type ${t.type}`);
  const shape = [...t.dims];
  if (dt === 'f16') return new Tensor('f16', shape, Float32Array.from(t.data as Uint16Array, (h) => f16BitsToNumber(h)));
  if (dt === 'bool') return new Tensor('bool', shape, Uint8Array.from(t.data as Uint8Array, (v) => (v ? 1 : 0)));
  if (dt === 'string') return new Tensor('string', shape, [...(t.data as string[])]);
  return new Tensor(dt, shape, t.data as Float32Array);
}

/** Runs the model on onnxruntime-node and returns its outputs. */
export async function runOrt(m: NodeModel, outTypes: DType[]): Promise<Tensor[]> {
  const sess = await ort.InferenceSession.create(buildModel(m, outTypes));
  const feeds: Record<string, ort.Tensor> = {};
  m.inputs.forEach((t, i) => { if (t && !m.consts?.[i]) feeds[`in${i}`] = toOrt(t); });
  const res = await sess.run(feeds);
  return outTypes.map((_, k) => fromOrt(res[`out${k}`]!));
}

/** Runs the same model on the reference interpreter. */
export function runRef(m: NodeModel, outTypes: DType[]): Tensor[] {
  const g = importOnnx(buildModel(m, outTypes));
  return runGraph(g, m.inputs.filter((t, i): t is Tensor => t !== null && !m.consts?.[i]));
}
