/**
 * The wasm lowering context shared by every op family's lowerings (targets/wasm/ops/<family>.ts):
 * parameter-block words, kernel steps, constant blobs (weights, tables), runtime buffers and the
 * shape helpers (coalescing strided views, strided copies) the families share.
 */
import { Graph, Node, ValueId } from '../../compiler/ir/graph.js';
import { numel } from '../../compiler/ir/tensor.js';
import { internal } from '../../compiler/errors.js';
import { broadcastStrides, contiguous, fusedClamp, opAttrs } from '../common/params.js';
import { ConstCtx } from '../common/ctx.js';
import { BlobCodec, Int4Blob, MIN_COMPRESSED, decodeInt4, int4Blob, isF16Exact, storedBytes } from '../common/compress.js';
import { KERNELS, KernelId, MAX_DIMS, UNARY } from './kernels.js';
import type { MemoryPlan } from './memory-plan.js';
import '../../compiler/ops/index.js';

/** One word of a parameter block. */
export type Word =
  | { k: 'i'; v: number }
  | { k: 'f'; v: number }
  /** Address of runtime buffer `id` plus `off` bytes. */
  | { k: 'buf'; id: number; off: number }
  /** Address of constant blob `id` plus `off` bytes. */
  | { k: 'blob'; id: number; off: number }
  /** Address of this step's scratch buffer. */
  | { k: 'scratch' }
  /** Null address (optional operand absent). */
  | { k: 'null' };

/** One kernel call. */
export interface Step {
  kernel: KernelId;
  words: Word[];
  /** Graph node this step implements (for comments, profiling). */
  node: Node;
  /** Runtime buffer ids read and written (ids of values or temporaries). */
  reads: number[];
  writes: number[];
  /** Bytes of scratch needed during this step (0: none). */
  scratchBytes: number;
  /** In-place candidate [input id, output id]: the output may reuse the input's buffer. */
  inplace?: [number, number];
}

/** A runtime buffer (root of an alias class). */
export interface RuntimeBuffer {
  bytes: number;
  first: number;
  last: number;
}

/** Result of lowering: steps, buffers, memory plan, constant blobs and the model's I/O. */
export interface Lowered {
  steps: Step[];
  blobs: Uint8Array[];
  /** Storage of each blob (parallel to `blobs`): f16 halves or int4 blocks expanded at instantiation; undefined: as is. */
  codecs: (BlobCodec | undefined)[];
  /** Buffer id (root) of every runtime value id and temporary. */
  rootOf: (id: number) => number;
  buffers: Map<number, RuntimeBuffer>;
  plan: MemoryPlan;
  /** Scratch buffer key of step i (in plan.offsets) when it needs one. */
  scratchKey: Map<number, number>;
  inputs: { id: ValueId; name: string; shape: number[]; dtype: string }[];
  outputs: { id: number; name: string; shape: number[]; dtype: string }[];
  /** Nodes that were lowered to kernel calls, in order (profiling layer names). */
  layers: Node[];
}


export const f32 = (v: number): Word => ({ k: 'f', v });
export const i32 = (v: number): Word => ({ k: 'i', v });
export const NULL: Word = { k: 'null' };
export const SCRATCH: Word = { k: 'scratch' };

/** Lowering options. */
export interface LowerOptions {
  /** Store f32 blobs whose values are all f16 numbers as f16, expanded at instantiation (--fp16). */
  f16Weights?: boolean;
  /** Keep every 8-bit activation in its graph layout (NCHW): observer builds read them from memory. */
  graphLayouts?: boolean;
}

/** Lowering context: graph, constants known at compile time, steps and blobs built so far. */
export class LowerCtx extends ConstCtx {
  readonly steps: Step[] = [];
  readonly blobs: Uint8Array[] = [];
  readonly codecs: (BlobCodec | undefined)[] = [];
  /** Alias parent of a value (reshape-like ops). */
  readonly parent = new Map<number, number>();
  private readonly constBlob = new Map<ValueId, number>();
  /** Temporary buffers: synthetic ids below 0 with byte sizes. */
  readonly temps = new Map<number, number>();
  private nextTemp = -1;

  /**
   * @param g graph being lowered
   * @param opts f16Weights: store f32 blobs whose values are all f16 numbers as f16 (--fp16)
   */
  constructor(g: Graph, readonly opts: LowerOptions = {}) {
    super(g, 'wasm');
  }

  /** Adds a constant blob (bytes copied) and returns its address word. */
  blob(data: Float32Array | Int32Array | Uint8Array): Word {
    const bytes = new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
    this.blobs.push(bytes);
    const f16 = data instanceof Float32Array && this.opts.f16Weights && data.length >= MIN_COMPRESSED && isF16Exact(data);
    this.codecs.push(f16 ? { kind: 'f16' } : undefined);
    return { k: 'blob', id: this.blobs.length - 1, off: 0 };
  }

  /**
   * Adds an f32 blob stored as int4 blocks (expanded at instantiation) and returns its address
   * word; stored as f32 when that is smaller (blocks of one weight: depthwise filters).
   */
  int4Blob(b: Int4Blob): Word {
    if (storedBytes(b.q.length, b) >= b.q.length * 4) return this.blob(decodeInt4(b));
    this.blobs.push(new Uint8Array(b.q.length * 4));
    this.codecs.push(b);
    return { k: 'blob', id: this.blobs.length - 1, off: 0 };
  }

  /**
   * True when constant weights `id` are stored compressed and a value-changing transform (the
   * Winograd filter transform) would leave them f32: such layers keep the direct kernels.
   */
  compressed(id: ValueId): boolean {
    return this.opts.f16Weights === true || this.int4.has(id);
  }

  /** Address word of a value: its constant blob, or its runtime buffer. `offElems` adds f32 elements. */
  addr(id: ValueId, offElems = 0): Word {
    const t = this.consts.get(id);
    if (t) {
      if (t.dtype !== 'f32') throw this.unsupported(`constant "${this.g.value(id).name}" has dtype ${t.dtype}; the wasm target computes in f32`);
      let b = this.constBlob.get(id);
      if (b === undefined) {
        const q = this.int4.get(id);
        const w = (q ? this.int4Blob(int4Blob(q)) : this.blob(this.f32Data(t))) as { id: number };
        b = w.id;
        this.constBlob.set(id, b);
      }
      return { k: 'blob', id: b, off: offElems * 4 };
    }
    this.checkRuntime(id);
    return { k: 'buf', id, off: offElems * 4 };
  }

  /**
   * Bytes per element of a value that data-movement ops (copies, aliases, gathers, pads) may carry:
   * 4 for f32/i32, 1 for i8/u8; any other dtype is 'unsupported'.
   */
  esize(id: ValueId): 1 | 4 {
    const dt = this.g.typeOf(id).dtype;
    if (dt === 'f32' || dt === 'i32') return 4;
    if (dt === 'i8' || dt === 'u8') return 1;
    throw this.unsupported(`value "${this.g.value(id).name}" has dtype ${dt}; wasm data movement supports f32, i32, i8 and u8`);
  }

  /**
   * Address word of a value of any data-movement dtype (see esize): constants become raw-byte blobs,
   * `offElems` counts elements of the value's own size.
   */
  vaddr(id: ValueId, offElems = 0): Word {
    const es = this.esize(id);
    const t = this.consts.get(id);
    if (t && t.dtype !== 'f32') {
      let b = this.constBlob.get(id);
      if (b === undefined) {
        const d = t.data as Int8Array | Uint8Array | Int32Array;
        b = (this.blob(new Uint8Array(d.buffer, d.byteOffset, d.byteLength)) as { id: number }).id;
        this.constBlob.set(id, b);
      }
      return { k: 'blob', id: b, off: offElems * es };
    }
    if (t || es === 4 && this.g.typeOf(id).dtype === 'f32') return this.addr(id, offElems);
    return { k: 'buf', id, off: offElems * es };
  }

  /** Bytes of a runtime value's buffer (its element size times its element count). */
  valueBytes(id: ValueId): number {
    const dt = this.g.typeOf(id).dtype;
    const es = dt === 'i8' || dt === 'u8' || dt === 'bool' ? 1 : dt === 'f16' || dt === 'i16' || dt === 'u16' ? 2 : dt === 'i64' || dt === 'f64' || dt === 'u64' ? 8 : 4;
    return numel(this.shape(id)) * es;
  }

  /** Runtime values must be f32. */
  checkRuntime(id: number): void {
    if (id < 0) return;
    const dt = this.g.typeOf(id).dtype;
    if (dt !== 'f32') throw this.unsupported(`value "${this.g.value(id).name}" has dtype ${dt}; the wasm target computes in f32 only`);
  }

  /** A temporary runtime buffer of `bytes` (live from its writer to its last reader). */
  temp(bytes: number): number {
    const id = this.nextTemp--;
    this.temps.set(id, bytes);
    return id;
  }

  /** Adds a kernel call for the current node. */
  emit(kernel: KernelId, words: Word[], opts: { reads?: (number | null)[]; writes: number[]; scratch?: number; inplace?: [number, number]; anyDtype?: boolean }): void {
    if (words.length !== KERNELS[kernel].words) throw internal(`${kernel}: ${words.length} parameter words, expected ${KERNELS[kernel].words}`);
    const reads = (opts.reads ?? []).filter((x): x is number => x !== null && !(x >= 0 && this.consts.has(x)));
    const st: Step = { kernel, words, node: this.node, reads, writes: opts.writes, scratchBytes: opts.scratch ?? 0 };
    if (opts.inplace && !this.isConst(opts.inplace[0])) st.inplace = opts.inplace;
    for (const w of opts.writes) {
      if (opts.anyDtype && w >= 0) this.esize(w);
      else this.checkRuntime(w);
    }
    this.steps.push(st);
  }

  /** Parsed attributes of the current node (with its op's schema). */
  attrs<A>(): A {
    return opAttrs<A>(this.node, this.opset);
  }
}

// ---------------------------------------------------------------------------------------------
// Shape helpers
// ---------------------------------------------------------------------------------------------

// re-exported for the op families
export { broadcastStrides, contiguous };

/**
 * Drops size-1 dims and merges adjacent dims that are contiguous in every stride list, then
 * left-pads to MAX_DIMS. Returns undefined when more than MAX_DIMS dims remain.
 */
export function coalesce(dims: readonly number[], strides: readonly (readonly number[])[]): { dims: number[]; strides: number[][] } | undefined {
  const d: number[] = [];
  const s: number[][] = strides.map(() => []);
  dims.forEach((n, i) => {
    if (n === 1) return;
    const last = d.length - 1;
    if (last >= 0 && strides.every((st, k) => s[k]![last] === st[i]! * n)) {
      d[last] = d[last]! * n;
      strides.forEach((st, k) => (s[k]![last] = st[i]!));
    } else {
      d.push(n);
      strides.forEach((st, k) => s[k]!.push(st[i]!));
    }
  });
  if (d.length > MAX_DIMS) return undefined;
  while (d.length < MAX_DIMS) {
    d.unshift(1);
    s.forEach((x) => x.unshift(0));
  }
  return { dims: d, strides: s };
}

/** Fused activation of an edgec.Fused* node as a (lo, hi) clamp plus a post-pass act code. */
export type FusedAct = { lo: number; hi: number; code: number; a0: number; a1: number };

export function fusedAct(n: Node): FusedAct {
  const { lo, hi, post } = fusedClamp(n);
  return { lo, hi, code: post ? UNARY[post.kind] : 0, a0: post?.p0 ?? 0, a1: post?.p1 ?? 0 };
}

/** A lowering function: appends the steps of node `n` to the context. */
export type LowerFn = (c: LowerCtx, n: Node) => void;

/**
 * Strided copy of a view: dst[i] (dstStrides) = src[i] (srcStrides) over `dims`, elements of
 * `esize` bytes (4: copy_strided, 1: copy_strided_u8; strides count elements).
 */
export function copyView(c: LowerCtx, dst: Word, dstStrides: number[], src: Word, srcStrides: number[], dims: number[],
  io: { reads: (number | null)[]; writes: number[] }, esize: 1 | 4 = 4): void {
  if (dims.some((d) => d === 0)) return;
  const co = coalesce(dims, [srcStrides, dstStrides]);
  if (!co) throw c.unsupported(`a copy over ${dims.length} non-contiguous dims exceeds the ${MAX_DIMS}-dim kernel`);
  c.emit(esize === 1 ? 'copy_strided_u8' : 'copy_strided', [dst, src, ...co.dims.map(i32), ...co.strides[0]!.map(i32), ...co.strides[1]!.map(i32)],
    { ...io, anyDtype: true });
}

/** Element size shared by a data-movement op's data input and outputs (they must agree). */
export function moveSize(c: LowerCtx, n: Node, x: ValueId): 1 | 4 {
  const es = c.esize(x);
  for (const o of n.outputs) {
    if (c.g.typeOf(o).dtype !== c.g.typeOf(x).dtype) throw c.unsupported(`${n.op} output dtype ${c.g.typeOf(o).dtype} differs from its input's ${c.g.typeOf(x).dtype}`);
  }
  return es;
}

export const asF32 = (q: Int8Array): Float32Array => Float32Array.from(q);
export const asI8 = (f: Float32Array): Int8Array => Int8Array.from(f);
