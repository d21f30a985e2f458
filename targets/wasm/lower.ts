/**
 * Lowering of an optimized graph (concrete shapes) to a list of kernel calls on one linear memory.
 *
 * Each node becomes zero or more steps: a call of a runtime-wasm kernel with the address of a
 * parameter block (kernels.ts lists the layouts). Parameter words refer to runtime buffers
 * (planned into the arena by memory-plan.ts), to constant blobs (weights, tables: placed in the
 * module's data segment) or to a per-step scratch buffer. Reshape-like ops are aliases (no copy);
 * elementwise ops may run in place. Nodes whose inputs are all constant are evaluated at compile
 * time with the reference kernels. An op, attribute combination or dtype without a wasm lowering
 * is an 'unsupported' EdgecError naming the op and node, never a silent fallback.
 */
import { Graph, Node, ValueId } from '../../compiler/ir/graph.js';
import { numel } from '../../compiler/ir/tensor.js';
import { internal } from '../../compiler/errors.js';
import { normAxis } from '../../compiler/ops/registry.js';
import {
  batchNormAffine, broadcastStrides, contiguous, convGeom, depthSpaceView, expandToInner, fusedClamp, gatherLayout, gemmBias, gemmSpec,
  gridSampleSpec, opAttrs, padSpec, partOffsets, poolGeom, reduceAxes, sliceView, softmaxLayout, tileView, transposeView, unarySpec,
} from '../common/params.js';
import { resizeSpec, resizeTable } from '../common/resize.js';
import { ConstCtx } from '../common/ctx.js';
import {
  BlobCodec, Int4Blob, Int4Weight, MIN_COMPRESSED, decodeInt4, int4Blob, isF16Exact, storedBytes,
} from '../common/compress.js';
import { BIAS, BINARY, KERNELS, KernelId, MAX_DIMS, REDUCE, UNARY } from './kernels.js';
import { BufferReq, MemoryPlan, planMemory } from './memory-plan.js';
import '../../compiler/ops/index.js';
import { INT8_LOWERINGS, lowerMaxPoolInt8 } from './lower-int8.js';

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

const f32 = (v: number): Word => ({ k: 'f', v });
const i32 = (v: number): Word => ({ k: 'i', v });
const NULL: Word = { k: 'null' };
const SCRATCH: Word = { k: 'scratch' };

/** Ops whose output is the input's bytes under another shape. */
const ALIAS_OPS = new Set(['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Identity', 'Dropout']);

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

// re-exported for lower-int8.ts and other users of this module
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
type FusedAct = { lo: number; hi: number; code: number; a0: number; a1: number };

function fusedAct(n: Node): FusedAct {
  const { lo, hi, post } = fusedClamp(n);
  return { lo, hi, code: post ? UNARY[post.kind] : 0, a0: post?.p0 ?? 0, a1: post?.p1 ?? 0 };
}

// ---------------------------------------------------------------------------------------------
// Op lowerings (one named function per op family)
// ---------------------------------------------------------------------------------------------

type LowerFn = (c: LowerCtx, n: Node) => void;

/**
 * Strided copy of a view: dst[i] (dstStrides) = src[i] (srcStrides) over `dims`, elements of
 * `esize` bytes (4: copy_strided, 1: copy_strided_u8; strides count elements).
 */
function copyView(c: LowerCtx, dst: Word, dstStrides: number[], src: Word, srcStrides: number[], dims: number[],
  io: { reads: (number | null)[]; writes: number[] }, esize: 1 | 4 = 4): void {
  if (dims.some((d) => d === 0)) return;
  const co = coalesce(dims, [srcStrides, dstStrides]);
  if (!co) throw c.unsupported(`a copy over ${dims.length} non-contiguous dims exceeds the ${MAX_DIMS}-dim kernel`);
  c.emit(esize === 1 ? 'copy_strided_u8' : 'copy_strided', [dst, src, ...co.dims.map(i32), ...co.strides[0]!.map(i32), ...co.strides[1]!.map(i32)],
    { ...io, anyDtype: true });
}

/** Element size shared by a data-movement op's data input and outputs (they must agree). */
function moveSize(c: LowerCtx, n: Node, x: ValueId): 1 | 4 {
  const es = c.esize(x);
  for (const o of n.outputs) {
    if (c.g.typeOf(o).dtype !== c.g.typeOf(x).dtype) throw c.unsupported(`${n.op} output dtype ${c.g.typeOf(o).dtype} differs from its input's ${c.g.typeOf(x).dtype}`);
  }
  return es;
}

function lowerConv(c: LowerCtx, n: Node): void {
  const [xId, wId, bId] = n.inputs;
  const y = n.outputs[0]!;
  const xs = c.shape(xId!);
  const ws = c.shape(wId!);
  const nd = xs.length - 2;
  if (nd < 1 || nd > 2) throw c.unsupported(`${nd}-D convolution is not supported on wasm (1-D and 2-D only)`);
  const { geo, group } = convGeom(c, n, xs, ws);
  const [N, C] = [xs[0]!, xs[1]!];
  const K = ws[0]!;
  const H = geo.I[1], W = geo.I[2], OH = geo.O[1], OW = geo.O[2];
  const KH = geo.K[1], KW = geo.K[2];
  const act = fusedAct(n);
  const Cg = C / group;
  const depthwise = group === C && group === K;
  const direct = KH === 1 && KW === 1 && geo.S[1] === 1 && geo.S[2] === 1 && geo.P[1] === 0 && geo.P[2] === 0 && OH === H && OW === W;
  const scratch = depthwise ? depthwiseScratchBytes(H, W, OH, OW, KH, KW, geo.S[1], geo.S[2], geo.P[1], geo.P[2])
    : (direct ? 0 : Cg * KH * KW * OH * OW * 4) + Cg * KH * KW * 32;
  const wt0 = c.consts.get(wId!);
  if (wt0 && !c.compressed(wId!) && useWinograd(C, K, OH, OW, KH, KW, group, geo)) {
    const U = winogradWeights(c.f32Data(wt0), K, C);
    const scr = winogradScratchBytes(C, K, OH, OW);
    c.emit('conv3x3_wino_f32', [
      c.addr(xId!), c.blob(U), bId != null ? c.addr(bId) : NULL, c.addr(y), SCRATCH,
      i32(N), i32(C), i32(H), i32(W), i32(K), i32(OH), i32(OW), i32(geo.P[1]), i32(geo.P[2]),
      f32(act.lo), f32(act.hi), i32(act.code), f32(act.a0), f32(act.a1),
    ], { reads: [xId!, bId ?? null], writes: [y], scratch: scr });
    return;
  }
  // constant weights of GEMM-path convs are packed in 4-row groups (one pointer in the microkernel)
  const Kg = K / group;
  const wt = c.consts.get(wId!);
  const packA = !depthwise && Kg >= 4 && OH * OW >= 8 && wt !== undefined;
  // int4 weights blocked along the input channels (quantize/int4.ts) are repacked compressed
  const q4 = c.int4.get(wId!)?.axis === 1 ? c.int4.get(wId!) : undefined;
  const wWord = !packA ? c.addr(wId!)
    : q4 ? c.int4Blob(int4PackRows4(q4, group, Kg, Cg, KH * KW))
      : c.blob(packRows4(c.f32Data(wt), group, Kg, Cg * KH * KW));
  c.emit('conv2d_f32', [
    c.addr(xId!), wWord, bId != null ? c.addr(bId) : NULL, c.addr(y), SCRATCH,
    i32(N), i32(C), i32(H), i32(W), i32(K), i32(OH), i32(OW), i32(KH), i32(KW),
    i32(geo.S[1]), i32(geo.S[2]), i32(geo.D[1]), i32(geo.D[2]), i32(geo.P[1]), i32(geo.P[2]), i32(group),
    f32(act.lo), f32(act.hi), i32(act.code), f32(act.a0), f32(act.a1), i32(packA ? 1 : 0),
  ], { reads: [xId!, wId!, bId ?? null], writes: [y], scratch });
}

/** Scratch of conv3x3_wino_f32 (mirrors winogradScratchBytes in runtime-wasm/assembly/winograd.ts). */
export function winogradScratchBytes(C: number, K: number, OH: number, OW: number): number {
  const Th = Math.ceil(OH / 2);
  const Tw4 = Math.ceil(Math.ceil(OW / 2) / 4) * 4;
  const T = Th * Tw4;
  return (C * (2 * Th + 2) * (2 * Tw4 + 10) + 16 * C * T + 16 * K * T + C * 8) * 4 + 16 + 64;
}

/** Largest scratch a Winograd conv may use; bigger layers keep im2col. */
const WINOGRAD_MAX_SCRATCH = 8 << 20;

/**
 * Winograd F(2x2, 3x3) for 3x3 stride-1 undilated ungrouped convs with enough channels and tiles
 * for its 16 GEMMs to run well (2.25x fewer multiplies than im2col + GEMM).
 */
function useWinograd(C: number, K: number, OH: number, OW: number, KH: number, KW: number, group: number,
  geo: { S: number[]; D: number[] }): boolean {
  if (KH !== 3 || KW !== 3 || group !== 1 || geo.S[1] !== 1 || geo.S[2] !== 1 || geo.D[1] !== 1 || geo.D[2] !== 1) return false;
  const T = Math.ceil(OH / 2) * Math.ceil(Math.ceil(OW / 2) / 4) * 4;
  // below ~32 channels the tile transforms cost more than the multiplies saved (measured on resnet8)
  return C >= 32 && K >= 8 && T >= 16 && winogradScratchBytes(C, K, OH, OW) <= WINOGRAD_MAX_SCRATCH;
}

/**
 * Filter transform U = G g G^T (G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]) of OIHW 3x3 weights,
 * as 16 matrices K x C (xi = 4 i + j), each packed in 4-row groups (packRows4), xi-major.
 */
export function winogradWeights(w: Float32Array, K: number, C: number): Float32Array {
  const G = [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]];
  const U = Array.from({ length: 16 }, () => new Float32Array(K * C));
  for (let k = 0; k < K; k++) {
    for (let ci = 0; ci < C; ci++) {
      const g = (r: number, s: number) => w[((k * C + ci) * 3 + r) * 3 + s]!;
      for (let i = 0; i < 4; i++) {
        for (let j = 0; j < 4; j++) {
          let v = 0;
          for (let r = 0; r < 3; r++) for (let s = 0; s < 3; s++) v += G[i]![r]! * g(r, s) * G[j]![s]!;
          U[i * 4 + j]![k * C + ci] = v;
        }
      }
    }
  }
  const parts = U.map((u) => packRows4(u, 1, K, C));
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Scratch of a depthwise conv: the zero-padded input plane (mirrors depthwiseScratchBytes in
 * runtime-wasm/assembly/conv.ts).
 */
export function depthwiseScratchBytes(H: number, W: number, OH: number, OW: number, KH: number, KW: number, sh: number, sw: number, ph: number, pw: number): number {
  const needW = Math.ceil(OW / 4) * 4 * sw + KW + 8;
  const Wp = Math.ceil(Math.max(W + pw, needW) / 4) * 4;
  const Hp = Math.max(H + ph, (OH - 1) * sh + KH);
  return Hp * Wp * 4 + 64;
}

/** Emits a GEMM call (A [M,K] lda, B [K,N] ldb) with bias mode and fused activation. */
function gemmCall(c: LowerCtx, A: Word, B: Word, C: Word, bias: Word, bmode: number, M: number, N: number, K: number,
  lda: number, ldb: number, alpha: number, act: FusedAct, batch: number, sA: number, sB: number, sC: number, sBias: number,
  io: { reads: (number | null)[]; writes: number[] }, packed = false): void {
  c.emit('gemm_f32', [
    A, B, C, bias, i32(M), i32(N), i32(K), i32(lda), i32(ldb), i32(N), i32(bmode),
    f32(act.lo), f32(act.hi), i32(act.code), f32(act.a0), f32(act.a1),
    i32(batch), i32(sA), i32(sB), i32(sC), f32(alpha), i32(sBias), !packed && M >= 8 && N >= 8 ? SCRATCH : NULL, i32(packed ? 1 : 0),
  ], { ...io, scratch: !packed && M >= 8 && N >= 8 ? K * 32 : 0 });
}

/** A transposed copy of a 2-D operand (constant: at compile time; runtime: into a temporary). */
function transposed2d(c: LowerCtx, id: ValueId, rows: number, cols: number): { w: Word; id: number | null } {
  const t = c.consts.get(id);
  if (t) {
    const d = c.f32Data(t);
    const o = new Float32Array(rows * cols);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) o[j * rows + i] = d[i * cols + j]!;
    return { w: c.blob(o), id: null };
  }
  const tmp = c.temp(rows * cols * 4);
  copyView(c, { k: 'buf', id: tmp, off: 0 }, [rows, 1], c.addr(id), [1, cols], [cols, rows], { reads: [id], writes: [tmp] });
  return { w: { k: 'buf', id: tmp, off: 0 }, id: tmp };
}

/**
 * Packs constant conv weights [G * rows, kdim] (rows >= 4 per group) into 4-row groups [kdim][4]
 * per conv group: rows 0-3, 4-7, ... and, when rows % 4 != 0, rows rows-4..rows-1 (the overlapping
 * last tile of gemm_f32).
 */
export function packRows4(w: Float32Array, groups: number, rows: number, kdim: number): Float32Array {
  const starts: number[] = [];
  for (let m = 0; m < rows;) {
    const mm = rows - m >= 4 ? m : rows - 4;
    starts.push(mm);
    m = mm + 4;
  }
  const out = new Float32Array(groups * starts.length * kdim * 4);
  let o = 0;
  for (let g = 0; g < groups; g++) {
    for (const m0 of starts) {
      for (let k = 0; k < kdim; k++) for (let i = 0; i < 4; i++) out[o++] = w[(g * rows + m0 + i) * kdim + k]!;
    }
  }
  return out;
}

/**
 * Packs a constant row-major B [K, N] (N >= 8) into the K x 8 column panels gemm_f32 walks: panels
 * at columns 0, 8, 16, ... and, when N % 8 != 0, one more at N - 8 (overlapping the previous one).
 */
export function packB(b: Float32Array, K: number, N: number): Float32Array {
  const starts: number[] = [];
  for (let n = 0; n < N;) {
    const nn = N - n >= 8 ? n : N - 8;
    starts.push(nn);
    n = nn + 8;
  }
  const out = new Float32Array(starts.length * K * 8);
  starts.forEach((n0, j) => {
    for (let k = 0; k < K; k++) for (let i = 0; i < 8; i++) out[(j * K + k) * 8 + i] = b[k * N + n0 + i]!;
  });
  return out;
}

/** B as a word: pre-packed panels when B is constant and N >= 8, else the value itself. */
function bOperand(c: LowerCtx, bId: ValueId, K: number, N: number, data?: Float32Array): { w: Word; packed: boolean } {
  const q4 = data ? undefined : int4KN(c, bId, false, K, N);
  if (q4) return int4BOperand(c, q4, K, N);
  const t = data ?? (c.consts.get(bId) ? c.f32Data(c.consts.get(bId)!) : undefined);
  if (t && N >= 8) return { w: c.blob(packB(t, K, N)), packed: true };
  return { w: c.addr(bId), packed: false };
}

// Compressed int4 weights are repacked in compressed form: packRows4/packB/transposition permute
// the int4 values, and the block scales move with them so that the packed blob is again blocks
// along the reduction axis (compress.ts view [outer, D, inner]).

const asF32 = (q: Int8Array): Float32Array => Float32Array.from(q);
const asI8 = (f: Float32Array): Int8Array => Int8Array.from(f);

/**
 * packRows4 of int4 conv weights [G * rows, Cg, khw] (blocks along Cg): the packed blob
 * [G * S][Cg][khw * 4] takes scales packed the same way from [G * rows, ceil(Cg/block) * khw].
 */
function int4PackRows4(w: Int4Weight, groups: number, rows: number, Cg: number, khw: number): Int4Blob {
  const q = asI8(packRows4(asF32(w.q), groups, rows, Cg * khw));
  const scale = packRows4(w.scale, groups, rows, Math.ceil(Cg / w.block) * khw);
  return { kind: 'int4', q, scale, outer: q.length / (Cg * khw * 4), D: Cg, inner: khw * 4, block: w.block };
}

/**
 * A constant int4 B operand of a GEMM as [K, N] values and [ceil(K/block), N] scales (blocks along
 * K), transposing when B is stored [N, K]; undefined when B is not an int4 weight blocked along K.
 */
function int4KN(c: LowerCtx, bId: ValueId, transB: boolean, K: number, N: number): { q: Float32Array; s: Float32Array; block: number } | undefined {
  const w = c.int4.get(bId);
  if (!w || w.shape.length !== 2 || w.axis !== (transB ? 1 : 0)) return undefined;
  const Kb = Math.ceil(K / w.block);
  if (!transB) return { q: asF32(w.q), s: w.scale, block: w.block };
  const q = new Float32Array(K * N);
  const s = new Float32Array(Kb * N);
  for (let i = 0; i < N; i++) for (let j = 0; j < K; j++) q[j * N + i] = w.q[i * K + j]!;
  for (let i = 0; i < N; i++) for (let j = 0; j < Kb; j++) s[j * N + i] = w.scale[i * Kb + j]!;
  return { q, s, block: w.block };
}

/** An int4 [K, N] B operand: packed into K x 8 panels (blob [J][K][8], scales [J][Kb][8]) when N >= 8. */
function int4BOperand(c: LowerCtx, b: { q: Float32Array; s: Float32Array; block: number }, K: number, N: number): { w: Word; packed: boolean } {
  if (N < 8) return { w: c.int4Blob({ kind: 'int4', q: asI8(b.q), scale: b.s, outer: 1, D: K, inner: N, block: b.block }), packed: false };
  const q = asI8(packB(b.q, K, N));
  const scale = packB(b.s, Math.ceil(K / b.block), N);
  return { w: c.int4Blob({ kind: 'int4', q, scale, outer: q.length / (K * 8), D: K, inner: 8, block: b.block }), packed: true };
}

function lowerGemm(c: LowerCtx, n: Node): void {
  const [aId, bId, cId] = n.inputs;
  const y = n.outputs[0]!;
  const as = c.shape(aId!);
  const bs = c.shape(bId!);
  if (as.length !== 2 || bs.length !== 2) throw c.unsupported('Gemm inputs must be 2-D');
  const { transA, transB, alpha, beta, M, K, N } = gemmSpec(c, n, as, bs);
  const reads: (number | null)[] = [aId!, bId!];
  let A = c.addr(aId!);
  if (transA) {
    const t = transposed2d(c, aId!, as[0]!, as[1]!);
    A = t.w;
    if (t.id !== null) reads.push(t.id);
  }
  let B = c.addr(bId!);
  let packed = false;
  const bt = c.consts.get(bId!);
  const q4 = bt ? int4KN(c, bId!, transB, K, N) : undefined;
  if (q4) {
    const op = int4BOperand(c, q4, K, N);
    B = op.w;
    packed = op.packed;
  } else if (bt) {
    const d = c.f32Data(bt);
    let kn = d;
    if (transB) {
      kn = new Float32Array(K * N);
      for (let i = 0; i < N; i++) for (let j = 0; j < K; j++) kn[j * N + i] = d[i * K + j]!;
    }
    const op = bOperand(c, bId!, K, N, kn);
    B = op.packed ? op.w : c.blob(kn);
    packed = op.packed;
  } else if (transB) {
    const t = transposed2d(c, bId!, bs[0]!, bs[1]!);
    B = t.w;
    if (t.id !== null) reads.push(t.id);
  }
  let bias: Word = NULL;
  let bmode: number = BIAS.none;
  if (cId != null && beta !== 0) {
    bmode = BIAS[gemmBias(c.shape(cId), M, N)];
    if (M === 1 && (bmode === BIAS.full)) bmode = BIAS.col;
    const ct = c.consts.get(cId);
    if (ct) {
      const d = Float32Array.from(c.f32Data(ct), (v) => v * beta);
      bias = c.blob(d);
    } else {
      if (beta !== 1) throw c.unsupported('Gemm with a runtime C and beta != 1 is not supported on wasm');
      bias = c.addr(cId);
      reads.push(cId);
    }
  }
  gemmCall(c, A, B, c.addr(y), bias, bmode, M, N, K, K, N, alpha, fusedAct(n), 1, 0, 0, 0, 0, { reads, writes: [y] }, packed);
}

function lowerMatMul(c: LowerCtx, n: Node): void {
  const [aId, bId] = n.inputs;
  const y = n.outputs[0]!;
  const as = c.shape(aId!);
  const bs = c.shape(bId!);
  const a2 = as.length === 1 ? [1, as[0]!] : as;
  const b2 = bs.length === 1 ? [bs[0]!, 1] : bs;
  const M = a2[a2.length - 2]!, K = a2[a2.length - 1]!, N = b2[b2.length - 1]!;
  if (b2[b2.length - 2] !== K) throw c.unsupported(`MatMul inner dims differ: [${as.join(',')}] x [${bs.join(',')}]`);
  const batchA = numel(a2.slice(0, -2));
  const batchB = numel(b2.slice(0, -2));
  const act = fusedAct(n);
  const io = { reads: [aId!, bId!], writes: [y] };
  if (batchB === 1) {
    // B shared by every batch: fold A's batch into M
    const op = bOperand(c, bId!, K, N);
    gemmCall(c, c.addr(aId!), op.w, c.addr(y), NULL, BIAS.none, batchA * M, N, K, K, N, 1, act, 1, 0, 0, 0, 0, io, op.packed);
    return;
  }
  const ya = a2.slice(0, -2);
  const yb = b2.slice(0, -2);
  const same = ya.length === yb.length && ya.every((d, i) => d === yb[i]);
  if (batchA !== 1 && !same) throw c.unsupported(`MatMul batch broadcasting [${as.join(',')}] x [${bs.join(',')}] is not supported on wasm`);
  gemmCall(c, c.addr(aId!), c.addr(bId!), c.addr(y), NULL, BIAS.none, M, N, K, K, N, 1, act, batchB,
    batchA === 1 ? 0 : M * K, K * N, M * N, 0, io);
}

function lowerBatchNorm(c: LowerCtx, n: Node): void {
  if (n.outputs.length > 1 && n.outputs.slice(1).some((o) => c.g.useCount(o) > 0)) throw c.unsupported('BatchNormalization training outputs are not supported');
  const [x, s, b, m, v] = n.inputs;
  const eps = opAttrs<{ epsilon: number }>(n, c.opset).epsilon;
  const xs = c.shape(x!);
  const C = xs[1]!;
  const S = c.f32Data(c.constOf(s, 'BatchNormalization scale'));
  const B = c.f32Data(c.constOf(b, 'BatchNormalization B'));
  const Mn = c.f32Data(c.constOf(m, 'BatchNormalization mean'));
  const V = c.f32Data(c.constOf(v, 'BatchNormalization var'));
  if (S.length !== C) throw c.unsupported('BatchNormalization with per-element parameters is not supported');
  const { scale, shift } = batchNormAffine(S, B, Mn, V, eps);
  const sc = Float32Array.from(scale);
  const sh = Float32Array.from(shift);
  const y = n.outputs[0]!;
  c.emit('channel_affine_f32', [c.addr(x!), c.addr(y), i32(xs[0]!), i32(C), i32(numel(xs.slice(2))), c.blob(sc), c.blob(sh)],
    { reads: [x!], writes: [y], inplace: [x!, y] });
}

/** Unary ops: the kernel's op code and scalar parameters (targets/common/params.ts unarySpec). */
function unaryParams(c: LowerCtx, n: Node): { code: number; a0: number; a1: number } {
  const u = unarySpec(c, n);
  const code = (UNARY as Record<string, number>)[u.op];
  if (code === undefined) throw c.unsupported(`no wasm kernel for ${n.op}`);
  return { code, a0: u.alpha, a1: u.beta };
}

function lowerUnary(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const u = unaryParams(c, n);
  c.emit('unary_f32', [i32(u.code), c.addr(x), c.addr(y), i32(numel(c.shape(y))), f32(u.a0), f32(u.a1)],
    { reads: [x], writes: [y], inplace: [x, y] });
}

/** y = a op b with numpy broadcasting (y has the broadcast shape). */
function binaryCall(c: LowerCtx, op: number, a: number | null, aw: Word, as: number[], b: number | null, bw: Word, bs: number[],
  y: number, ys: number[], inplaceOk: boolean): void {
  const co = coalesce(ys, [broadcastStrides(as, ys), broadcastStrides(bs, ys), contiguous(ys)]);
  if (!co) throw c.unsupported(`broadcast over more than ${MAX_DIMS} dims`);
  const [sa, sb] = [co.strides[0]!, co.strides[1]!];
  if ((sa[5] !== 0 && sa[5] !== 1) || (sb[5] !== 0 && sb[5] !== 1)) throw internal('binary: inner stride not 0/1');
  const same = (s: number[]) => s.length === ys.length && s.every((d, i) => d === ys[i]);
  const inplace: [number, number] | undefined = !inplaceOk ? undefined : a !== null && same(as) ? [a, y] : b !== null && same(bs) ? [b, y] : undefined;
  c.emit('binary_f32', [i32(op), aw, bw, { k: 'buf', id: y, off: 0 }, ...co.dims.map(i32), ...sa.map(i32), ...sb.map(i32)],
    { reads: [a, b], writes: [y], ...(inplace ? { inplace } : {}) });
}

const BINARY_OPS: Record<string, number> = { Add: BINARY.Add, Sub: BINARY.Sub, Mul: BINARY.Mul, Div: BINARY.Div, Pow: BINARY.Pow, PRelu: BINARY.PRelu, Max: BINARY.Max, Min: BINARY.Min, Sum: BINARY.Add, Mean: BINARY.Add };

/** Max / Min of int8 or uint8 tensors (all inputs and the output share one dtype). */
function lowerMinMaxInt8(c: LowerCtx, n: Node, op: number, ins: ValueId[], y: ValueId, ys: number[]): void {
  const ydt = c.g.typeOf(y).dtype;
  for (const x of ins) if (c.g.typeOf(x).dtype !== ydt) throw c.unsupported(`${n.op} mixes ${c.g.typeOf(x).dtype} and ${ydt} operands`);
  if (ins.length === 1) {
    copyView(c, c.vaddr(y), contiguous(ys), c.vaddr(ins[0]!), broadcastStrides(c.shape(ins[0]!), ys), ys, { reads: [ins[0]!], writes: [y] }, 1);
    return;
  }
  if (numel(ys) === 0) return;
  const call = (a: ValueId, as: number[], b: ValueId) => {
    const co = coalesce(ys, [broadcastStrides(as, ys), broadcastStrides(c.shape(b), ys)]);
    if (!co) throw c.unsupported(`broadcast over more than ${MAX_DIMS} dims`);
    c.emit('minmax_u8', [i32(op), c.vaddr(a), c.vaddr(b), c.vaddr(y), ...co.dims.map(i32), ...co.strides[0]!.map(i32), ...co.strides[1]!.map(i32), i32(ydt === 'i8' ? 1 : 0)],
      { reads: [a, b], writes: [y], anyDtype: true });
  };
  call(ins[0]!, c.shape(ins[0]!), ins[1]!);
  for (let k = 2; k < ins.length; k++) call(y, ys, ins[k]!);
}

function lowerBinary(c: LowerCtx, n: Node): void {
  const op = BINARY_OPS[n.op]!;
  if (n.op === 'Mod' && opAttrs<{ fmod: number }>(n, c.opset).fmod === 0) throw c.unsupported('integer Mod is not supported on wasm');
  const y = n.outputs[0]!;
  const ys = c.shape(y);
  const ins = n.inputs.filter((x): x is ValueId => x !== null);
  const ydt = c.g.typeOf(y).dtype;
  if ((n.op === 'Max' || n.op === 'Min') && (ydt === 'i8' || ydt === 'u8')) {
    lowerMinMaxInt8(c, n, op, ins, y, ys);
    return;
  }
  for (const i of ins) if (c.isConst(i) && c.consts.get(i)!.dtype !== 'f32') throw c.unsupported(`${n.op} with a non-f32 constant operand`);
  if (ins.length === 1) {
    copyView(c, c.addr(y), contiguous(ys), c.addr(ins[0]!), broadcastStrides(c.shape(ins[0]!), ys), ys, { reads: [ins[0]!], writes: [y] });
  } else {
    binaryCall(c, op, ins[0]!, c.addr(ins[0]!), c.shape(ins[0]!), ins[1]!, c.addr(ins[1]!), c.shape(ins[1]!), y, ys, true);
    for (let k = 2; k < ins.length; k++) {
      binaryCall(c, op, y, c.addr(y), ys, ins[k]!, c.addr(ins[k]!), c.shape(ins[k]!), y, ys, false);
    }
  }
  if (n.op === 'Mean' && ins.length > 1) {
    const inv = c.blob(new Float32Array([1 / ins.length]));
    binaryCall(c, BINARY.Mul, y, c.addr(y), ys, null, inv, [1], y, ys, false);
  }
}

function lowerSoftmax(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const [outer, L, inner] = softmaxLayout(c, n, c.shape(x));
  c.emit('softmax_f32', [c.addr(x), c.addr(y), i32(outer), i32(L), i32(inner), i32(n.op === 'LogSoftmax' ? 1 : 0)],
    { reads: [x], writes: [y] });
}

function lowerReduce(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const xs = c.shape(x);
  const axes = reduceAxes(c, n, xs.length);
  if (axes === 'noop') {
    copyView(c, c.addr(y), contiguous(xs), c.addr(x), contiguous(xs), xs, { reads: [x], writes: [y] });
    return;
  }
  const kept = xs.map((d, i) => (axes.includes(i) ? 1 : d));
  const ks = contiguous(kept);
  const ostr = xs.map((_, i) => (axes.includes(i) ? 0 : ks[i]!));
  const co = coalesce(xs, [contiguous(xs), ostr]);
  if (!co) throw c.unsupported(`reduction over more than ${MAX_DIMS} alternating dims`);
  const cnt = numel(axes.map((a) => xs[a]!));
  const osz = numel(kept);
  const op = (REDUCE as Record<string, number>)[n.op]!;
  const scratch = op === REDUCE.ReduceLogSumExp ? osz * 4 : 0;
  c.emit('reduce_f32', [i32(op), c.addr(x), c.addr(y), ...co.dims.map(i32), ...co.strides[1]!.map(i32), i32(cnt), i32(osz), scratch ? SCRATCH : NULL],
    { reads: [x], writes: [y], scratch });
}

function lowerGlobalPool(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const xs = c.shape(x);
  c.emit('global_pool_f32', [c.addr(x), c.addr(y), i32(xs[0]! * xs[1]!), i32(numel(xs.slice(2))), i32(n.op === 'GlobalMaxPool' ? 1 : 0)],
    { reads: [x], writes: [y] });
}

/** Pooling kind codes of pool2d_f32. */
const POOL_KINDS = { max: 0, avg: 1, avg_pad: 2 } as const;

function lowerPool(c: LowerCtx, n: Node): void {
  if (n.op === 'MaxPool' && lowerMaxPoolInt8(c, n)) return;
  if (n.outputs.length > 1 && c.g.useCount(n.outputs[1]!) > 0) throw c.unsupported('MaxPool Indices output is not supported on wasm');
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const xs = c.shape(x);
  const nd = xs.length - 2;
  if (nd < 1 || nd > 2) throw c.unsupported(`${nd}-D pooling is not supported on wasm`);
  const pg = poolGeom(c, n, xs);
  const geo = pg.geo;
  const kind = POOL_KINDS[pg.kind];
  c.emit('pool2d_f32', [
    c.addr(x), c.addr(y), i32(xs[0]! * xs[1]!), i32(geo.I[1]), i32(geo.I[2]), i32(geo.O[1]), i32(geo.O[2]),
    i32(geo.K[1]), i32(geo.K[2]), i32(geo.S[1]), i32(geo.S[2]), i32(geo.P[1]), i32(geo.P[2]), i32(geo.D[1]), i32(geo.D[2]),
    i32(kind), i32(geo.I[1] + geo.E[1]), i32(geo.I[2] + geo.E[2]),
  ], { reads: [x], writes: [y] });
}

function lowerTranspose(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const v = transposeView(c, n, c.shape(x));
  const es = moveSize(c, n, x);
  copyView(c, c.vaddr(y), contiguous(v.dims), c.vaddr(x, v.offset), v.strides, v.dims, { reads: [x], writes: [y] }, es);
}

function lowerConcat(c: LowerCtx, n: Node): void {
  const y = n.outputs[0]!;
  const ys = c.shape(y);
  const ins = n.inputs.filter((x): x is ValueId => x !== null);
  const shapes = ins.map((x) => c.shape(x));
  const { offsets } = partOffsets(c, n, ys, shapes);
  const yst = contiguous(ys);
  ins.forEach((x, k) => {
    const xs = shapes[k]!;
    const es = moveSize(c, n, x);
    copyView(c, c.vaddr(y, offsets[k]!), yst, c.vaddr(x), contiguous(xs), xs, { reads: [x], writes: [y] }, es);
  });
}

function lowerSplit(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const xs = c.shape(x);
  const shapes = n.outputs.map((o) => c.shape(o));
  const { offsets } = partOffsets(c, n, xs, shapes);
  const xst = contiguous(xs);
  const es = moveSize(c, n, x);
  n.outputs.forEach((o, k) => {
    const os = shapes[k]!;
    copyView(c, c.vaddr(o), contiguous(os), c.vaddr(x, offsets[k]!), xst, os, { reads: [x], writes: [o] }, es);
  });
}

function lowerSlice(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const v = sliceView(c, n, c.shape(x));
  const ys = c.shape(y);
  if (v.dims.some((d, i) => d !== ys[i])) throw internal(`Slice: computed shape [${v.dims.join(',')}] differs from inferred [${ys.join(',')}]`);
  copyView(c, c.vaddr(y), contiguous(ys), c.vaddr(x, v.offset), v.strides, ys, { reads: [x], writes: [y] }, moveSize(c, n, x));
}

/** Pad mode codes of pad_f32 / pad_u8 (constant is a fill and a copy). */
const PAD_MODES = { reflect: 1, edge: 2, wrap: 3 } as const;

function lowerPad(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const xs = c.shape(x);
  const ys = c.shape(y);
  const r = xs.length;
  const { mode, begin, end, value } = padSpec(c, n, r);
  const es = moveSize(c, n, x);
  const xdt = c.g.typeOf(x).dtype;
  if (mode === 'constant') {
    if (xdt === 'f32') {
      const v = new Float32Array([value]);
      c.emit('fill_f32', [c.addr(y), i32(numel(ys)), i32(new Int32Array(v.buffer)[0]!)], { writes: [y] });
    } else {
      // integer pad value: the ONNX value is already of the input's dtype
      c.emit(es === 1 ? 'fill_u8' : 'fill_f32', [c.vaddr(y), i32(numel(ys)), i32(value | 0)], { writes: [y], anyDtype: true });
    }
    // copy the overlap of the input window into the output
    const ins = xs.map((d, i) => Math.max(0, -begin[i]!));
    const outs = xs.map((d, i) => Math.max(0, begin[i]!));
    const dims = xs.map((d, i) => Math.max(0, Math.min(d - ins[i]!, ys[i]! - outs[i]!)));
    const xst = contiguous(xs);
    const yst = contiguous(ys);
    const xo = ins.reduce((a, b, i) => a + b * xst[i]!, 0);
    const yo = outs.reduce((a, b, i) => a + b * yst[i]!, 0);
    copyView(c, c.vaddr(y, yo), yst, c.vaddr(x, xo), xst, dims, { reads: [x, y], writes: [y] }, es);
    return;
  }
  const m = PAD_MODES[mode];
  if ([...begin, ...end].some((p) => p < 0)) throw c.unsupported(`Pad mode "${mode}" with negative pads`);
  if (r > MAX_DIMS) throw c.unsupported(`Pad of rank ${r}`);
  const lp = (v: number[], fill: number) => [...new Array<number>(MAX_DIMS - r).fill(fill), ...v];
  c.emit(es === 1 ? 'pad_u8' : 'pad_f32', [c.vaddr(x), c.vaddr(y), i32(m), ...lp(ys, 1).map(i32), ...lp(xs, 1).map(i32), ...lp(begin, 0).map(i32)],
    { reads: [x], writes: [y], anyDtype: true });
}

function lowerExpand(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const ys = c.shape(y);
  copyView(c, c.vaddr(y), contiguous(ys), c.vaddr(x), broadcastStrides(c.shape(x), ys), ys, { reads: [x], writes: [y] }, moveSize(c, n, x));
}

function lowerTile(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const v = tileView(c.shape(x), c.constNums(n.inputs[1], 'Tile repeats')!);
  copyView(c, c.vaddr(y), contiguous(v.dims), c.vaddr(x, v.offset), v.strides, v.dims, { reads: [x], writes: [y] }, moveSize(c, n, x));
}

function lowerGather(c: LowerCtx, n: Node): void {
  const [x, idx] = n.inputs;
  const y = n.outputs[0]!;
  const xs = c.shape(x!);
  const it = c.consts.get(idx!);
  if (!it) throw c.unsupported('Gather with runtime indices is not supported on wasm (indices must be constant)');
  const { outer, axisLen, inner, indices } = gatherLayout(c, n, xs, it.toNumbers());
  const es = moveSize(c, n, x!);
  c.emit(es === 1 ? 'gather_u8' : 'gather_f32', [c.vaddr(x!), c.blob(indices), c.vaddr(y), i32(outer), i32(axisLen), i32(indices.length), i32(inner), i32(0)],
    { reads: [x!], writes: [y], anyDtype: true });
}

function lowerDepthSpace(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const v = depthSpaceView(c, n, c.shape(x));
  copyView(c, c.vaddr(y), contiguous(v.dims), c.vaddr(x, v.offset), v.strides, v.dims, { reads: [x], writes: [y] }, moveSize(c, n, x));
}

function lowerLayerNorm(c: LowerCtx, n: Node): void {
  const [x, s, b] = n.inputs;
  const [mo, ro] = [n.outputs[1], n.outputs[2]].map((o) => (o !== undefined && c.g.useCount(o) > 0 ? o : undefined));
  const y = n.outputs[0]!;
  const xs = c.shape(x!);
  const la = opAttrs<{ axis: number; epsilon: number }>(n, c.opset);
  const ax = normAxis(la.axis, xs.length);
  const outer = numel(xs.slice(0, ax));
  const inner = numel(xs.slice(ax));
  const full = (id: ValueId | null | undefined): Word => {
    if (id == null) return NULL;
    if (!c.isConst(id) && numel(c.shape(id)) === inner) return c.addr(id);
    const t = c.constOf(id, `LayerNormalization ${id === s ? 'scale' : 'bias'} (broadcast)`);
    const d = c.f32Data(t);
    if (d.length === inner) return c.addr(id);
    return c.blob(expandToInner(d, [...t.shape], xs.slice(ax)));
  };
  const extra = [mo, ro].filter((o): o is number => o !== undefined);
  c.emit('norm_f32', [c.addr(x!), c.addr(y), i32(outer), i32(inner), f32(la.epsilon), full(s), full(b), i32(0), i32(1), i32(0),
    mo !== undefined ? c.addr(mo) : NULL, ro !== undefined ? c.addr(ro) : NULL], { reads: [x!, s ?? null, b ?? null], writes: [y, ...extra] });
}

function lowerInstanceNorm(c: LowerCtx, n: Node): void {
  const [x, s, b] = n.inputs;
  const y = n.outputs[0]!;
  const xs = c.shape(x!);
  const C = xs[1]!;
  c.emit('norm_f32', [c.addr(x!), c.addr(y), i32(xs[0]! * C), i32(numel(xs.slice(2))), f32(opAttrs<{ epsilon: number }>(n, c.opset).epsilon),
    c.addr(s!), c.addr(b!), i32(1), i32(C), i32(0), NULL, NULL], { reads: [x!, s!, b!], writes: [y] });
}

/** Resize / Upsample on the last two axes (outer axes must keep their size). */
function lowerResize(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const sp = resizeSpec(c, n, c.shape(x), c.shape(y), 'wasm');
  c.emit('resize_f32', [c.addr(x), c.addr(y), i32(sp.outer), i32(sp.IH), i32(sp.IW), i32(sp.OH), i32(sp.OW),
    i32(sp.mode === 'nearest' ? 0 : 1), c.blob(resizeTable(sp, sp.IH, sp.OH, sp.sH)), c.blob(resizeTable(sp, sp.IW, sp.OW, sp.sW))],
  { reads: [x], writes: [y] });
}

/** GridSample mode and padding codes of grid_sample_f32. */
const GRID_MODES = { linear: 0, nearest: 1 } as const;
const GRID_PADDING = { zeros: 0, border: 1, reflection: 2 } as const;

function lowerGridSample(c: LowerCtx, n: Node): void {
  const [x, grid] = n.inputs;
  const y = n.outputs[0]!;
  const xs = c.shape(x!);
  const ys = c.shape(y);
  if (xs.length !== 4) throw c.unsupported('GridSample is supported for 4-D inputs only on wasm');
  const gs = gridSampleSpec(c, n, 'wasm');
  c.emit('grid_sample_f32', [c.addr(x!), c.addr(grid!), c.addr(y), i32(xs[0]!), i32(xs[1]!), i32(xs[2]!), i32(xs[3]!),
    i32(ys[2]!), i32(ys[3]!), i32(GRID_MODES[gs.mode]), i32(GRID_PADDING[gs.padding]), i32(gs.alignCorners ? 1 : 0)], { reads: [x!, grid!], writes: [y] });
}

/** edgec.RoundF16 (--fp16 on f32 hardware): round to the f16 grid, SIMD bit manipulation. */
function lowerRoundF16(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  c.emit('round_f16_f32', [c.addr(x), c.addr(y), i32(numel(c.shape(y)))], { reads: [x], writes: [y], inplace: [x, y] });
}

function lowerCast(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const from = c.g.typeOf(x).dtype;
  const to = c.g.typeOf(y).dtype;
  if (from === 'f32' && to === 'f32') {
    c.parent.set(y, x);
    return;
  }
  // integer -> f32 (e.g. the int32 accumulator of ConvInteger/MatMulInteger before its rescale)
  const kind = ({ i32: 0, i8: 1, u8: 2 } as Record<string, number>)[from];
  if (to !== 'f32' || kind === undefined) throw c.unsupported(`Cast from ${from} to ${to} is not supported on wasm (i32/i8/u8 -> f32 only)`);
  c.emit('cast_to_f32', [c.vaddr(x), c.addr(y), i32(numel(c.shape(y))), i32(kind)], { reads: [x], writes: [y] });
}

/** Lowering functions by qualified op name ('edgec.X' for the edgec domain). */
export const LOWERINGS: Readonly<Record<string, LowerFn>> = {
  Conv: lowerConv, 'edgec.FusedConv': lowerConv,
  Gemm: lowerGemm, 'edgec.FusedGemm': lowerGemm,
  MatMul: lowerMatMul, 'edgec.FusedMatMul': lowerMatMul,
  BatchNormalization: lowerBatchNorm,
  ...Object.fromEntries(['Relu', 'Clip', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'LeakyRelu', 'Tanh', 'Exp', 'Log', 'Sqrt',
    'Neg', 'Abs', 'Erf', 'Gelu', 'Softplus', 'Elu', 'Selu', 'Reciprocal', 'Floor', 'Ceil', 'Round', 'Sin', 'Cos', 'Softsign',
    'Sign', 'Mish', 'ThresholdedRelu'].map((k) => [k, lowerUnary])),
  ...Object.fromEntries(Object.keys(BINARY_OPS).map((k) => [k, lowerBinary])),
  Softmax: lowerSoftmax, LogSoftmax: lowerSoftmax,
  ...Object.fromEntries(Object.keys(REDUCE).map((k) => [k, lowerReduce])),
  GlobalAveragePool: lowerGlobalPool, GlobalMaxPool: lowerGlobalPool,
  MaxPool: lowerPool, AveragePool: lowerPool,
  Transpose: lowerTranspose, Concat: lowerConcat, Split: lowerSplit, Slice: lowerSlice, Pad: lowerPad,
  Expand: lowerExpand, Tile: lowerTile, Gather: lowerGather,
  DepthToSpace: lowerDepthSpace, SpaceToDepth: lowerDepthSpace,
  LayerNormalization: lowerLayerNorm, InstanceNormalization: lowerInstanceNorm,
  Resize: lowerResize, Upsample: lowerResize, GridSample: lowerGridSample,
  Cast: lowerCast,
  'edgec.RoundF16': lowerRoundF16,
  ...INT8_LOWERINGS,
};

/** Qualified op name of a node for the lowering table. */
function qualified(n: Node): string {
  return n.domain === '' || n.domain === 'ai.onnx' ? n.op : `${n.domain}.${n.op}`;
}

/**
 * Lowers an optimized graph to kernel steps and a memory plan.
 * @param g graph with concrete shapes (after the wasm pipeline)
 */
export function lowerGraph(g: Graph, opts: LowerOptions = {}): Lowered {
  const c = new LowerCtx(g, opts);
  const layers = c.lowerNodes(() => c.steps.length, (n) => {
    if (ALIAS_OPS.has(n.op) && n.domain === '') {
      if (n.op === 'Dropout' && n.outputs.length > 1 && g.useCount(n.outputs[1]!) > 0) throw c.unsupported('Dropout mask output is not supported');
      if (c.g.typeOf(n.inputs[0]!).dtype !== c.g.typeOf(n.outputs[0]!).dtype) throw c.unsupported(`${n.op} changes the dtype`);
      c.esize(n.inputs[0]!);
      c.parent.set(n.outputs[0]!, n.inputs[0]!);
      return;
    }
    const fn = LOWERINGS[qualified(n)];
    if (!fn) throw c.unsupported(`no wasm lowering for op ${qualified(n)}`);
    fn(c, n);
  });
  return finish(c, layers);
}

/** Resolves aliases, decides in-place reuse, computes live ranges and plans the arena. */
function finish(c: LowerCtx, layers: Node[]): Lowered {
  const g = c.g;
  const parent = c.parent;
  const rootOf = (id: number): number => {
    let r = id;
    while (parent.has(r)) r = parent.get(r)!;
    return r;
  };
  const steps = c.steps;
  // graph outputs that are constants, graph inputs, or share a buffer with an earlier output get a copy
  const outputs: Lowered['outputs'] = [];
  const seenRoots = new Set<number>();
  const inputSet = new Set(g.inputs);
  const fakeNode = (o: ValueId): Node => ({ id: -1, op: 'Identity', domain: '', inputs: [o], outputs: [o], attrs: {}, name: g.value(o).name });
  for (const o of g.outputs) {
    const v = g.value(o);
    const shape = c.shape(o);
    let id: number = o;
    const r = rootOf(o);
    if (c.consts.has(r) || c.consts.has(o) || inputSet.has(r) || seenRoots.has(r)) {
      id = c.temp(numel(shape) * 4);
      c.node = fakeNode(o);
      const src = c.consts.has(o) ? c.addr(o) : c.addr(r);
      copyView(c, { k: 'buf', id, off: 0 }, contiguous(shape), src, contiguous(shape), shape, { reads: [o], writes: [id] });
      if (numel(shape) === 0) id = o;
    }
    seenRoots.add(rootOf(id));
    c.checkRuntime(id);
    outputs.push({ id, name: v.name, shape, dtype: v.type.dtype });
  }
  const bytesOf = (id: number): number => (id < 0 ? c.temps.get(id)! : c.valueBytes(id));
  // last use per root (graph outputs live to the end)
  const END = steps.length;
  const lastUse = new Map<number, number>();
  const bump = (id: number, i: number) => {
    const r = rootOf(id);
    lastUse.set(r, Math.max(lastUse.get(r) ?? -1, i));
  };
  steps.forEach((s, i) => {
    s.reads.forEach((x) => bump(x, i));
    s.writes.forEach((x) => bump(x, i));
  });
  for (const o of outputs) bump(o.id, END);
  // in-place: the output takes the input's buffer when the input dies at this step
  const outRoots = new Set(outputs.map((o) => rootOf(o.id)));
  steps.forEach((s, i) => {
    if (!s.inplace) return;
    const [x, y] = s.inplace;
    const rx = rootOf(x);
    const ry = rootOf(y);
    if (rx === ry || inputSet.has(rx) || c.consts.has(rx) || outRoots.has(rx) || parent.has(y)) return;
    if ((lastUse.get(rx) ?? -1) !== i || bytesOf(rx) !== bytesOf(ry)) return;
    const firstWrite = steps.findIndex((t) => t.writes.some((w) => rootOf(w) === ry));
    if (firstWrite !== i) return;
    parent.set(ry, rx);
    lastUse.set(rx, Math.max(lastUse.get(rx)!, lastUse.get(ry) ?? i));
    if (outRoots.has(ry)) outRoots.add(rx);
  });
  // buffers
  const buffers = new Map<number, RuntimeBuffer>();
  const touch = (id: number, i: number) => {
    const r = rootOf(id);
    if (r >= 0 && c.consts.has(r)) return;
    const b = buffers.get(r);
    if (b) {
      b.first = Math.min(b.first, i);
      b.last = Math.max(b.last, i);
    } else buffers.set(r, { bytes: bytesOf(r), first: i, last: i });
  };
  for (const x of g.inputs) touch(x, -1);
  steps.forEach((s, i) => {
    s.reads.forEach((x) => touch(x, i));
    s.writes.forEach((x) => touch(x, i));
  });
  for (const o of outputs) touch(o.id, END);
  const reqs: BufferReq[] = [...buffers].map(([key, b]) => ({ key, bytes: b.bytes, first: b.first, last: b.last }));
  const scratchKey = new Map<number, number>();
  let sk = Math.min(-1, ...c.temps.keys()) - 1;
  steps.forEach((s, i) => {
    if (s.scratchBytes > 0) {
      scratchKey.set(i, sk);
      reqs.push({ key: sk, bytes: s.scratchBytes, first: i, last: i });
      sk--;
    }
  });
  const plan = planMemory(reqs, 16);
  const inputs = g.inputs.map((id) => {
    const v = g.value(id);
    c.checkRuntime(id);
    return { id, name: v.name, shape: c.shape(id), dtype: v.type.dtype };
  });
  return { steps, blobs: c.blobs, codecs: c.codecs, rootOf, buffers, plan, scratchKey, inputs, outputs, layers };
}
