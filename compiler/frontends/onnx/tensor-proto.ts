/**
 * TensorProto <-> Tensor. Used for initializers, Constant attributes and .pb data files.
 * Every declared size is checked (with BigInt) before anything is allocated.
 */
import onnxproto from 'onnx-proto';
import { DType, ONNX_DTYPE, ONNX_DTYPE_NAMES, dtypeFromOnnx, f16BitsToNumber, bf16BitsToNumber, numberToF16Bits, numberToBf16Bits } from '../../ir/dtype.js';
import { Tensor, TensorData, allocData } from '../../ir/tensor.js';
import { DEFAULT_LIMITS, ErrorContext, Limits, invalid, limit, numeric, unsupported } from '../../errors.js';

const { onnx } = onnxproto;
type TP = onnxproto.onnx.ITensorProto;

/** protobufjs Long-like or number -> number (exact below 2^53). */
export function toNum(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v && typeof v === 'object' && 'low' in v && 'high' in v) {
    return Number(toBig(v));
  }
  if (typeof v === 'string') return Number(v);
  return Number(v);
}

/** protobufjs Long-like or number -> exact bigint. */
export function toBig(v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return BigInt(Math.trunc(v));
  if (v && typeof v === 'object' && 'low' in v && 'high' in v) {
    const o = v as { low: number; high: number; unsigned?: boolean };
    const b = (BigInt(o.high >>> 0) << 32n) | BigInt(o.low >>> 0);
    return o.unsigned ? BigInt.asUintN(64, b) : BigInt.asIntN(64, b);
  }
  return BigInt(String(v));
}

/** Resolves external data to bytes (the ONNX loader confines paths to the model folder). */
export type ExternalReader = (location: string, offset: number, length: number | undefined, ctx: ErrorContext) => Uint8Array;

export interface TensorDecodeOptions {
  limits?: Limits;
  external?: ExternalReader;
  /** Where this tensor comes from, for error messages. */
  ctx?: ErrorContext;
  /**
   * Reject NaN in float payloads (weights). +-Inf stays valid: it is how models write unbounded
   * Clip limits, -inf attention masks and open Range limits (RELIABILITY.md).
   */
  rejectNaN?: boolean;
}

/** Element count of dims, checked against limits (BigInt arithmetic; no overflow). */
export function checkedNumel(dims: readonly unknown[], dt: DType, limits: Limits, ctx: ErrorContext): number {
  let n = 1n;
  for (const d of dims) {
    const b = toBig(d);
    if (b < 0n) throw invalid(`negative dimension ${b}`, ctx);
    n *= b;
    if (n > BigInt(limits.maxTensorBytes) * 8n) break;
  }
  const bits = dt === 'string' ? 8n : BigInt(Math.max(1, dtypeBitsOf(dt)));
  const bytes = (n * bits + 7n) / 8n;
  if (bytes > BigInt(limits.maxTensorBytes)) {
    throw limit(`tensor of ${n} elements (${bytes} bytes) exceeds the limit of ${limits.maxTensorBytes} bytes`, {
      ...ctx,
      hint: 'raise it with --max-tensor-bytes',
    });
  }
  return Number(n);
}

function dtypeBitsOf(dt: DType): number {
  switch (dt) {
    case 'i4': case 'u4': return 4;
    case 'bool': case 'i8': case 'u8': return 8;
    case 'f16': case 'bf16': case 'i16': case 'u16': return 16;
    case 'f32': case 'i32': case 'u32': return 32;
    default: return 64;
  }
}

/** Maps an ONNX elem_type to a DType, or throws 'unsupported' naming the type. */
export function dtypeOrThrow(n: number, ctx: ErrorContext): DType {
  const dt = dtypeFromOnnx(n);
  if (!dt) {
    const name = ONNX_DTYPE_NAMES[n];
    if (name === undefined) throw invalid(`unknown tensor data type ${n}`, ctx);
    throw unsupported(`data type ${name} is not supported`, ctx);
  }
  return dt;
}

/** Decodes a TensorProto message into a Tensor. */
export function tensorFromProto(tp: TP, opts: TensorDecodeOptions = {}): Tensor {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const ctx: ErrorContext = { ...opts.ctx };
  if (tp.name && ctx.tensor === undefined) ctx.tensor = tp.name;
  if (tp.segment) throw unsupported('segmented tensors are not supported', ctx);
  const dt = dtypeOrThrow(tp.dataType ?? 0, ctx);
  const dims = (tp.dims ?? []).map((d) => toNum(d));
  if (dims.length > limits.maxRank) throw limit(`tensor rank ${dims.length} exceeds the limit of ${limits.maxRank}`, ctx);
  const n = checkedNumel(tp.dims ?? [], dt, limits, ctx);
  let raw: Uint8Array | undefined;
  if (tp.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    if (!opts.external) throw unsupported('external data is not allowed here', ctx);
    const kv = new Map<string, string>();
    for (const e of tp.externalData ?? []) kv.set(e.key ?? '', e.value ?? '');
    const loc = kv.get('location');
    if (!loc) throw invalid('external data without a location', ctx);
    const off = kv.has('offset') ? Number(kv.get('offset')) : 0;
    const len = kv.has('length') ? Number(kv.get('length')) : undefined;
    if (!Number.isSafeInteger(off) || off < 0 || (len !== undefined && (!Number.isSafeInteger(len) || len < 0))) {
      throw invalid(`external data offset/length are not valid non-negative integers`, ctx);
    }
    raw = opts.external(loc, off, len, ctx);
  } else if (tp.rawData && tp.rawData.length > 0) {
    raw = tp.rawData;
  }
  // Check the payload length before allocating: a few bytes declaring 2^30 elements must not
  // cost a gigabyte (or, for strings, a 2^30-element JS array) before being rejected.
  if (raw) {
    if (dt === 'string') throw invalid('string tensors cannot use raw_data', ctx);
    expectLen(raw.length, Math.ceil((n * dtypeBitsOf(dt)) / 8), 'bytes', ctx);
  } else if (n > 0) {
    const [have, want, what] = typedPayloadCount(dt, tp, n);
    expectLen(have, want, what, ctx);
  }
  const data = allocData(dt, n);
  if (raw) {
    decodeRaw(dt, raw, data, n, ctx);
  } else if (n > 0) {
    decodeTyped(dt, tp, data, n, ctx);
  }
  const t = new Tensor(dt, dims, data);
  if (opts.rejectNaN && (dt === 'f32' || dt === 'f64' || dt === 'f16' || dt === 'bf16')) {
    const d = data as Float32Array;
    for (let i = 0; i < n; i++) {
      if (Number.isNaN(d[i]!)) throw numeric(`tensor holds NaN at element ${i}`, { ...ctx, hint: 'weights must not be NaN (+-Inf is allowed)' });
    }
  }
  return t;
}

function expectLen(got: number, want: number, what: string, ctx: ErrorContext): void {
  if (got !== want) throw invalid(`tensor payload has ${got} ${what} but its dims need ${want}`, ctx);
}

function decodeRaw(dt: DType, raw: Uint8Array, data: TensorData, n: number, ctx: ErrorContext): void {
  if (dt === 'string') throw invalid('string tensors cannot use raw_data', ctx);
  const bits = dtypeBitsOf(dt);
  const want = Math.ceil((n * bits) / 8);
  expectLen(raw.length, want, 'bytes', ctx);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  switch (dt) {
    case 'f32': for (let i = 0; i < n; i++) (data as Float32Array)[i] = view.getFloat32(i * 4, true); break;
    case 'f64': for (let i = 0; i < n; i++) (data as Float64Array)[i] = view.getFloat64(i * 8, true); break;
    case 'f16': for (let i = 0; i < n; i++) (data as Float32Array)[i] = f16BitsToNumber(view.getUint16(i * 2, true)); break;
    case 'bf16': for (let i = 0; i < n; i++) (data as Float32Array)[i] = bf16BitsToNumber(view.getUint16(i * 2, true)); break;
    case 'i8': for (let i = 0; i < n; i++) (data as Int8Array)[i] = view.getInt8(i); break;
    case 'u8': for (let i = 0; i < n; i++) (data as Uint8Array)[i] = view.getUint8(i); break;
    case 'bool': for (let i = 0; i < n; i++) (data as Uint8Array)[i] = view.getUint8(i) ? 1 : 0; break;
    case 'i16': for (let i = 0; i < n; i++) (data as Int16Array)[i] = view.getInt16(i * 2, true); break;
    case 'u16': for (let i = 0; i < n; i++) (data as Uint16Array)[i] = view.getUint16(i * 2, true); break;
    case 'i32': for (let i = 0; i < n; i++) (data as Int32Array)[i] = view.getInt32(i * 4, true); break;
    case 'u32': for (let i = 0; i < n; i++) (data as Uint32Array)[i] = view.getUint32(i * 4, true); break;
    case 'i64': for (let i = 0; i < n; i++) (data as BigInt64Array)[i] = view.getBigInt64(i * 8, true); break;
    case 'u64': for (let i = 0; i < n; i++) (data as BigUint64Array)[i] = view.getBigUint64(i * 8, true); break;
    case 'i4': case 'u4': unpack4(dt, (i) => raw[i]!, data as Int8Array, n); break;
  }
}

function unpack4(dt: 'i4' | 'u4', byte: (i: number) => number, out: Int8Array | Uint8Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const b = byte(i >> 1);
    let v = i & 1 ? (b >> 4) & 15 : b & 15;
    if (dt === 'i4' && v >= 8) v -= 16;
    out[i] = v;
  }
}

/** [values present, values needed, what they are] for a payload in the typed *_data fields. */
function typedPayloadCount(dt: DType, tp: TP, n: number): [number, number, string] {
  switch (dt) {
    case 'f32': return [(tp.floatData ?? []).length, n, 'floats'];
    case 'f64': return [(tp.doubleData ?? []).length, n, 'doubles'];
    case 'i64': return [(tp.int64Data ?? []).length, n, 'int64 values'];
    case 'u32': case 'u64': return [(tp.uint64Data ?? []).length, n, 'uint64 values'];
    case 'string': return [(tp.stringData ?? []).length, n, 'strings'];
    case 'i4': case 'u4': return [(tp.int32Data ?? []).length, Math.ceil(n / 2), 'packed int4 values'];
    default: return [(tp.int32Data ?? []).length, n, 'int32 values'];
  }
}

function decodeTyped(dt: DType, tp: TP, data: TensorData, n: number, ctx: ErrorContext): void {
  switch (dt) {
    case 'f32': {
      const src = tp.floatData ?? [];
      expectLen(src.length, n, 'floats', ctx);
      (data as Float32Array).set(src);
      return;
    }
    case 'f64': {
      const src = tp.doubleData ?? [];
      expectLen(src.length, n, 'doubles', ctx);
      (data as Float64Array).set(src);
      return;
    }
    case 'i64': {
      const src = tp.int64Data ?? [];
      expectLen(src.length, n, 'int64 values', ctx);
      for (let i = 0; i < n; i++) (data as BigInt64Array)[i] = toBig(src[i]);
      return;
    }
    case 'u32': case 'u64': {
      const src = tp.uint64Data ?? [];
      expectLen(src.length, n, 'uint64 values', ctx);
      for (let i = 0; i < n; i++) {
        if (dt === 'u64') (data as BigUint64Array)[i] = BigInt.asUintN(64, toBig(src[i]));
        else (data as Uint32Array)[i] = Number(BigInt.asUintN(32, toBig(src[i])));
      }
      return;
    }
    case 'string': {
      const src = tp.stringData ?? [];
      expectLen(src.length, n, 'strings', ctx);
      const dec = new TextDecoder();
      for (let i = 0; i < n; i++) (data as string[])[i] = dec.decode(src[i]);
      return;
    }
    case 'i4': case 'u4': {
      const src = tp.int32Data ?? [];
      expectLen(src.length, Math.ceil(n / 2), 'packed int4 values', ctx);
      unpack4(dt, (i) => src[i]! & 255, data as Int8Array, n);
      return;
    }
    default: {
      // f16/bf16 bit patterns, bool, int8..int32, uint8/uint16 in int32_data
      const src = tp.int32Data ?? [];
      expectLen(src.length, n, 'int32 values', ctx);
      for (let i = 0; i < n; i++) {
        const v = src[i]!;
        if (dt === 'f16') (data as Float32Array)[i] = f16BitsToNumber(v & 0xffff);
        else if (dt === 'bf16') (data as Float32Array)[i] = bf16BitsToNumber(v & 0xffff);
        else if (dt === 'bool') (data as Uint8Array)[i] = v ? 1 : 0;
        else (data as Int32Array)[i] = v;
      }
    }
  }
}

/** Encodes a tensor as a TensorProto message object (raw_data, little-endian). */
export function tensorToProto(t: Tensor, name = ''): onnxproto.onnx.TensorProto {
  const tp = new onnx.TensorProto();
  tp.name = name;
  tp.dataType = ONNX_DTYPE[t.dtype];
  tp.dims = t.shape.map((d) => d) as unknown as typeof tp.dims;
  if (t.dtype === 'string') {
    const enc = new TextEncoder();
    tp.stringData = (t.data as string[]).map((s) => enc.encode(s));
    return tp;
  }
  tp.rawData = rawBytes(t);
  return tp;
}

/** Little-endian raw bytes of a tensor's payload (ONNX raw_data layout). */
export function rawBytes(t: Tensor): Uint8Array {
  const n = t.size;
  const bits = dtypeBitsOf(t.dtype);
  const out = new Uint8Array(Math.ceil((n * bits) / 8));
  const v = new DataView(out.buffer);
  const d = t.data;
  switch (t.dtype) {
    case 'f32': for (let i = 0; i < n; i++) v.setFloat32(i * 4, (d as Float32Array)[i]!, true); break;
    case 'f64': for (let i = 0; i < n; i++) v.setFloat64(i * 8, (d as Float64Array)[i]!, true); break;
    case 'f16': for (let i = 0; i < n; i++) v.setUint16(i * 2, numberToF16Bits((d as Float32Array)[i]!), true); break;
    case 'bf16': for (let i = 0; i < n; i++) v.setUint16(i * 2, numberToBf16Bits((d as Float32Array)[i]!), true); break;
    case 'i8': case 'u8': case 'bool': for (let i = 0; i < n; i++) v.setUint8(i, ((d as Uint8Array)[i]! & 255)); break;
    case 'i16': case 'u16': for (let i = 0; i < n; i++) v.setUint16(i * 2, ((d as Uint16Array)[i]! & 0xffff), true); break;
    case 'i32': case 'u32': for (let i = 0; i < n; i++) v.setUint32(i * 4, ((d as Uint32Array)[i]! >>> 0), true); break;
    case 'i64': for (let i = 0; i < n; i++) v.setBigInt64(i * 8, (d as BigInt64Array)[i]!, true); break;
    case 'u64': for (let i = 0; i < n; i++) v.setBigUint64(i * 8, (d as BigUint64Array)[i]!, true); break;
    case 'i4': case 'u4':
      for (let i = 0; i < n; i++) {
        const q = (d as Int8Array)[i]! & 15;
        out[i >> 1] = out[i >> 1]! | (i & 1 ? q << 4 : q);
      }
      break;
    default: throw unsupported(`cannot encode ${t.dtype}`);
  }
  return out;
}

/** Decodes a serialized TensorProto (.pb data file). */
export function decodeTensorProtoBytes(bytes: Uint8Array, opts: TensorDecodeOptions = {}): { name: string; tensor: Tensor } {
  let tp: onnxproto.onnx.TensorProto;
  try {
    tp = onnx.TensorProto.decode(bytes);
  } catch (e) {
    throw invalid(`not a valid ONNX TensorProto (.pb): ${(e as Error).message}`, opts.ctx);
  }
  if (tp.dataType === 0 || tp.dataType === undefined) {
    throw invalid('not a valid ONNX TensorProto (.pb): no data type', opts.ctx);
  }
  return { name: tp.name ?? '', tensor: tensorFromProto(tp, opts) };
}

/** Serializes a tensor as a TensorProto (.pb data file). */
export function encodeTensorProtoBytes(t: Tensor, name = ''): Uint8Array {
  return onnx.TensorProto.encode(tensorToProto(t, name)).finish();
}
