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
import { Tensor, isConcrete, numel } from '../../compiler/ir/tensor.js';
import { EdgecError, internal, unsupported } from '../../compiler/errors.js';
import { AttrReader, normAxis, opOf, opsetOf, parseAttrs } from '../../compiler/ops/registry.js';
import { actOf } from '../../compiler/ops/act.js';
import { geom3, readWindowAttrs, windowParams } from '../../compiler/ops/conv.js';
import { BufferReq, MemoryPlan, planMemory } from '../wasm/memory-plan.js';
import '../../compiler/ops/index.js';
import { BufKind, stridesOf } from './wgsl/shader.js';
import { UNARY_OPS } from './kernels/unary.js';
import { REDUCE_OPS } from './kernels/reduce.js';
import { ConvParams } from './kernels/conv-params.js';
import { GemmParams } from './kernels/gemm.js';

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
export class LowerCtx {
  readonly steps: Step[] = [];
  readonly blobs: Float32Array[] = [];
  readonly consts: Map<ValueId, Tensor>;
  readonly parent = new Map<number, number>();
  readonly temps = new Map<number, number>();
  private readonly constBlob = new Map<ValueId, number>();
  private nextTemp = -1;
  node!: Node;

  constructor(readonly g: Graph) {
    this.consts = new Map(g.consts);
  }

  shape(id: ValueId): number[] {
    const s = this.g.typeOf(id).shape;
    if (!isConcrete(s)) throw this.unsupported(`value "${this.g.value(id).name}" has a symbolic shape [${s.join(',')}]; fix input shapes first`);
    return [...s];
  }

  isConst(id: ValueId | null | undefined): boolean {
    return id !== null && id !== undefined && this.consts.has(id);
  }

  constOf(id: ValueId | null | undefined, what: string): Tensor {
    const t = id === null || id === undefined ? undefined : this.consts.get(id);
    if (!t) throw this.unsupported(`${what} must be a constant on the webgpu target`);
    return t;
  }

  constNums(id: ValueId | null | undefined, what: string): number[] | undefined {
    if (id === null || id === undefined) return undefined;
    return this.constOf(id, what).toNumbers();
  }

  unsupported(msg: string): EdgecError {
    return unsupported(msg, { node: this.node?.name, op: this.node?.op });
  }

  /** Adds a constant blob. */
  blob(data: Float32Array | Int32Array): Operand {
    const f = data instanceof Float32Array ? data : new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
    this.blobs.push(f.length === 0 ? new Float32Array(1) : f);
    return { k: 'blob', blob: this.blobs.length - 1 };
  }

  f32Data(t: Tensor): Float32Array {
    if (t.data instanceof Float32Array) return t.data;
    const out = new Float32Array(t.size);
    for (let i = 0; i < t.size; i++) out[i] = t.get(i);
    return out;
  }

  /** Operand of a value: its constant blob or its runtime buffer. */
  op(id: ValueId): Operand {
    const t = this.consts.get(id);
    if (t) {
      if (t.dtype !== 'f32') throw this.unsupported(`constant "${this.g.value(id).name}" has dtype ${t.dtype}; the webgpu target computes in f32`);
      let b = this.constBlob.get(id);
      if (b === undefined) {
        b = (this.blob(this.f32Data(t)) as { blob: number }).blob;
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

  get opset(): number {
    return opsetOf(this.node, this.g);
  }
}

/** Operand names kernels write. */
const OUTPUT_OPERANDS = new Set(['y', 'mean', 'rstd']);

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/** Strides that read `inShape` (right-aligned) broadcast to `outShape` (0 on broadcast dims). */
export function broadcastStrides(inShape: readonly number[], outShape: readonly number[]): number[] {
  const cs = stridesOf(inShape);
  const r = outShape.length;
  return outShape.map((d, i) => {
    const k = i - (r - inShape.length);
    if (k < 0) return 0;
    return inShape[k] === 1 && d !== 1 ? 0 : cs[k]!;
  });
}

function attrNum(n: Node, key: string, def: number): number {
  const v = n.attrs[key];
  return typeof v === 'number' ? v : def;
}
function attrStr(n: Node, key: string, def: string): string {
  const v = n.attrs[key];
  return typeof v === 'string' ? v : def;
}
function attrInts(n: Node, key: string): number[] | undefined {
  const v = n.attrs[key];
  return Array.isArray(v) ? (v as number[]) : undefined;
}

/** Fused activation of an edgec.Fused* node (null: none). */
function fusedAct(n: Node): { kind: string; params: number[] } | null {
  return actOf(n.attrs) ?? null;
}

type LowerFn = (c: LowerCtx, n: Node) => void;

/** Strided copy y[dstOff + i.dst] = x[srcOff + i.src] over `dims`. */
function copyView(c: LowerCtx, y: Operand, ySize: number, dstStrides: number[], dstOff: number,
  x: Operand, xSize: number, srcStrides: number[], srcOff: number, dims: number[]): void {
  if (dims.some((d) => d === 0)) return;
  c.emit('copy_strided_f32', { dims, srcStrides, dstStrides, srcOff, dstOff, srcSize: Math.max(1, xSize), dstSize: ySize }, { x, y });
}

const val = (id: number): Operand => ({ k: 'val', id });

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
  const wa = readWindowAttrs(new AttrReader(n, c.opset), false);
  const group = attrNum(n, 'group', 1);
  const p = windowParams(wa, nd, ws.slice(2), n.op);
  const geo = geom3(xs.slice(2), p, wa.autoPad, false, n.op);
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

/** Tiled GEMM, or the direct kernel for skinny products (M < 8) that would leave tiles mostly idle. */
/** Begin pad of one spatial dim of ConvTranspose (compiler/ops/conv.ts convTDim). */
function convTBegin(I: number, k: number, s: number, d: number, pb: number, op: number, out: number, autoPad: string, explicitShape: boolean): number {
  const full = s * (I - 1) + op + (k - 1) * d + 1;
  if (explicitShape || autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const total = full - out;
    const half = Math.floor(total / 2);
    return autoPad === 'SAME_UPPER' ? half : total - half;
  }
  return autoPad === 'VALID' ? 0 : pb;
}

function lowerConvTranspose(c: LowerCtx, n: Node): void {
  const [xId, wId, bId] = n.inputs;
  const y = n.outputs[0]!;
  const xs = c.shape(xId!);
  const ws = c.shape(wId!);
  const ys = c.shape(y);
  const nd = xs.length - 2;
  if (nd < 1 || nd > 2) throw c.unsupported(`${nd}-D ConvTranspose is not supported on webgpu (1-D and 2-D only)`);
  const wa = readWindowAttrs(new AttrReader(n, c.opset), false);
  const group = attrNum(n, 'group', 1);
  const p = windowParams(wa, nd, ws.slice(2), n.op);
  const op = attrInts(n, 'output_padding') ?? new Array<number>(nd).fill(0);
  const explicit = attrInts(n, 'output_shape') !== undefined;
  const pb = xs.slice(2).map((I, i) => convTBegin(I, p.kernel[i]!, p.strides[i]!, p.dilations[i]!, p.pads[i]!, op[i]!, ys[2 + i]!, wa.autoPad, explicit));
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

function emitGemm(c: LowerCtx, p: Omit<GemmParams, 'bufs'>, ops: Record<string, Operand>): void {
  c.emit(p.M < 8 ? 'gemm_direct_f32' : 'gemm_tiled_f32', p as unknown as Record<string, unknown>, ops);
}

function lowerGemm(c: LowerCtx, n: Node): void {
  const [aId, bId, cId] = n.inputs;
  const y = n.outputs[0]!;
  const as = c.shape(aId!);
  const bs = c.shape(bId!);
  if (as.length !== 2 || bs.length !== 2) throw c.unsupported('Gemm inputs must be 2-D');
  const transA = attrNum(n, 'transA', 0) !== 0;
  const transB = attrNum(n, 'transB', 0) !== 0;
  const alpha = attrNum(n, 'alpha', 1);
  const beta = attrNum(n, 'beta', 1);
  const M = transA ? as[1]! : as[0]!;
  const K = transA ? as[0]! : as[1]!;
  const N = transB ? bs[0]! : bs[1]!;
  const ops: Record<string, Operand> = { a: c.op(aId!), b: c.op(bId!), y: val(y) };
  let bias: GemmParams['bias'] = 'none';
  let bBeta = 1;
  if (cId != null && beta !== 0) {
    const cs = c.shape(cId);
    const cn = numel(cs);
    bias = cn === 1 ? 'scalar' : cn === M * N && cs.length === 2 && cs[0] === M ? 'full'
      : cs[cs.length - 1] === N && cn === N ? 'col' : cs.length === 2 && cs[0] === M && cs[1] === 1 ? 'row' : 'none';
    if (bias === 'none') throw c.unsupported(`Gemm bias of shape [${cs.join(',')}] does not broadcast to [${M},${N}]`);
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
  const eps = attrNum(n, 'epsilon', 1e-5);
  const xs = c.shape(x!);
  const C = xs[1] ?? 1;
  const S = c.f32Data(c.constOf(s, 'BatchNormalization scale'));
  const B = c.f32Data(c.constOf(b, 'BatchNormalization B'));
  const Mn = c.f32Data(c.constOf(m, 'BatchNormalization mean'));
  const V = c.f32Data(c.constOf(v, 'BatchNormalization var'));
  if (S.length !== C) throw c.unsupported('BatchNormalization with per-element parameters is not supported');
  const sc = new Float32Array(C);
  const sh = new Float32Array(C);
  for (let i = 0; i < C; i++) {
    const k = S[i]! / Math.sqrt(V[i]! + eps);
    sc[i] = k;
    sh[i] = B[i]! - Mn[i]! * k;
  }
  c.emit('channel_affine_f32', { N: xs[0]!, C, S: numel(xs.slice(2)) }, { x: c.op(x!), scale: c.blob(sc), shift: c.blob(sh), y: val(n.outputs[0]!) });
}

function unaryParams(c: LowerCtx, n: Node): { op: string; alpha: number; beta: number } {
  switch (n.op) {
    case 'Clip': {
      if (c.opset < 11) return { op: 'Clip', alpha: attrNum(n, 'min', -3.4028234663852886e38), beta: attrNum(n, 'max', 3.4028234663852886e38) };
      const lo = c.constNums(n.inputs[1], 'Clip min')?.[0] ?? -Infinity;
      const hi = c.constNums(n.inputs[2], 'Clip max')?.[0] ?? Infinity;
      return { op: 'Clip', alpha: lo, beta: hi };
    }
    case 'LeakyRelu': return { op: n.op, alpha: attrNum(n, 'alpha', 0.01), beta: 0 };
    case 'HardSigmoid': return { op: n.op, alpha: attrNum(n, 'alpha', 0.2), beta: attrNum(n, 'beta', 0.5) };
    case 'Elu': return { op: n.op, alpha: attrNum(n, 'alpha', 1), beta: 0 };
    case 'Celu': return { op: n.op, alpha: attrNum(n, 'alpha', 1), beta: 0 };
    case 'Selu': return { op: n.op, alpha: attrNum(n, 'alpha', 1.67326319217681884765625), beta: attrNum(n, 'gamma', 1.05070102214813232421875) };
    case 'ThresholdedRelu': return { op: n.op, alpha: attrNum(n, 'alpha', 1), beta: 0 };
    case 'Gelu': return { op: attrStr(n, 'approximate', 'none') === 'tanh' ? 'GeluTanh' : 'Gelu', alpha: 0, beta: 0 };
    default: return { op: n.op, alpha: 0, beta: 0 };
  }
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
  c.emit('unary_f32', { ...unaryParams(c, n), n: numel(c.shape(y)) }, { x: c.op(x), y: val(y) });
}

function binaryStep(c: LowerCtx, op: string, a: Operand, as: number[], b: Operand, bs: number[], y: number, ys: number[]): void {
  if (numel(ys) === 0) return;
  c.emit('binary_f32', { op, shape: ys, sa: broadcastStrides(as, ys), sb: broadcastStrides(bs, ys), na: Math.max(1, numel(as)), nb: Math.max(1, numel(bs)) },
    { a, b, y: val(y) });
}

const BINARY_OPS: Record<string, string> = { Add: 'Add', Sub: 'Sub', Mul: 'Mul', Div: 'Div', Pow: 'Pow', PRelu: 'PRelu', Max: 'Max', Min: 'Min', Sum: 'Add', Mean: 'Add', Mod: 'Mod' };

function lowerBinary(c: LowerCtx, n: Node): void {
  const op = BINARY_OPS[n.op]!;
  if (n.op === 'Mod' && attrNum(n, 'fmod', 0) === 0) throw c.unsupported('integer Mod (fmod=0) is not supported on webgpu');
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
  const xs = c.shape(x);
  const r = xs.length;
  let outer: number, L: number, inner: number;
  if (c.opset < 13) {
    const ax = normAxis(attrNum(n, 'axis', 1), Math.max(r, 1));
    outer = numel(xs.slice(0, ax));
    L = numel(xs.slice(ax));
    inner = 1;
  } else {
    const ax = normAxis(attrNum(n, 'axis', -1), Math.max(r, 1));
    outer = numel(xs.slice(0, ax));
    L = xs[ax] ?? 1;
    inner = numel(xs.slice(ax + 1));
  }
  if (outer * L * inner === 0) return;
  c.emit('softmax_f32', { outer, L, inner, log: n.op === 'LogSoftmax' }, { x: c.op(x), y: val(y) });
}

function reduceAxes(c: LowerCtx, n: Node, rank: number): number[] | 'noop' {
  const axesInputFrom = n.op === 'ReduceSum' ? 13 : 18;
  let axes: number[] | undefined;
  if (c.opset >= axesInputFrom) axes = c.constNums(n.inputs[1], `${n.op} axes`);
  else axes = attrInts(n, 'axes');
  if (!axes || axes.length === 0) {
    if (c.opset >= axesInputFrom && attrNum(n, 'noop_with_empty_axes', 0) !== 0) return 'noop';
    return [...Array(rank).keys()];
  }
  return [...new Set(axes.map((a) => normAxis(a, rank)))].sort((a, b) => a - b);
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
  const wa = readWindowAttrs(new AttrReader(n, c.opset), true);
  const ceil = attrNum(n, 'ceil_mode', 0) !== 0;
  const p = windowParams(wa, nd, undefined, n.op);
  const geo = geom3(xs.slice(2), p, wa.autoPad, ceil, n.op);
  const kind = n.op === 'MaxPool' ? 'max' : attrNum(n, 'count_include_pad', 0) !== 0 ? 'avg_pad' : 'avg';
  c.emit('pool2d_f32', {
    planes: xs[0]! * xs[1]!, H: geo.I[1], W: geo.I[2], OH: geo.O[1], OW: geo.O[2], KH: geo.K[1], KW: geo.K[2],
    sh: geo.S[1], sw: geo.S[2], ph: geo.P[1], pw: geo.P[2], dh: geo.D[1], dw: geo.D[2], kind,
    HL: geo.I[1] + geo.E[1], WL: geo.I[2] + geo.E[2],
  }, { x: c.op(x), y: val(n.outputs[0]!) });
}

function lowerTranspose(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const xs = c.shape(x);
  const perm = attrInts(n, 'perm') ?? xs.map((_, i) => xs.length - 1 - i);
  const cs = stridesOf(xs);
  const ys = perm.map((p) => xs[p]!);
  copyView(c, val(y), numel(ys), stridesOf(ys), 0, c.op(x), numel(xs), perm.map((p) => cs[p]!), 0, ys);
}

function lowerConcat(c: LowerCtx, n: Node): void {
  const y = n.outputs[0]!;
  const ys = c.shape(y);
  const ax = normAxis(attrNum(n, 'axis', 0), ys.length);
  const yst = stridesOf(ys);
  let off = 0;
  for (const x of n.inputs) {
    if (x === null) continue;
    const xs = c.shape(x);
    copyView(c, val(y), numel(ys), yst, off * yst[ax]!, c.op(x), numel(xs), stridesOf(xs), 0, xs);
    off += xs[ax]!;
  }
}

function lowerSplit(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const xs = c.shape(x);
  const ax = normAxis(attrNum(n, 'axis', 0), xs.length);
  const xst = stridesOf(xs);
  let off = 0;
  for (const o of n.outputs) {
    const os = c.shape(o);
    copyView(c, val(o), numel(os), stridesOf(os), 0, c.op(x), numel(xs), xst, off * xst[ax]!, os);
    off += os[ax]!;
  }
}

function lowerSlice(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const xs = c.shape(x);
  let starts: number[], ends: number[], axes: number[] | undefined, steps: number[] | undefined;
  if (c.opset < 10) {
    starts = attrInts(n, 'starts') ?? [];
    ends = attrInts(n, 'ends') ?? [];
    axes = attrInts(n, 'axes');
  } else {
    starts = c.constNums(n.inputs[1], 'Slice starts')!;
    ends = c.constNums(n.inputs[2], 'Slice ends')!;
    axes = c.constNums(n.inputs[3], 'Slice axes');
    steps = c.constNums(n.inputs[4], 'Slice steps');
  }
  const cs = stridesOf(xs);
  const begin = xs.map(() => 0);
  const step = xs.map(() => 1);
  const count = [...xs];
  starts.forEach((s0, k) => {
    const a = normAxis(axes?.[k] ?? k, xs.length);
    const d = xs[a]!;
    const st = steps?.[k] ?? 1;
    let s = s0 < 0 ? s0 + d : s0;
    let e = ends[k]! < 0 ? ends[k]! + d : ends[k]!;
    if (st > 0) {
      s = Math.min(Math.max(s, 0), d);
      e = Math.min(Math.max(e, 0), d);
      count[a] = Math.max(0, Math.ceil((e - s) / st));
    } else {
      s = Math.min(Math.max(s, 0), d - 1);
      e = Math.min(Math.max(e, -1), d - 1);
      count[a] = Math.max(0, Math.ceil((s - e) / -st));
    }
    begin[a] = s;
    step[a] = st;
  });
  const ys = c.shape(y);
  if (count.some((d, i) => d !== ys[i])) throw internal(`Slice: computed shape [${count.join(',')}] differs from inferred [${ys.join(',')}]`);
  const off = begin.reduce((acc, b, i) => acc + b * cs[i]!, 0);
  copyView(c, val(y), numel(ys), stridesOf(ys), 0, c.op(x), numel(xs), cs.map((s, i) => s * step[i]!), off, ys);
}

function lowerPad(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const xs = c.shape(x);
  const ys = c.shape(y);
  const r = xs.length;
  const mode = attrStr(n, 'mode', 'constant');
  let pads: number[];
  let value = 0;
  if (c.opset < 11) {
    pads = attrInts(n, 'pads') ?? attrInts(n, 'paddings') ?? [];
    value = attrNum(n, 'value', 0);
  } else {
    const raw = c.constNums(n.inputs[1], 'Pad pads')!;
    value = c.constNums(n.inputs[2], 'Pad constant_value')?.[0] ?? 0;
    const axes = c.constNums(n.inputs[3], 'Pad axes');
    if (axes) {
      pads = new Array<number>(2 * r).fill(0);
      axes.forEach((a0, k) => {
        const a = normAxis(a0, r);
        pads[a] = raw[k]!;
        pads[a + r] = raw[k + axes.length]!;
      });
    } else pads = raw;
  }
  if (mode !== 'constant' && mode !== 'reflect' && mode !== 'edge' && mode !== 'wrap') throw c.unsupported(`Pad mode "${mode}"`);
  if (mode !== 'constant' && pads.some((p) => p < 0)) throw c.unsupported(`Pad mode "${mode}" with negative pads`);
  if (numel(ys) === 0) return;
  c.emit('pad_f32', { mode, xs, ys, begin: pads.slice(0, r), value }, { x: c.op(x), y: val(y) });
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
  const y = n.outputs[0]!;
  const xs = c.shape(x);
  const reps = c.constNums(n.inputs[1], 'Tile repeats')!;
  // view y as [r0, d0, r1, d1, ...]: source stride 0 on the repeat dims
  const dims: number[] = [];
  const src: number[] = [];
  const cs = stridesOf(xs);
  xs.forEach((d, i) => {
    dims.push(reps[i]!, d);
    src.push(0, cs[i]!);
  });
  copyView(c, val(y), numel(dims), stridesOf(dims), 0, c.op(x), numel(xs), src, 0, dims);
}

function lowerGather(c: LowerCtx, n: Node): void {
  const [x, idx] = n.inputs;
  const y = n.outputs[0]!;
  const xs = c.shape(x!);
  const ax = normAxis(attrNum(n, 'axis', 0), xs.length);
  const it = c.consts.get(idx!);
  if (!it) throw c.unsupported('Gather with runtime indices is not supported on webgpu (indices must be constant)');
  c.checkRuntime(y);
  const ind = Int32Array.from(it.toNumbers());
  if (numel(c.shape(y)) === 0) return;
  c.emit('gather_f32', { outer: numel(xs.slice(0, ax)), axisLen: xs[ax]!, nIdx: ind.length, inner: numel(xs.slice(ax + 1)) },
    { x: c.op(x!), idx: c.blob(ind), y: val(y) });
}

function lowerDepthSpace(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const [N, C, H, W] = c.shape(x) as [number, number, number, number];
  const bs = attrNum(n, 'blocksize', 0);
  const xo = c.op(x);
  const size = N * C * H * W;
  if (n.op === 'DepthToSpace') {
    const Cp = C / (bs * bs);
    const crd = attrStr(n, 'mode', 'DCR') === 'CRD';
    // out viewed as [N, C', H, b1, W, b2]
    const src = crd
      ? [C * H * W, bs * bs * H * W, W, bs * H * W, 1, H * W]
      : [C * H * W, H * W, W, bs * Cp * H * W, 1, Cp * H * W];
    const dims = [N, Cp, H, bs, W, bs];
    copyView(c, val(y), size, stridesOf(dims), 0, xo, size, src, 0, dims);
  } else {
    const Ho = H / bs, Wo = W / bs;
    // out viewed as [N, b1, b2, C, H', W'] reading x[n, c, h*bs+b1, w*bs+b2]
    const dims = [N, bs, bs, C, Ho, Wo];
    copyView(c, val(y), size, stridesOf(dims), 0, xo, size, [C * H * W, W, 1, H * W, bs * W, bs], 0, dims);
  }
}

function lowerLayerNorm(c: LowerCtx, n: Node): void {
  const [x, s, b] = n.inputs;
  const [mo, ro] = [n.outputs[1], n.outputs[2]].map((o) => (o !== undefined && c.g.useCount(o) > 0 ? o : undefined));
  const y = n.outputs[0]!;
  const xs = c.shape(x!);
  const ax = normAxis(attrNum(n, 'axis', -1), xs.length);
  const rows = numel(xs.slice(0, ax));
  const inner = numel(xs.slice(ax));
  const full = (id: ValueId | null | undefined): Operand | undefined => {
    if (id == null) return undefined;
    if (!c.isConst(id) && numel(c.shape(id)) === inner) return c.op(id);
    const t = c.constOf(id, `LayerNormalization ${id === s ? 'scale' : 'bias'} (broadcast)`);
    const d = c.f32Data(t);
    if (d.length === inner) return c.op(id);
    const inShape = xs.slice(ax);
    const st = broadcastStrides([...t.shape].slice(-inShape.length), inShape);
    const o = new Float32Array(inner);
    const cs = stridesOf(inShape);
    for (let i = 0; i < inner; i++) {
      let k = 0;
      for (let dI = 0; dI < inShape.length; dI++) k += Math.floor(i / cs[dI]!) % inShape[dI]! * st[dI]!;
      o[i] = d[k]!;
    }
    return c.blob(o);
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
  c.emit('norm_f32', { rows, inner, eps: attrNum(n, 'epsilon', 1e-5), affine: 'inner', C: 1, scale: !!so, bias: !!bo, stats }, ops);
}

function lowerInstanceNorm(c: LowerCtx, n: Node): void {
  const [x, s, b] = n.inputs;
  const xs = c.shape(x!);
  const C = xs[1]!;
  c.emit('norm_f32', { rows: xs[0]! * C, inner: numel(xs.slice(2)), eps: attrNum(n, 'epsilon', 1e-5), affine: 'channel', C, scale: true, bias: true, stats: false },
    { x: c.op(x!), s: c.op(s!), b: c.op(b!), y: val(n.outputs[0]!) });
}

/** Resize / Upsample on the last two axes (outer axes must keep their size). */
function lowerResize(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const xs = c.shape(x);
  const ys = c.shape(y);
  const r = xs.length;
  if (r < 2) throw c.unsupported('Resize of rank < 2');
  for (let i = 0; i < r - 2; i++) if (xs[i] !== ys[i]) throw c.unsupported('Resize of axes other than the last two is not supported on webgpu');
  const mode = attrStr(n, 'mode', 'nearest');
  if (mode !== 'nearest' && mode !== 'linear') throw c.unsupported(`Resize mode "${mode}" is not supported on webgpu`);
  const ctm = c.opset >= 11 ? attrStr(n, 'coordinate_transformation_mode', 'half_pixel') : 'asymmetric';
  const nm = attrStr(n, 'nearest_mode', c.opset >= 11 ? 'round_prefer_floor' : 'floor');
  if (ctm === 'tf_crop_and_resize') throw c.unsupported('Resize coordinate_transformation_mode "tf_crop_and_resize"');
  if (attrNum(n, 'antialias', 0) !== 0) throw c.unsupported('Resize antialias');
  if (attrInts(n, 'axes')) throw c.unsupported('Resize with the axes attribute');
  if (attrStr(n, 'keep_aspect_ratio_policy', 'stretch') !== 'stretch') throw c.unsupported('Resize keep_aspect_ratio_policy');
  let scales: number[] | undefined;
  if (n.op === 'Upsample' || c.opset < 11) scales = c.opset >= 9 ? c.constNums(n.inputs[1], 'scales') : (n.attrs['scales'] as number[]);
  else {
    const s = c.constNums(n.inputs[2], 'Resize scales');
    if (s && s.length > 0) scales = s;
  }
  const table = (inLen: number, outLen: number, scale: number): Int32Array => {
    const t = new Int32Array(mode === 'nearest' ? outLen : outLen * 3);
    const f = new Float32Array(t.buffer);
    for (let o = 0; o < outLen; o++) {
      let xo: number;
      switch (ctm) {
        case 'half_pixel': xo = (o + 0.5) / scale - 0.5; break;
        case 'pytorch_half_pixel': xo = outLen > 1 ? (o + 0.5) / scale - 0.5 : 0; break;
        case 'align_corners': xo = outLen === 1 ? 0 : (o * (inLen - 1)) / (outLen - 1); break;
        case 'asymmetric': xo = o / scale; break;
        case 'half_pixel_symmetric': {
          const adj = outLen / (scale * inLen);
          const center = inLen / 2;
          xo = center * (1 - adj) + (o + 0.5) / scale - 0.5;
          break;
        }
        default: throw c.unsupported(`Resize coordinate_transformation_mode "${ctm}"`);
      }
      if (mode === 'nearest') {
        let k: number;
        switch (nm) {
          case 'round_prefer_floor': k = xo === Math.floor(xo) + 0.5 ? Math.floor(xo) : Math.round(xo); break;
          case 'round_prefer_ceil': k = Math.round(xo); break;
          case 'floor': k = Math.floor(xo); break;
          case 'ceil': k = Math.ceil(xo); break;
          default: throw c.unsupported(`Resize nearest_mode "${nm}"`);
        }
        t[o] = Math.min(Math.max(k, 0), inLen - 1);
      } else {
        const xc = Math.min(Math.max(xo, 0), inLen - 1);
        const i0 = Math.floor(xc);
        t[o * 3] = i0;
        t[o * 3 + 1] = Math.min(i0 + 1, inLen - 1);
        f[o * 3 + 2] = xc - i0;
      }
    }
    return t;
  };
  const [IH, IW, OH, OW] = [xs[r - 2]!, xs[r - 1]!, ys[r - 2]!, ys[r - 1]!];
  const sH = scales ? scales[r - 2]! : OH / IH;
  const sW = scales ? scales[r - 1]! : OW / IW;
  if (numel(ys) === 0) return;
  c.emit('resize_f32', { outer: numel(xs.slice(0, r - 2)), IH, IW, OH, OW, mode },
    { x: c.op(x), th: c.blob(table(IH, OH, sH)), tw: c.blob(table(IW, OW, sW)), y: val(y) });
}

function lowerGridSample(c: LowerCtx, n: Node): void {
  const [x, grid] = n.inputs;
  const y = n.outputs[0]!;
  const xs = c.shape(x!);
  const ys = c.shape(y);
  if (xs.length !== 4) throw c.unsupported('GridSample is supported for 4-D inputs only on webgpu');
  const mode = attrStr(n, 'mode', c.opset >= 20 ? 'linear' : 'bilinear');
  const m = mode === 'bilinear' || mode === 'linear' ? 'bilinear' : mode === 'nearest' ? 'nearest' : undefined;
  if (!m) throw c.unsupported(`GridSample mode "${mode}"`);
  const pm = attrStr(n, 'padding_mode', 'zeros');
  if (pm !== 'zeros' && pm !== 'border' && pm !== 'reflection') throw c.unsupported(`GridSample padding_mode "${pm}"`);
  c.emit('grid_sample_f32', { N: xs[0]!, C: xs[1]!, H: xs[2]!, W: xs[3]!, OH: ys[2]!, OW: ys[3]!, mode: m, padding: pm, alignCorners: attrNum(n, 'align_corners', 0) !== 0 },
    { x: c.op(x!), grid: c.op(grid!), y: val(y) });
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
};

function qualified(n: Node): string {
  return n.domain === '' || n.domain === 'ai.onnx' ? n.op : `${n.domain}.${n.op}`;
}

function foldable(c: LowerCtx, n: Node): boolean {
  return n.inputs.every((x) => x === null || c.isConst(x)) && !Object.values(n.attrs).some((v) => v instanceof Graph);
}

/**
 * Lowers an optimized graph to dispatch steps and an arena plan.
 * @param g graph with concrete shapes (after the webgpu pipeline)
 */
export function lowerGraph(g: Graph): Lowered {
  const c = new LowerCtx(g);
  const layers: Node[] = [];
  for (const n of g.orderedNodes()) {
    c.node = n;
    try {
      if (foldable(c, n)) {
        const def = opOf(n, g);
        const opset = opsetOf(n, g);
        const outs = def.ref(n.inputs.map((x) => (x === null ? null : c.consts.get(x)!)), parseAttrs(def, n, opset), { opset, node: n });
        n.outputs.forEach((o, k) => outs[k] && c.consts.set(o, outs[k]!));
        continue;
      }
      if (n.op === 'Shape' && n.domain === '') {
        const s = c.shape(n.inputs[0]!);
        const start = attrNum(n, 'start', 0);
        const end = attrNum(n, 'end', s.length);
        const norm = (v: number) => Math.min(Math.max(v < 0 ? v + s.length : v, 0), s.length);
        const dims = s.slice(norm(start), norm(end));
        c.consts.set(n.outputs[0]!, new Tensor('i64', [dims.length], BigInt64Array.from(dims.map((d) => BigInt(d)))));
        continue;
      }
      if (ALIAS_OPS.has(n.op) && n.domain === '') {
        if (n.op === 'Dropout' && n.outputs.length > 1 && g.useCount(n.outputs[1]!) > 0) throw c.unsupported('Dropout mask output is not supported');
        c.checkRuntime(n.inputs[0]!);
        c.parent.set(n.outputs[0]!, n.inputs[0]!);
        continue;
      }
      const fn = LOWERINGS[qualified(n)];
      if (!fn) throw c.unsupported(`no webgpu lowering for op ${qualified(n)}`);
      for (const o of n.outputs) if (g.useCount(o) > 0 || g.outputs.includes(o)) c.checkRuntime(o);
      const before = c.steps.length;
      fn(c, n);
      if (c.steps.length > before) layers.push(n);
    } catch (e) {
      if (e instanceof EdgecError) throw e.withContext({ node: n.name, op: n.op, opset: opsetOf(n, g) });
      throw e;
    }
  }
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
  const bytesOf = (id: number): number => (id < 0 ? c.temps.get(id)! : Math.max(1, numel(c.shape(id))) * 4);
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
  return { steps, blobs: c.blobs, rootOf, buffers, plan, inputs, outputs, layers };
}
