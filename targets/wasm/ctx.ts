/**
 * The wasm lowering context shared by every op family's lowerings (targets/wasm/ops/<family>.ts):
 * parameter-block words, kernel steps, constant blobs (weights, tables), runtime buffers and the
 * shape helpers (coalescing strided views, strided copies) the families share.
 */
import { Graph, Node, ValueId } from '../../compiler/ir/graph.js';
import { DType, numberToBf16Bits, numberToF16Bits } from '../../compiler/ir/dtype.js';
import { Tensor, numel } from '../../compiler/ir/tensor.js';
import { internal } from '../../compiler/errors.js';
import { broadcastStrides, contiguous, fusedClamp, opAttrs } from '../common/params.js';
import { ConstCtx } from '../common/ctx.js';
import { BlobCodec, BlockedValues, Int4Blob, MIN_COMPRESSED, decodeBlocked, int4Blob, isF16Exact, storedBytes } from '../common/compress.js';
import { KERNELS, KernelId, MAX_DIMS, UNARY } from './kernels.js';
import type { ArenaLowered } from '../common/lowered.js';
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
  /** Control step (If/Loop/Scan, ops/control.ts): shapes `run`, calls no kernel (`kernel`, `words` unused). */
  ctrl?: Ctrl;
  /** Words rewritten before each call inside loops (per-iteration slices of Scan/Loop values). */
  patches?: Patch[];
}

/**
 * Structure of `run` (module.ts turns it into wasm `if`/`loop`): `if` runs the steps up to its
 * `else`/`end` when the bool byte at `cond` is nonzero; `loop` repeats the steps up to its `end`
 * with an iteration counter i = 0, 1, ... while i < trip (an i64 at an address, or a number; none:
 * unbounded) and the bool byte at `cond` is nonzero (none: no check), first storing i as an i64 at
 * `iter` (none: not stored). Loop ids number the loops of one lowering from 0. `count`: the number
 * of iterations the loop must run (Loop scan outputs of a declared length with a run-time trip
 * count): running more or fewer traps (wasm `unreachable`) instead of writing past the outputs.
 */
export type Ctrl =
  | { k: 'if'; cond: Word }
  | { k: 'else' }
  | { k: 'loop'; id: number; trip: Word | number | null; cond: Word | null; iter: Word | null; count?: number }
  | { k: 'end' };

/** Parameter word `word` = its static value + the sum of counter(loop) * stride (bytes) over `terms`. */
export interface Patch {
  word: number;
  terms: { loop: number; stride: number }[];
}

export type { RuntimeBuffer } from '../common/lowered.js';

/** Result of lowering: steps, buffers, memory plan, constant blobs and the model's I/O; plus per-step scratch buffers. */
export interface Lowered extends ArenaLowered<Step, Uint8Array, WasmCodec> {
  /** Scratch buffer key of step i (in plan.offsets) when it needs one. */
  scratchKey: Map<number, number>;
}

export const f32 = (v: number): Word => ({ k: 'f', v });
export const i32 = (v: number): Word => ({ k: 'i', v });
export const NULL: Word = { k: 'null' };
export const SCRATCH: Word = { k: 'scratch' };

/**
 * Bytes per element of every dtype a wasm runtime value may have (f16/bf16: their 16-bit
 * encodings; bool: one byte holding 0 or 1; i64/u64: little-endian 64-bit integers; i4/u4:
 * unpacked, one byte per element holding the value as an i8/u8 does, like the reference's storage).
 */
export const DTYPE_BYTES: Readonly<Partial<Record<DType, 1 | 2 | 4 | 8>>> = {
  f32: 4, f64: 8, f16: 2, bf16: 2, i8: 1, u8: 1, i16: 2, u16: 2, i32: 4, u32: 4, i64: 8, u64: 8, bool: 1, i4: 1, u4: 1,
};

/** True when values of `dt` can live in a wasm runtime buffer (see DTYPE_BYTES). */
export function isRuntimeDtype(dt: DType): boolean {
  return DTYPE_BYTES[dt] !== undefined;
}

/**
 * The bytes of a constant tensor as a runtime buffer of its dtype holds them: f16/bf16 as their
 * 16-bit encodings (the reference stores their values in a Float32Array), others as stored.
 * @param t constant of a runtime dtype (DTYPE_BYTES)
 */
export function runtimeBytes(t: Tensor): Uint8Array {
  if (t.dtype === 'f16' || t.dtype === 'bf16') {
    const enc = t.dtype === 'f16' ? numberToF16Bits : numberToBf16Bits;
    const h = new Uint16Array(t.size);
    for (let i = 0; i < t.size; i++) h[i] = enc(t.get(i));
    return new Uint8Array(h.buffer);
  }
  const d = t.data as Uint8Array;
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

/**
 * An f32 blob stored as int8 values (one signed byte each, blob order) and f32 scales over the view
 * [outer, D, inner] with blocks of `block` along D, expanded at instantiation by int8_dequant_f32:
 * value(o, d, i) = f32(q * scale[(o * ceil(D / block) + floor(d / block)) * inner + i]) (the
 * int4 view of ../common/compress.ts). Recurrent gate matrices under --int8 (ops/rnn.ts).
 */
export interface Int8Blob extends BlockedValues {
  kind: 'int8';
}

/** Smallest saving (bytes) worth storing a blob as int8 (below it: f32). */
export const INT8_MIN_SAVING = 128;

/**
 * A blob in a kernel layout (int8 weight panels, pairs, Winograd transforms) stored as the raw
 * weights it is built from and packed at instantiation by `kernel` (runtime-wasm/assembly/wpack.ts),
 * so model.wasm holds each weight once, at its precision. The kernel's parameter block is
 * [src address, blob address, ...words]. The blob's own bytes (Lowered.blobs) are the packed layout
 * computed at compile time: dynamic artifacts write those as they are.
 */
export interface PackBlob {
  kind: 'pack';
  kernel: 'qpack_i8' | 'wino_pack_f32' | 'sparse_pack_f32';
  /** The stored bytes the kernel reads (e.g. int8 weights, row-major). */
  src: Uint8Array;
  /** Parameter words after the source and destination addresses ('blob' words: other blobs). */
  words: Word[];
}

/** Storage of a wasm blob: the shared codecs, int8 values, or raw weights packed at instantiation. */
export type WasmCodec = BlobCodec | Int8Blob | PackBlob;

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
  readonly codecs: (WasmCodec | undefined)[] = [];
  /** Alias parent of a value (reshape-like ops). */
  readonly parent = new Map<number, number>();
  private readonly constBlob = new Map<ValueId, number>();
  /** Temporary buffers: synthetic ids below 0 with byte sizes. */
  readonly temps = new Map<number, number>();
  private nextTemp = -1;
  /** Lowers one node of a subgraph body inlined by ops/control.ts (set by lowerGraph). */
  lowerHook?: (n: Node) => void;
  /** Loops opened so far (Ctrl loop ids). */
  loops = 0;
  /** Subgraph nodes that emitted kernel steps (profiling layers beside the graph's own). */
  readonly bodyLayers: Node[] = [];

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
    if (storedBytes(b.q.length, b) >= b.q.length * 4) return this.blob(decodeBlocked(b));
    this.blobs.push(new Uint8Array(b.q.length * 4));
    this.codecs.push(b);
    return { k: 'blob', id: this.blobs.length - 1, off: 0 };
  }

  /**
   * Adds an f32 blob stored as int8 values and scales (expanded at instantiation) and returns its
   * address word; stored as f32 when that saves at most INT8_MIN_SAVING bytes.
   */
  int8Blob(b: Int8Blob): Word {
    // stored as f32 unless it saves more than the expansion's parameter block and code cost
    if (b.q.length * 3 - b.scale.length * 4 <= INT8_MIN_SAVING) return this.blob(decodeBlocked(b));
    this.blobs.push(new Uint8Array(b.q.length * 4));
    this.codecs.push(b);
    return { k: 'blob', id: this.blobs.length - 1, off: 0 };
  }

  /**
   * Adds a blob whose contents `packed` a kernel builds at instantiation from the smaller `src`
   * (PackBlob) and returns its address word; stored as `packed` when that is not larger.
   */
  packedBlob(packed: Uint8Array, codec: Omit<PackBlob, 'kind'>): Word {
    if (codec.src.length + 4 * KERNELS[codec.kernel].words >= packed.length) return this.blob(packed);
    this.blobs.push(new Uint8Array(packed.buffer.slice(packed.byteOffset, packed.byteOffset + packed.byteLength)));
    this.codecs.push({ kind: 'pack', ...codec });
    return { k: 'blob', id: this.blobs.length - 1, off: 0 };
  }

  /**
   * True when constant weights `id` are stored compressed and a value-changing transform (the
   * Winograd filter transform) would leave them f32: such layers keep the direct kernels.
   */
  compressed(id: ValueId): boolean {
    return this.opts.f16Weights === true || this.int4.has(id);
  }

  /** Address word of an f32 value: its constant blob, or its runtime buffer. `offElems` adds f32 elements. */
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
    this.requireF32(id);
    return { k: 'buf', id, off: offElems * 4 };
  }

  /**
   * Bytes per element of a value that data-movement ops (copies, aliases, gathers, pads) carry:
   * every runtime dtype (1: i8/u8/bool, 2: f16/bf16/i16/u16, 4: f32/i32/u32, 8: f64/i64/u64);
   * others are 'unsupported'.
   */
  esize(id: ValueId): 1 | 2 | 4 | 8 {
    return this.dtypeBytes(id);
  }

  /**
   * Address word of a value of any runtime dtype (DTYPE_BYTES): f32 values as `addr`, constants of
   * other dtypes as raw-byte blobs (runtimeBytes); `offElems` counts elements of the value's size.
   */
  vaddr(id: ValueId, offElems = 0): Word {
    const dt = this.g.typeOf(id).dtype;
    const t = this.consts.get(id);
    if (t ? t.dtype === 'f32' : dt === 'f32') return this.addr(id, offElems);
    const es = this.dtypeBytes(id);
    if (t) {
      let b = this.constBlob.get(id);
      if (b === undefined) {
        if (t.dtype !== dt) throw this.unsupported(`constant "${this.g.value(id).name}" holds ${t.dtype} data for a ${dt} value`);
        b = (this.blob(runtimeBytes(t)) as { id: number }).id;
        this.constBlob.set(id, b);
      }
      return { k: 'blob', id: b, off: offElems * es };
    }
    return { k: 'buf', id, off: offElems * es };
  }

  /** Bytes per element of a value of a runtime dtype ('unsupported' for strings). */
  dtypeBytes(id: ValueId): 1 | 2 | 4 | 8 {
    this.checkRuntime(id);
    return DTYPE_BYTES[this.g.typeOf(id).dtype]!;
  }

  /** Bytes of a runtime value's buffer (its element size times its element count). */
  valueBytes(id: ValueId): number {
    return numel(this.shape(id)) * (DTYPE_BYTES[this.g.typeOf(id).dtype] ?? 4);
  }

  /** Runtime values may have any dtype of DTYPE_BYTES ('unsupported' for strings, sequences). */
  checkRuntime(id: number): void {
    if (id < 0) return;
    const v = this.g.value(id);
    if (v.type.kind) throw this.unsupported(`value "${v.name}" is a ${v.type.kind}; the wasm target runs tensors only`);
    if (!isRuntimeDtype(v.type.dtype)) throw this.unsupported(`value "${v.name}" has dtype ${v.type.dtype}; the wasm target runs f32, f64, f16, bf16, 4..64-bit integers and bool`);
  }

  /** Graph inputs and outputs are runtime values (checkRuntime; targets/common/lowered.ts). */
  checkIo(id: number): void {
    this.checkRuntime(id);
  }

  /** The f32 kernels' operands must be f32: 'unsupported' naming the value otherwise. */
  requireF32(id: number): void {
    if (id < 0) return;
    this.checkRuntime(id);
    const dt = this.g.typeOf(id).dtype;
    if (dt !== 'f32') throw this.unsupported(`value "${this.g.value(id).name}" has dtype ${dt}; this wasm kernel computes in f32 only`);
  }

  /** A temporary runtime buffer of `bytes` (live from its writer to its last reader). */
  temp(bytes: number): number {
    const id = this.nextTemp--;
    this.temps.set(id, bytes);
    return id;
  }

  /**
   * Adds a kernel call for the current node. Written values must be f32 (the f32 kernels), or of
   * the data-movement dtypes (`anyDtype`, see esize), or of dtype `dtype` (the dtype-generic
   * kernels: a DType, or 'any' for every runtime dtype).
   */
  emit(kernel: KernelId, words: Word[], opts: { reads?: (number | null)[]; writes: number[]; scratch?: number; inplace?: [number, number]; anyDtype?: boolean; dtype?: DType | 'any' }): void {
    if (words.length !== KERNELS[kernel].words) throw internal(`${kernel}: ${words.length} parameter words, expected ${KERNELS[kernel].words}`);
    const reads = (opts.reads ?? []).filter((x): x is number => x !== null && !(x >= 0 && this.consts.has(x)));
    const st: Step = { kernel, words, node: this.node, reads, writes: opts.writes, scratchBytes: opts.scratch ?? 0 };
    if (opts.inplace && !this.isConst(opts.inplace[0])) st.inplace = opts.inplace;
    for (const w of opts.writes) {
      if (w < 0) continue;
      if (opts.dtype !== undefined) {
        this.checkRuntime(w);
        const dt = this.g.typeOf(w).dtype;
        if (opts.dtype !== 'any' && dt !== opts.dtype) throw internal(`${kernel} writes ${opts.dtype} into "${this.g.value(w).name}" of dtype ${dt}`);
      } else if (opts.anyDtype) this.esize(w);
      else this.requireF32(w);
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
 * `esize` bytes (4: copy_strided, 1: copy_strided_u8, 2 and 8: copy_strided_es; strides count elements).
 */
export function copyView(c: LowerCtx, dst: Word, dstStrides: number[], src: Word, srcStrides: number[], dims: number[],
  io: { reads: (number | null)[]; writes: number[] }, esize: 1 | 2 | 4 | 8 = 4): void {
  if (dims.some((d) => d === 0)) return;
  const co = coalesce(dims, [srcStrides, dstStrides]);
  if (!co) throw c.unsupported(`a copy over ${dims.length} non-contiguous dims exceeds the ${MAX_DIMS}-dim kernel`);
  const words = [dst, src, ...co.dims.map(i32), ...co.strides[0]!.map(i32), ...co.strides[1]!.map(i32)];
  if (esize === 1 || esize === 4) c.emit(esize === 1 ? 'copy_strided_u8' : 'copy_strided', words, { ...io, anyDtype: true });
  else c.emit('copy_strided_es', [...words, i32(esize)], { ...io, anyDtype: true });
}

/** Element size shared by a data-movement op's data input and outputs (they must agree). */
export function moveSize(c: LowerCtx, n: Node, x: ValueId): 1 | 2 | 4 | 8 {
  const es = c.esize(x);
  for (const o of n.outputs) {
    if (c.g.typeOf(o).dtype !== c.g.typeOf(x).dtype) throw c.unsupported(`${n.op} output dtype ${c.g.typeOf(o).dtype} differs from its input's ${c.g.typeOf(x).dtype}`);
  }
  return es;
}

export const asF32 = (q: Int8Array): Float32Array => Float32Array.from(q);
export const asI8 = (f: Float32Array): Int8Array => Int8Array.from(f);
