/**
 * The WebGPU lowering context shared by every op family's lowerings (targets/webgpu/ops/<family>.ts):
 * dispatch steps (kernel id + JSON parameters + named operands), constant blobs (weights, tables),
 * runtime buffers, the integer storage rules of the int8 path (8-bit values packed 4 per word or
 * stored "wide"), and the strided-copy helpers the families share.
 */
import { Graph, Node, ValueId } from '../../compiler/ir/graph.js';
import { numel } from '../../compiler/ir/tensor.js';
import { StridedView, fusedActSpec } from '../common/params.js';
import { ConstCtx } from '../common/ctx.js';
import { BlobCodec, MIN_COMPRESSED, int4Blob, isF16Exact, storedBytes } from '../common/compress.js';
import type { ArenaLowered } from '../common/lowered.js';
import { BufKind, stridesOf } from './wgsl/shader.js';
import { QElem, storeElem, wordsOf } from './wgsl/qshader.js';
import type { Scalar } from './kernels/typed.js';
import '../../compiler/ops/index.js';

/** An operand of a step: a runtime value (or temporary, id < 0) or a constant blob. */
export type Operand = { k: 'val'; id: number } | { k: 'blob'; blob: number };

/** One dispatch. */
export interface Step {
  kernel: string;
  /** Kernel parameters (JSON data; with `kernel`, the pipeline cache key). */
  params: Record<string, unknown>;
  /** Operand name -> where it lives. */
  operands: Record<string, Operand>;
  node: Node;
  reads: number[];
  writes: number[];
}

export type { RuntimeBuffer } from '../common/lowered.js';

/** Result of lowering; constant blobs are f32 data (i32 tables stored as their bit patterns). */
export type Lowered = ArenaLowered<Step, Float32Array, BlobCodec>;

/** Lowering context: graph, compile-time constants, steps and blobs built so far. */
export class LowerCtx extends ConstCtx {
  readonly steps: Step[] = [];
  readonly blobs: Float32Array[] = [];
  readonly codecs: (BlobCodec | undefined)[] = [];
  /** Folded DequantizeLinear outputs of int4 constants: stored as int4 blocks. */
  readonly parent = new Map<number, number>();
  readonly temps = new Map<number, number>();
  private readonly constBlob = new Map<ValueId, number>();
  /** Packed blobs of integer constants already placed (qop). */
  readonly intBlobs = new Map<ValueId, Operand>();
  /** 8-bit values stored one word per element ("wide", see isWide), by alias root. */
  readonly wide = new Set<number>();
  private nextTemp = -1;

  /**
   * @param g graph being lowered
   * @param f16Weights store f32 blobs whose values are all f16 numbers as f16 (--fp16)
   */
  constructor(g: Graph, readonly f16Weights = false) {
    super(g, 'webgpu');
  }

  /** Adds a constant blob. */
  blob(data: Float32Array | Int32Array): Operand {
    const f = data instanceof Float32Array ? data : new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
    this.blobs.push(f.length === 0 ? new Float32Array(1) : f);
    const f16 = this.f16Weights && data instanceof Float32Array && data.length >= MIN_COMPRESSED && isF16Exact(data);
    this.codecs.push(f16 ? { kind: 'f16' } : undefined);
    return { k: 'blob', blob: this.blobs.length - 1 };
  }

  /** Operand of a value: its constant blob or its runtime buffer. */
  op(id: ValueId): Operand {
    const t = this.consts.get(id);
    if (t) {
      if (t.dtype !== 'f32') throw this.unsupported(`constant "${this.g.value(id).name}" has dtype ${t.dtype}; the webgpu target computes in f32`);
      let b = this.constBlob.get(id);
      if (b === undefined) {
        b = (this.blob(this.f32Data(t)) as { blob: number }).blob;
        const q4 = this.int4.get(id);
        // int4 blocks unless f32 is smaller (blocks of one weight: depthwise filters)
        if (q4 && storedBytes(q4.q.length, int4Blob(q4)) < q4.q.length * 4) this.codecs[b] = int4Blob(q4);
        this.constBlob.set(id, b);
      }
      return { k: 'blob', blob: b };
    }
    this.checkRuntime(id);
    return { k: 'val', id };
  }

  /** 'unsupported' unless runtime value `id` (a temporary when negative) is f32. */
  checkRuntime(id: number): void {
    if (id < 0) return;
    const dt = this.g.typeOf(id).dtype;
    if (dt !== 'f32') throw this.unsupported(`value "${this.g.value(id).name}" has dtype ${dt}; the webgpu target computes in f32 only`);
  }

  /**
   * 'unsupported' unless value `id` has a dtype the webgpu arena holds: f32, i32, u32, 8- and
   * 16-bit integers, bool, and i64 held as i32 (graph inputs are checked to fit at run time).
   */
  checkStorable(id: number): void {
    if (id < 0) return;
    const dt = this.g.typeOf(id).dtype;
    if (!STORABLE.has(dt)) throw this.unsupported(`value "${this.g.value(id).name}" has dtype ${dt}, which the webgpu target does not support`);
  }

  /** Graph inputs and outputs: any storable dtype (finish()). */
  checkIo(id: number): void {
    this.checkStorable(id);
  }

  /** A fresh temporary buffer of `bytes` bytes (a negative id). */
  temp(bytes: number): number {
    const id = this.nextTemp--;
    this.temps.set(id, bytes);
    return id;
  }

  /**
   * Adds a dispatch for the current node. `bufs` of the params is filled from the operands.
   * @param kernel kernel id
   * @param params kernel parameters
   * @param operands operand name -> operand
   */
  emit(kernel: string, params: Record<string, unknown>, operands: Record<string, Operand>): void {
    const bufs: Record<string, BufKind> = {};
    const reads: number[] = [];
    const writes: number[] = [];
    for (const [name, o] of Object.entries(operands)) {
      if (o.k === 'blob') bufs[name] = 'weights';
      else if (OUTPUT_OPERANDS.has(name)) writes.push(o.id);
      else reads.push(o.id);
    }
    const p = Object.keys(bufs).length > 0 ? { ...params, bufs } : params;
    this.steps.push({ kernel, params: p, operands, node: this.node, reads, writes });
  }

}

/**
 * Dtypes of runtime values on webgpu: f32 (f16 graphs run as f32, common/f16-graph.ts), the
 * integer types WGSL computes in (i32, u32; 8- and 16-bit values packed into words), bool (as
 * u8), and i64 held as i32: graph inputs must fit (model.mjs checks), constants must fit
 * (compile time), and only ops whose results stay within their inputs' range (data movement,
 * Where, Max / Min, ArgMax / ArgMin, casts from narrower integers) produce i64 values.
 */
export const STORABLE = new Set(['f32', 'i32', 'u32', 'i8', 'u8', 'i16', 'u16', 'bool', 'i64']);

/** Integer and bool dtypes (the values the integer path of ops/qint.ts claims). */
export const INT_DTYPES = new Set(['i32', 'u32', 'i8', 'u8', 'i16', 'u16', 'bool', 'i64']);

/** Operand names kernels write. */
const OUTPUT_OPERANDS = new Set(['y', 'mean', 'rstd']);

/** A lowering function: emits the dispatches of node `n` into `c`. */
export type LowerFn = (c: LowerCtx, n: Node) => void;

/** Operand of runtime value (or temporary) `id`. */
export const val = (id: number): Operand => ({ k: 'val', id });

/** Fused activation of an edgec.Fused* node (null: none). */
export function fusedAct(n: Node): { kind: string; params: number[] } | null {
  const a = fusedActSpec(n);
  return a && { kind: a.kind, params: [a.p0, a.p1] };
}

/** Strided f32 copy y[dstOff + i.dst] = x[srcOff + i.src] over `dims`. */
export function copyView(c: LowerCtx, y: Operand, ySize: number, dstStrides: number[], dstOff: number,
  x: Operand, xSize: number, srcStrides: number[], srcOff: number, dims: number[]): void {
  if (dims.some((d) => d === 0)) return;
  c.emit('copy_strided_f32', { dims, srcStrides, dstStrides, srcOff, dstOff, srcSize: Math.max(1, xSize), dstSize: ySize }, { x, y });
}

/** Copies the strided view `v` of f32 runtime/constant `x` into the contiguous output `y`. */
export function viewCopy(c: LowerCtx, y: number, x: ValueId, v: StridedView): void {
  copyView(c, val(y), numel(v.dims), stridesOf(v.dims), 0, c.op(x), numel(c.shape(x)), v.strides, v.offset, v.dims);
}

// ---------------------------------------------------------------------------------------------
// Integer storage (the int8 path: wgsl/qshader.ts)
// ---------------------------------------------------------------------------------------------

/** Alias root of a value id. */
function rootOf(c: LowerCtx, id: number): number {
  let r = id;
  while (c.parent.has(r)) r = c.parent.get(r)!;
  return r;
}

/**
 * True when 8-bit value `id` is stored one word per element ("wide"): outputs of convolutions /
 * GEMMs whose rows do not fill whole words (a thread would share a word with its neighbour).
 * Consumers read them with int32 loaders, so no packing pass is needed.
 */
export function isWide(c: LowerCtx, id: number): boolean {
  return c.wide.has(rootOf(c, id));
}

/** Marks value `id` as stored wide (see isWide). */
export function markWide(c: LowerCtx, id: number): void {
  c.wide.add(rootOf(c, id));
}

/**
 * Arena bytes of a runtime value: 8-bit values packed 4 per word (unless wide), everything else
 * 4 bytes per element (at least one word).
 * @param c lowering context
 * @param id value id
 */
export function valueBytes(c: LowerCtx, id: ValueId): number {
  return (isWide(c, id) ? Math.max(1, numel(c.shape(id))) : wordsOf(c.g.typeOf(id).dtype, numel(c.shape(id)))) * 4;
}

/** Loader element kind of a runtime or constant integer operand: its dtype, or 'i32' when stored wide. */
export function qelem<T extends string>(c: LowerCtx, id: ValueId, dtype: T): T | 'i32' {
  return isWide(c, id) ? 'i32' : dtype;
}

/** Packs 8-bit values 4 per little-endian word. */
export function pack8(v: ArrayLike<number>): Int32Array {
  const out = new Int32Array(Math.max(1, Math.ceil(v.length / 4)));
  for (let i = 0; i < v.length; i++) out[i >> 2] = out[i >> 2]! | ((v[i]! & 0xff) << ((i & 3) * 8));
  return out;
}

/** Packs 16-bit values 2 per word. */
export function pack16(v: ArrayLike<number>): Int32Array {
  const out = new Int32Array(Math.max(1, Math.ceil(v.length / 2)));
  for (let i = 0; i < v.length; i++) out[i >> 1] = out[i >> 1]! | ((v[i]! & 0xffff) << ((i & 1) * 16));
  return out;
}

/** Operand of an integer (or f32) value: its packed constant blob or its runtime buffer. */
export function qop(c: LowerCtx, id: ValueId): Operand {
  const t = c.consts.get(id);
  if (!t) return val(id);
  let o = c.intBlobs.get(id);
  if (!o) {
    const d = t.data;
    if (d instanceof Int8Array || d instanceof Uint8Array) o = c.blob(pack8(d));
    else if (d instanceof Int16Array || d instanceof Uint16Array) o = c.blob(pack16(d));
    else if (d instanceof Int32Array || d instanceof Float32Array) o = c.blob(d);
    else if (d instanceof Uint32Array) o = c.blob(new Int32Array(d.buffer, d.byteOffset, d.length));
    else if (d instanceof BigInt64Array && t.dtype === 'i64') {
      const w = new Int32Array(d.length);
      for (let i = 0; i < d.length; i++) {
        if (d[i]! < -(2n ** 31n) || d[i]! >= 2n ** 31n) throw c.unsupported(`i64 constant "${c.g.value(id).name}" holds ${d[i]}, outside the i32 range webgpu holds i64 values in`);
        w[i] = Number(d[i]!);
      }
      o = c.blob(w);
    } else throw c.unsupported(`constant "${c.g.value(id).name}" has dtype ${t.dtype}, which the webgpu target does not support`);
    c.intBlobs.set(id, o);
  }
  return o;
}

/**
 * Loader element kind of an operand of dtype `dt` (wgsl/qshader.ts): 'f32' for f32 values, the
 * storage kind for integers, 'i32' for 8-bit values stored wide.
 * @param c lowering context
 * @param id value id, or a negative temporary (never wide)
 * @param dt its dtype
 */
export function loadElem(c: LowerCtx, id: number, dt: string): QElem {
  if (dt === 'f32') return 'f32';
  return id >= 0 && isWide(c, id) ? 'i32' : storeElem(dt);
}

/**
 * WGSL scalar type values of dtype `dt` are computed in: 8- and 16-bit integers (signed or not)
 * and i64 (held as i32) in i32, u32 in u32, bool as bool.
 * @param dt dtype
 */
export function scalarOf(dt: string): Scalar {
  return dt === 'f32' ? 'f32' : dt === 'u32' ? 'u32' : dt === 'bool' ? 'bool' : 'i32';
}
