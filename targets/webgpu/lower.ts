/**
 * Lowering of an optimized graph (concrete shapes, f32) to WebGPU dispatches.
 *
 * Each node becomes zero or more steps: a kernel id (kernels/index.ts) with JSON parameters (every
 * attribute and shape the WGSL depends on) and named operands that are runtime values or constant
 * blobs. Runtime values live in one storage-buffer arena laid out by the wasm target's greedy
 * memory planner (targets/wasm/memory-plan.ts); constants (weights, precomputed index tables) live
 * in a read-only weights buffer uploaded once at create(). Reshape-like ops are aliases (no copy);
 * nodes whose inputs are all constant are evaluated at compile time with the reference kernels.
 * An op, attribute combination or dtype without a WebGPU lowering is an 'unsupported' EdgecError
 * naming the op and node.
 */
import { Graph, Node, ValueId } from '../../compiler/ir/graph.js';
import { numel } from '../../compiler/ir/tensor.js';
import { internal } from '../../compiler/errors.js';
import { normAxis } from '../../compiler/ops/registry.js';
import { ConvTransposeParams, convTransposeBeginPads, windowParams } from '../../compiler/ops/conv.js';
import { BufferReq, MemoryPlan, planMemory } from '../wasm/memory-plan.js';
import '../../compiler/ops/index.js';
import { BufKind, stridesOf } from './wgsl/shader.js';
import {
  StridedView, batchNormAffine, broadcastStrides, convGeom, depthSpaceView, expandToInner, fusedActSpec, gatherLayout, gemmBias, gemmSpec,
  gridSampleSpec, opAttrs, padSpec, partOffsets, poolGeom, reduceAxes, sliceView, softmaxLayout, tileView, transposeView, unarySpec,
} from '../common/params.js';
import { resizeSpec, resizeTable } from '../common/resize.js';
import { ConstCtx } from '../common/ctx.js';
import { BlobCodec, MIN_COMPRESSED, int4Blob, isF16Exact, storedBytes } from '../common/compress.js';
import { UNARY_OPS } from './kernels/unary.js';
import { REDUCE_OPS } from './kernels/reduce.js';
import { ConvParams } from './kernels/conv-params.js';
import { GemmParams } from './kernels/gemm.js';
import { lowerInt8Node, valueBytes } from './lower-int8.js';

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

/** A runtime buffer region (root of an alias class). */
export interface RuntimeBuffer {
  bytes: number;
  first: number;
  last: number;
}

/** Result of lowering. */
export interface Lowered {
  steps: Step[];
  /** Constant blobs (f32 data; i32 tables stored as their bit patterns). */
  blobs: Float32Array[];
  /** Storage of each blob in weights.bin (f16 halves, int4 blocks; undefined: f32), decoded at create(). */
  codecs: (BlobCodec | undefined)[];
  rootOf: (id: number) => number;
  buffers: Map<number, RuntimeBuffer>;
  /** Byte offsets of buffer roots in the arena. */
  plan: MemoryPlan;
  inputs: { id: ValueId; name: string; shape: number[]; dtype: string }[];
  outputs: { id: number; name: string; shape: number[]; dtype: string }[];
  layers: Node[];
}

/** Ops whose output is the input's bytes under another shape. */
const ALIAS_OPS = new Set(['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Identity', 'Dropout']);

/** Lowering context: graph, compile-time constants, steps and blobs built so far. */
export class LowerCtx extends ConstCtx {
  readonly steps: Step[] = [];
  readonly blobs: Float32Array[] = [];
  readonly codecs: (BlobCodec | undefined)[] = [];
  /** Folded DequantizeLinear outputs of int4 constants: stored as int4 blocks. */
  readonly parent = new Map<number, number>();
  readonly temps = new Map<number, number>();
  private readonly constBlob = new Map<ValueId, number>();
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

  checkRuntime(id: number): void {
    if (id < 0) return;
    const dt = this.g.typeOf(id).dtype;
    if (dt !== 'f32') throw this.unsupported(`value "${this.g.value(id).name}" has dtype ${dt}; the webgpu target computes in f32 only`);
  }

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

/** Operand names kernels write. */
const OUTPUT_OPERANDS = new Set(['y', 'mean', 'rstd']);

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/** Fused activation of an edgec.Fused* node (null: none). */
function fusedAct(n: Node): { kind: string; params: number[] } | null {
  const a = fusedActSpec(n);
  return a && { kind: a.kind, params: [a.p0, a.p1] };
}

type LowerFn = (c: LowerCtx, n: Node) => void;

/** Strided copy y[dstOff + i.dst] = x[srcOff + i.src] over `dims`. */
function copyView(c: LowerCtx, y: Operand, ySize: number, dstStrides: number[], dstOff: number,
  x: Operand, xSize: number, srcStrides: number[], srcOff: number, dims: number[]): void {
  if (dims.some((d) => d === 0)) return;
  c.emit('copy_strided_f32', { dims, srcStrides, dstStrides, srcOff, dstOff, srcSize: Math.max(1, xSize), dstSize: ySize }, { x, y });
}

const val = (id: number): Operand => ({ k: 'val', id });

/** Copies the strided view `v` of runtime/constant `x` into the contiguous output `y`. */
function viewCopy(c: LowerCtx, y: number, x: ValueId, v: StridedView): void {
  copyView(c, val(y), numel(v.dims), stridesOf(v.dims), 0, c.op(x), numel(c.shape(x)), v.strides, v.offset, v.dims);
}

// ---------------------------------------------------------------------------------------------
// Op lowerings
// ---------------------------------------------------------------------------------------------

function lowerConv(c: LowerCtx, n: Node): void {
  const [xId, wId, bId] = n.inputs;
  const y = n.outputs[0]!;
  const xs = c.shape(xId!);
  const ws = c.shape(wId!);
  const nd = xs.length - 2;
  if (nd < 1 || nd > 2) throw c.unsupported(`${nd}-D convolution is not supported on webgpu (1-D and 2-D only)`);
  const { geo, group } = convGeom(c, n, xs, ws);
  const params: ConvParams = {
    N: xs[0]!, C: xs[1]!, H: geo.I[1], W: geo.I[2], K: ws[0]!, OH: geo.O[1], OW: geo.O[2], KH: geo.K[1], KW: geo.K[2],
    sh: geo.S[1], sw: geo.S[2], dh: geo.D[1], dw: geo.D[2], ph: geo.P[1], pw: geo.P[2], group, bias: bId != null, act: fusedAct(n),
  };
  const ops: Record<string, Operand> = { x: c.op(xId!), w: c.op(wId!), y: val(y) };
  if (bId != null) ops['b'] = c.op(bId);
  // depthwise-like convs (few output channels per group) would leave most of a 16-row tile idle
  const tiled = params.K / group >= 4;
  c.emit(tiled ? 'conv2d_igemm_tiled_f32' : 'conv2d_direct_f32', params as unknown as Record<string, unknown>, ops);
}

function lowerConvTranspose(c: LowerCtx, n: Node): void {
  const [xId, wId, bId] = n.inputs;
  const y = n.outputs[0]!;
  const xs = c.shape(xId!);
  const ws = c.shape(wId!);
  const ys = c.shape(y);
  const nd = xs.length - 2;
  if (nd < 1 || nd > 2) throw c.unsupported(`${nd}-D ConvTranspose is not supported on webgpu (1-D and 2-D only)`);
  const a = opAttrs<ConvTransposeParams>(n, c.opset);
  const group = a.group;
  const p = windowParams(a, nd, ws.slice(2), n.op);
  const pb = convTransposeBeginPads(xs.slice(2), p, a);
  const lift = (v: number[], fill: number) => (nd === 1 ? [fill, v[0]!] : v);
  const [H, W] = lift(xs.slice(2), 1);
  const [OH, OW] = lift(ys.slice(2), 1);
  const [KH, KW] = lift(p.kernel, 1);
  const [sh, sw] = lift(p.strides, 1);
  const [dh, dw] = lift(p.dilations, 1);
  const [ph, pw] = lift(pb, 0);
  const params: ConvParams = {
    N: xs[0]!, C: xs[1]!, H: H!, W: W!, K: ys[1]!, OH: OH!, OW: OW!, KH: KH!, KW: KW!, sh: sh!, sw: sw!, dh: dh!, dw: dw!, ph: ph!, pw: pw!,
    group, bias: bId != null, act: null,
  };
  const ops: Record<string, Operand> = { x: c.op(xId!), w: c.op(wId!), y: val(y) };
  if (bId != null) ops['b'] = c.op(bId);
  if (numel(ys) === 0) return;
  c.emit('conv_transpose2d_direct_f32', params as unknown as Record<string, unknown>, ops);
}

/** Tiled GEMM, or the direct kernel for skinny products (M < 8) that would leave tiles mostly idle. */
function emitGemm(c: LowerCtx, p: Omit<GemmParams, 'bufs'>, ops: Record<string, Operand>): void {
  c.emit(p.M < 8 ? 'gemm_direct_f32' : 'gemm_tiled_f32', p as unknown as Record<string, unknown>, ops);
}

function lowerGemm(c: LowerCtx, n: Node): void {
  const [aId, bId, cId] = n.inputs;
  const y = n.outputs[0]!;
  const as = c.shape(aId!);
  const bs = c.shape(bId!);
  if (as.length !== 2 || bs.length !== 2) throw c.unsupported('Gemm inputs must be 2-D');
  const { transA, transB, alpha, beta, M, K, N } = gemmSpec(c, n, as, bs);
  const ops: Record<string, Operand> = { a: c.op(aId!), b: c.op(bId!), y: val(y) };
  let bias: GemmParams['bias'] = 'none';
  let bBeta = 1;
  if (cId != null && beta !== 0) {
    bias = gemmBias(c.shape(cId), M, N);
    const ct = c.consts.get(cId);
    if (ct) ops['c'] = c.blob(Float32Array.from(c.f32Data(ct), (v) => v * beta));
    else {
      ops['c'] = c.op(cId);
      bBeta = beta;
    }
  }
  emitGemm(c, {
    M, N, K, batch: [], sa: transA ? [1, M] : [K, 1], sb: transB ? [1, K] : [N, 1], na: numel(as), nb: numel(bs),
    alpha, bias, beta: bBeta, act: fusedAct(n),
  }, ops);
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
  const ab = a2.slice(0, -2);
  const bb = b2.slice(0, -2);
  const r = Math.max(ab.length, bb.length);
  const batch: number[] = [];
  for (let i = 0; i < r; i++) {
    const da = ab[i - (r - ab.length)] ?? 1;
    const db = bb[i - (r - bb.length)] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw c.unsupported(`MatMul batch dims do not broadcast: [${as.join(',')}] x [${bs.join(',')}]`);
    batch.push(Math.max(da, db));
  }
  const sa = [...broadcastStrides(ab, batch).map((s) => s * M * K), K, 1];
  const sb = [...broadcastStrides(bb, batch).map((s) => s * K * N), N, 1];
  emitGemm(c, { M, N, K, batch, sa, sb, na: numel(as), nb: numel(bs), alpha: 1, bias: 'none', beta: 1, act: fusedAct(n) },
    { a: c.op(aId!), b: c.op(bId!), y: val(y) });
}

function lowerBatchNorm(c: LowerCtx, n: Node): void {
  if (n.outputs.length > 1 && n.outputs.slice(1).some((o) => c.g.useCount(o) > 0)) throw c.unsupported('BatchNormalization training outputs are not supported');
  const [x, s, b, m, v] = n.inputs;
  const eps = opAttrs<{ epsilon: number }>(n, c.opset).epsilon;
  const xs = c.shape(x!);
  const C = xs[1] ?? 1;
  const S = c.f32Data(c.constOf(s, 'BatchNormalization scale'));
  const B = c.f32Data(c.constOf(b, 'BatchNormalization B'));
  const Mn = c.f32Data(c.constOf(m, 'BatchNormalization mean'));
  const V = c.f32Data(c.constOf(v, 'BatchNormalization var'));
  if (S.length !== C) throw c.unsupported('BatchNormalization with per-element parameters is not supported');
  const { scale, shift } = batchNormAffine(S, B, Mn, V, eps);
  c.emit('channel_affine_f32', { N: xs[0]!, C, S: numel(xs.slice(2)) }, { x: c.op(x!), scale: c.blob(Float32Array.from(scale)), shift: c.blob(Float32Array.from(shift)), y: val(n.outputs[0]!) });
}



function lowerUnary(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  if (n.op === 'Clip' && c.opset >= 11 && [n.inputs[1], n.inputs[2]].some((b) => b != null && !c.isConst(b))) {
    // Clip(x, lo, hi) with runtime bounds = Min(Max(x, lo), hi)
    const ys = c.shape(y);
    const [lo, hi] = [n.inputs[1], n.inputs[2]];
    let cur: Operand = c.op(x);
    if (lo != null) {
      const dst = hi != null ? c.temp(numel(ys) * 4) : y;
      binaryStep(c, 'Max', cur, c.shape(x), c.op(lo), c.shape(lo), dst, ys);
      cur = val(dst);
    }
    if (hi != null) binaryStep(c, 'Min', cur, ys, c.op(hi), c.shape(hi), y, ys);
    return;
  }
  c.emit('unary_f32', { ...unarySpec(c, n), n: numel(c.shape(y)) }, { x: c.op(x), y: val(y) });
}

function binaryStep(c: LowerCtx, op: string, a: Operand, as: number[], b: Operand, bs: number[], y: number, ys: number[]): void {
  if (numel(ys) === 0) return;
  c.emit('binary_f32', { op, shape: ys, sa: broadcastStrides(as, ys), sb: broadcastStrides(bs, ys), na: Math.max(1, numel(as)), nb: Math.max(1, numel(bs)) },
    { a, b, y: val(y) });
}

const BINARY_OPS: Record<string, string> = { Add: 'Add', Sub: 'Sub', Mul: 'Mul', Div: 'Div', Pow: 'Pow', PRelu: 'PRelu', Max: 'Max', Min: 'Min', Sum: 'Add', Mean: 'Add', Mod: 'Mod' };

function lowerBinary(c: LowerCtx, n: Node): void {
  const op = BINARY_OPS[n.op]!;
  if (n.op === 'Mod' && opAttrs<{ fmod: number }>(n, c.opset).fmod === 0) throw c.unsupported('integer Mod (fmod=0) is not supported on webgpu');
  const y = n.outputs[0]!;
  const ys = c.shape(y);
  c.checkRuntime(y);
  const ins = n.inputs.filter((x): x is ValueId => x !== null);
  if (ins.length === 1) {
    copyView(c, val(y), numel(ys), stridesOf(ys), 0, c.op(ins[0]!), numel(c.shape(ins[0]!)), broadcastStrides(c.shape(ins[0]!), ys), 0, ys);
    return;
  }
  // variadic ops accumulate through temporaries (a kernel never reads the buffer it writes)
  let acc: { o: Operand; s: number[] } = { o: c.op(ins[0]!), s: c.shape(ins[0]!) };
  const steps = ins.length - 1 + (n.op === 'Mean' ? 1 : 0);
  for (let k = 1; k < ins.length; k++) {
    const last = k === steps;
    const dst = last ? y : c.temp(numel(ys) * 4);
    binaryStep(c, op, acc.o, acc.s, c.op(ins[k]!), c.shape(ins[k]!), dst, ys);
    acc = { o: val(dst), s: ys };
  }
  if (n.op === 'Mean') binaryStep(c, 'Mul', acc.o, ys, c.blob(new Float32Array([1 / ins.length])), [1], y, ys);
}

function lowerSoftmax(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const [outer, L, inner] = softmaxLayout(c, n, c.shape(x));
  if (outer * L * inner === 0) return;
  c.emit('softmax_f32', { outer, L, inner, log: n.op === 'LogSoftmax' }, { x: c.op(x), y: val(y) });
}



function lowerReduce(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const xs = c.shape(x);
  const axes = reduceAxes(c, n, xs.length);
  if (axes === 'noop') {
    copyView(c, val(y), numel(xs), stridesOf(xs), 0, c.op(x), numel(xs), stridesOf(xs), 0, xs);
    return;
  }
  if (numel(xs) === 0) throw c.unsupported(`${n.op} of an empty tensor`);
  c.emit('reduce_f32', { op: n.op, xs, axes }, { x: c.op(x), y: val(y) });
}

function lowerGlobalPool(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const xs = c.shape(x);
  c.emit('global_pool_f32', { planes: xs[0]! * xs[1]!, size: numel(xs.slice(2)), kind: n.op === 'GlobalMaxPool' ? 'max' : 'avg' },
    { x: c.op(x), y: val(n.outputs[0]!) });
}

function lowerPool(c: LowerCtx, n: Node): void {
  if (n.outputs.length > 1 && c.g.useCount(n.outputs[1]!) > 0) throw c.unsupported('MaxPool Indices output is not supported on webgpu');
  const x = n.inputs[0]!;
  const xs = c.shape(x);
  const nd = xs.length - 2;
  if (nd < 1 || nd > 2) throw c.unsupported(`${nd}-D pooling is not supported on webgpu (1-D and 2-D only)`);
  const { geo, kind } = poolGeom(c, n, xs);
  c.emit('pool2d_f32', {
    planes: xs[0]! * xs[1]!, H: geo.I[1], W: geo.I[2], OH: geo.O[1], OW: geo.O[2], KH: geo.K[1], KW: geo.K[2],
    sh: geo.S[1], sw: geo.S[2], ph: geo.P[1], pw: geo.P[2], dh: geo.D[1], dw: geo.D[2], kind,
    HL: geo.I[1] + geo.E[1], WL: geo.I[2] + geo.E[2],
  }, { x: c.op(x), y: val(n.outputs[0]!) });
}

function lowerTranspose(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  viewCopy(c, n.outputs[0]!, x, transposeView(c, n, c.shape(x)));
}

function lowerConcat(c: LowerCtx, n: Node): void {
  const y = n.outputs[0]!;
  const ys = c.shape(y);
  const ins = n.inputs.filter((x): x is ValueId => x !== null);
  const { offsets } = partOffsets(c, n, ys, ins.map((x) => c.shape(x)));
  ins.forEach((x, k) => {
    const xs = c.shape(x);
    copyView(c, val(y), numel(ys), stridesOf(ys), offsets[k]!, c.op(x), numel(xs), stridesOf(xs), 0, xs);
  });
}

function lowerSplit(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const xs = c.shape(x);
  const xst = stridesOf(xs);
  const { offsets } = partOffsets(c, n, xs, n.outputs.map((o) => c.shape(o)));
  n.outputs.forEach((o, k) => {
    const os = c.shape(o);
    copyView(c, val(o), numel(os), stridesOf(os), 0, c.op(x), numel(xs), xst, offsets[k]!, os);
  });
}

function lowerSlice(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const v = sliceView(c, n, c.shape(x));
  const ys = c.shape(y);
  if (v.dims.some((d, i) => d !== ys[i])) throw internal(`Slice: computed shape [${v.dims.join(',')}] differs from inferred [${ys.join(',')}]`);
  viewCopy(c, y, x, v);
}

function lowerPad(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const xs = c.shape(x);
  const ys = c.shape(y);
  const p = padSpec(c, n, xs.length);
  if (p.mode !== 'constant' && [...p.begin, ...p.end].some((v) => v < 0)) throw c.unsupported(`Pad mode "${p.mode}" with negative pads`);
  if (numel(ys) === 0) return;
  c.emit('pad_f32', { mode: p.mode, xs, ys, begin: p.begin, value: p.value }, { x: c.op(x), y: val(y) });
}

function lowerExpand(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const ys = c.shape(y);
  const xs = c.shape(x);
  copyView(c, val(y), numel(ys), stridesOf(ys), 0, c.op(x), numel(xs), broadcastStrides(xs, ys), 0, ys);
}

function lowerTile(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  viewCopy(c, n.outputs[0]!, x, tileView(c.shape(x), c.constNums(n.inputs[1], 'Tile repeats')!));
}

function lowerGather(c: LowerCtx, n: Node): void {
  const [x, idx] = n.inputs;
  const y = n.outputs[0]!;
  const it = c.consts.get(idx!);
  if (!it) throw c.unsupported('Gather with runtime indices is not supported on webgpu (indices must be constant)');
  c.checkRuntime(y);
  const g = gatherLayout(c, n, c.shape(x!), it.toNumbers());
  if (numel(c.shape(y)) === 0) return;
  c.emit('gather_f32', { outer: g.outer, axisLen: g.axisLen, nIdx: g.indices.length, inner: g.inner },
    { x: c.op(x!), idx: c.blob(g.indices), y: val(y) });
}

function lowerDepthSpace(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  viewCopy(c, n.outputs[0]!, x, depthSpaceView(c, n, c.shape(x)));
}

function lowerLayerNorm(c: LowerCtx, n: Node): void {
  const [x, s, b] = n.inputs;
  const [mo, ro] = [n.outputs[1], n.outputs[2]].map((o) => (o !== undefined && c.g.useCount(o) > 0 ? o : undefined));
  const y = n.outputs[0]!;
  const xs = c.shape(x!);
  const la = opAttrs<{ axis: number; epsilon: number }>(n, c.opset);
  const ax = normAxis(la.axis, xs.length);
  const rows = numel(xs.slice(0, ax));
  const inner = numel(xs.slice(ax));
  const full = (id: ValueId | null | undefined): Operand | undefined => {
    if (id == null) return undefined;
    if (!c.isConst(id) && numel(c.shape(id)) === inner) return c.op(id);
    const t = c.constOf(id, `LayerNormalization ${id === s ? 'scale' : 'bias'} (broadcast)`);
    const d = c.f32Data(t);
    if (d.length === inner) return c.op(id);
    return c.blob(expandToInner(d, [...t.shape] as number[], xs.slice(ax)));
  };
  const ops: Record<string, Operand> = { x: c.op(x!), y: val(y) };
  const so = full(s);
  const bo = full(b);
  if (so) ops['s'] = so;
  if (bo) ops['b'] = bo;
  const stats = mo !== undefined || ro !== undefined;
  if (stats) {
    ops['mean'] = val(mo ?? c.temp(rows * 4));
    ops['rstd'] = val(ro ?? c.temp(rows * 4));
  }
  c.emit('norm_f32', { rows, inner, eps: la.epsilon, affine: 'inner', C: 1, scale: !!so, bias: !!bo, stats }, ops);
}

function lowerInstanceNorm(c: LowerCtx, n: Node): void {
  const [x, s, b] = n.inputs;
  const xs = c.shape(x!);
  const C = xs[1]!;
  c.emit('norm_f32', { rows: xs[0]! * C, inner: numel(xs.slice(2)), eps: opAttrs<{ epsilon: number }>(n, c.opset).epsilon, affine: 'channel', C, scale: true, bias: true, stats: false },
    { x: c.op(x!), s: c.op(s!), b: c.op(b!), y: val(n.outputs[0]!) });
}

/** Resize / Upsample on the last two axes (outer axes must keep their size). */
function lowerResize(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const ys = c.shape(y);
  const r = resizeSpec(c, n, c.shape(x), ys, 'webgpu');
  const th = resizeTable(r, r.IH, r.OH, r.sH);
  const tw = resizeTable(r, r.IW, r.OW, r.sW);
  if (numel(ys) === 0) return;
  c.emit('resize_f32', { outer: r.outer, IH: r.IH, IW: r.IW, OH: r.OH, OW: r.OW, mode: r.mode },
    { x: c.op(x), th: c.blob(th), tw: c.blob(tw), y: val(y) });
}

function lowerGridSample(c: LowerCtx, n: Node): void {
  const [x, grid] = n.inputs;
  const y = n.outputs[0]!;
  const xs = c.shape(x!);
  const ys = c.shape(y);
  if (xs.length !== 4) throw c.unsupported('GridSample is supported for 4-D inputs only on webgpu');
  const gs = gridSampleSpec(c, n, 'webgpu');
  c.emit('grid_sample_f32', {
    N: xs[0]!, C: xs[1]!, H: xs[2]!, W: xs[3]!, OH: ys[2]!, OW: ys[3]!, mode: gs.mode === 'linear' ? 'bilinear' : 'nearest', padding: gs.padding, alignCorners: gs.alignCorners,
  },
    { x: c.op(x!), grid: c.op(grid!), y: val(y) });
}

/** edgec.RoundF16 (--fp16 on f32 hardware): kernels/round-f16.ts. */
function lowerRoundF16(c: LowerCtx, n: Node): void {
  const y = n.outputs[0]!;
  c.emit('round_f16_f32', { n: numel(c.shape(y)) }, { x: c.op(n.inputs[0]!), y: val(y) });
}

function lowerCast(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  if (c.g.typeOf(x).dtype !== 'f32' || c.g.typeOf(n.outputs[0]!).dtype !== 'f32') throw c.unsupported('Cast between dtypes is not supported on webgpu (f32 only)');
  c.parent.set(n.outputs[0]!, x);
}

/** Lowering functions by qualified op name ('edgec.X' for the edgec domain). */
export const LOWERINGS: Readonly<Record<string, LowerFn>> = {
  Conv: lowerConv, 'edgec.FusedConv': lowerConv, ConvTranspose: lowerConvTranspose,
  Gemm: lowerGemm, 'edgec.FusedGemm': lowerGemm,
  MatMul: lowerMatMul, 'edgec.FusedMatMul': lowerMatMul,
  BatchNormalization: lowerBatchNorm,
  ...Object.fromEntries(UNARY_OPS.map((k) => [k, lowerUnary])),
  ...Object.fromEntries(Object.keys(BINARY_OPS).map((k) => [k, lowerBinary])),
  Softmax: lowerSoftmax, LogSoftmax: lowerSoftmax,
  ...Object.fromEntries(REDUCE_OPS.map((k) => [k, lowerReduce])),
  GlobalAveragePool: lowerGlobalPool, GlobalMaxPool: lowerGlobalPool,
  MaxPool: lowerPool, AveragePool: lowerPool,
  Transpose: lowerTranspose, Concat: lowerConcat, Split: lowerSplit, Slice: lowerSlice, Pad: lowerPad,
  Expand: lowerExpand, Tile: lowerTile, Gather: lowerGather,
  DepthToSpace: lowerDepthSpace, SpaceToDepth: lowerDepthSpace,
  LayerNormalization: lowerLayerNorm, InstanceNormalization: lowerInstanceNorm,
  Resize: lowerResize, Upsample: lowerResize, GridSample: lowerGridSample,
  Cast: lowerCast,
  'edgec.RoundF16': lowerRoundF16,
};

function qualified(n: Node): string {
  return n.domain === '' || n.domain === 'ai.onnx' ? n.op : `${n.domain}.${n.op}`;
}

/**
 * Lowers an optimized graph to dispatch steps and an arena plan.
 * @param g graph with concrete shapes (after the webgpu pipeline)
 */
export function lowerGraph(g: Graph, opts: { f16Weights?: boolean } = {}): Lowered {
  const c = new LowerCtx(g, opts.f16Weights ?? false);
  const layers = c.lowerNodes(() => c.steps.length, (n) => {
    // integer ops and int8/uint8/int32 values (lower-int8.ts)
    if (lowerInt8Node(c, n)) return;
    if (ALIAS_OPS.has(n.op) && n.domain === '') {
      if (n.op === 'Dropout' && n.outputs.length > 1 && g.useCount(n.outputs[1]!) > 0) throw c.unsupported('Dropout mask output is not supported');
      c.checkRuntime(n.inputs[0]!);
      c.parent.set(n.outputs[0]!, n.inputs[0]!);
      return;
    }
    const fn = LOWERINGS[qualified(n)];
    if (!fn) throw c.unsupported(`no webgpu lowering for op ${qualified(n)}`);
    for (const o of n.outputs) if (g.useCount(o) > 0 || g.outputs.includes(o)) c.checkRuntime(o);
    fn(c, n);
  });
  return finish(c, layers);
}

/** Resolves aliases, adds output copies, computes live ranges and plans the arena. */
function finish(c: LowerCtx, layers: Node[]): Lowered {
  const g = c.g;
  const parent = c.parent;
  const rootOf = (id: number): number => {
    let r = id;
    while (parent.has(r)) r = parent.get(r)!;
    return r;
  };
  const steps = c.steps;
  const outputs: Lowered['outputs'] = [];
  const seenRoots = new Set<number>();
  const inputSet = new Set(g.inputs);
  for (const o of g.outputs) {
    const v = g.value(o);
    const shape = c.shape(o);
    let id: number = o;
    const r = rootOf(o);
    if (c.consts.has(r) || c.consts.has(o) || inputSet.has(r) || seenRoots.has(r)) {
      id = c.temp(Math.max(1, numel(shape)) * 4);
      c.node = { id: -1, op: 'Identity', domain: '', inputs: [o], outputs: [o], attrs: {}, name: v.name };
      const src = c.consts.has(o) ? c.op(o) : c.consts.has(r) ? c.op(r) : val(r);
      copyView(c, val(id), numel(shape), stridesOf(shape), 0, src, numel(shape), stridesOf(shape), 0, shape);
    }
    seenRoots.add(rootOf(id));
    c.checkRuntime(id);
    outputs.push({ id, name: v.name, shape, dtype: v.type.dtype });
  }
  const bytesOf = (id: number): number => (id < 0 ? c.temps.get(id)! : valueBytes(c, id));
  const END = steps.length;
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
  const plan = planMemory(reqs, 16);
  const inputs = g.inputs.map((id) => {
    const v = g.value(id);
    c.checkRuntime(id);
    return { id, name: v.name, shape: c.shape(id), dtype: v.type.dtype };
  });
  return { steps, blobs: c.blobs, codecs: c.codecs, rootOf, buffers, plan, inputs, outputs, layers };
}
