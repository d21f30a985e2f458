/**
 * Kernel parameters derived from an op's attributes and constant inputs, shared by every target.
 *
 * The meaning of an op's attributes (which opset reads what from an attribute or from an input,
 * defaults, axis normalization, slice clamping) is defined once, in the op's file under
 * compiler/ops/; this module reads a node through those definitions (parseAttrs and the exported
 * resolve* helpers) and returns plain numbers a lowering turns into kernel arguments. A target
 * supplies only how a constant input is read (`ParamCtx.constNums`), so a runtime input where a
 * kernel needs a constant stays that target's 'unsupported' error.
 */
import { Node, ValueId } from '../../compiler/ir/graph.js';
import { numel, stridesOf } from '../../compiler/ir/tensor.js';
import { internal, unsupported } from '../../compiler/errors.js';
import { getOp, normAxis, parseAttrs } from '../../compiler/ops/registry.js';
import { ActKind, actOf, actParams } from '../../compiler/ops/act.js';
import { ConvAttrs, Geom3, WindowAttrs, geom3, windowParams } from '../../compiler/ops/conv.js';
import { resolvePads, resolveSlice, shapeDimsRange } from '../../compiler/ops/shape.js';
import { resolveReduceAxes } from '../../compiler/ops/reduce.js';
import { softmaxDims } from '../../compiler/ops/activation.js';

/** What a target lowering context provides to the parameter helpers. */
export interface ParamCtx {
  /** Opset of the node being lowered. */
  readonly opset: number;
  /**
   * Elements of a constant input as numbers; undefined when the input is absent.
   * @param id input value id (null/undefined: absent)
   * @param what description for the error when the input is not a constant
   */
  constNums(id: ValueId | null | undefined, what: string): number[] | undefined;
}

/**
 * Parsed attributes of a node, by its op definition (compiler/ops registry).
 * @param n node
 * @param opset opset of the node's domain
 */
export function opAttrs<A>(n: Node, opset: number): A {
  const def = getOp(n.domain, n.op);
  if (!def) throw internal(`no op definition for ${n.domain ? `${n.domain}.` : ''}${n.op}`);
  return parseAttrs(def, n, opset) as A;
}

/** Row-major element strides of a concrete shape. */
export const contiguous = (shape: readonly number[]): number[] => stridesOf(shape);

/**
 * Strides that read `inShape` (right-aligned) broadcast to `outShape` (0 on broadcast dims).
 * @param inShape shape of the operand
 * @param outShape shape it is broadcast to
 */
export function broadcastStrides(inShape: readonly number[], outShape: readonly number[]): number[] {
  const cs = stridesOf(inShape);
  const r = outShape.length;
  return outShape.map((d, i) => {
    const k = i - (r - inShape.length);
    if (k < 0) return 0;
    return inShape[k] === 1 && d !== 1 ? 0 : cs[k]!;
  });
}

// ---------------------------------------------------------------------------------------------
// Data movement
// ---------------------------------------------------------------------------------------------

/** A strided view of a contiguous input: out[i] = x[offset + sum_k i_k * strides[k]] over `dims`. */
export interface StridedView {
  dims: number[];
  strides: number[];
  /** Element offset of the first element read. */
  offset: number;
}

/**
 * Slice as a strided view of its input (compiler/ops/shape.ts resolveSlice: the reference's
 * clamping rules). Starts/ends/axes are attributes before opset 10 and constant inputs after.
 * @param c lowering context (opset, constant inputs)
 * @param n the Slice node
 * @param xs concrete input shape
 */
export function sliceView(c: ParamCtx, n: Node, xs: readonly number[]): StridedView {
  const a = opAttrs<{ starts?: number[]; ends?: number[]; axes?: number[] }>(n, c.opset);
  const p = a.starts
    ? { starts: a.starts, ends: a.ends ?? [], axes: a.axes }
    : {
      starts: c.constNums(n.inputs[1], 'Slice starts') ?? [],
      ends: c.constNums(n.inputs[2], 'Slice ends') ?? [],
      axes: c.constNums(n.inputs[3], 'Slice axes'),
      steps: c.constNums(n.inputs[4], 'Slice steps'),
    };
  const { begin, step, count } = resolveSlice(xs, p);
  const cs = stridesOf(xs);
  return { dims: count, strides: cs.map((s, i) => s * step[i]!), offset: begin.reduce((acc, b, i) => acc + b * cs[i]!, 0) };
}

/** Pad parameters: mode, per-axis begin/end pads (negative: crop) and the constant value. */
export interface PadSpec {
  mode: 'constant' | 'reflect' | 'edge' | 'wrap';
  begin: number[];
  end: number[];
  value: number;
}

/**
 * Pad parameters (attributes before opset 11; pads/value/axes constant inputs after).
 * @param c lowering context
 * @param n the Pad node
 * @param rank input rank
 */
export function padSpec(c: ParamCtx, n: Node, rank: number): PadSpec {
  const a = opAttrs<{ mode: PadSpec['mode']; pads?: number[]; value: number }>(n, c.opset);
  if (a.pads) {
    const [begin, end] = resolvePads(rank, a.pads, undefined);
    return { mode: a.mode, begin, end, value: a.value };
  }
  const pads = c.constNums(n.inputs[1], 'Pad pads') ?? [];
  const value = c.constNums(n.inputs[2], 'Pad constant_value')?.[0] ?? 0;
  const [begin, end] = resolvePads(rank, pads, c.constNums(n.inputs[3], 'Pad axes'));
  return { mode: a.mode, begin, end, value };
}

/**
 * Concat/Split offsets: the `axis` attribute (normalized) and the element offset of each part
 * in the joined tensor.
 * @param c lowering context
 * @param n the Concat or Split node
 * @param joined shape of the joined tensor (Concat output, Split input)
 * @param parts shapes of the parts, in order
 */
export function partOffsets(c: ParamCtx, n: Node, joined: readonly number[], parts: readonly (readonly number[])[]): { axis: number; offsets: number[] } {
  const ax = normAxis(opAttrs<{ axis: number }>(n, c.opset).axis, joined.length);
  const st = stridesOf(joined)[ax]!;
  let off = 0;
  const offsets = parts.map((s) => {
    const o = off * st;
    off += s[ax]!;
    return o;
  });
  return { axis: ax, offsets };
}

/**
 * Transpose as a strided view (default perm: reversed axes).
 * @param c lowering context
 * @param n the Transpose node
 * @param xs concrete input shape
 */
export function transposeView(c: ParamCtx, n: Node, xs: readonly number[]): StridedView {
  const perm = opAttrs<{ perm?: number[] }>(n, c.opset).perm ?? xs.map((_, i) => xs.length - 1 - i);
  const cs = stridesOf(xs);
  return { dims: perm.map((p) => xs[p]!), strides: perm.map((p) => cs[p]!), offset: 0 };
}

/**
 * Tile as a strided view: the output viewed as [r0, d0, r1, d1, ...] with source stride 0 on the
 * repeat dims.
 * @param xs concrete input shape
 * @param reps repeats per axis
 */
export function tileView(xs: readonly number[], reps: readonly number[]): StridedView {
  const dims: number[] = [];
  const strides: number[] = [];
  const cs = stridesOf(xs);
  xs.forEach((d, i) => {
    dims.push(reps[i]!, d);
    strides.push(0, cs[i]!);
  });
  return { dims, strides, offset: 0 };
}

/**
 * DepthToSpace / SpaceToDepth of an NCHW input as a strided view over the output (contiguous in
 * `dims`): DepthToSpace views the output as [N, C', H, b1, W, b2], SpaceToDepth as
 * [N, b1, b2, C, H', W'].
 * @param c lowering context
 * @param n the node
 * @param xs concrete NCHW input shape
 */
export function depthSpaceView(c: ParamCtx, n: Node, xs: readonly number[]): StridedView {
  const [N, C, H, W] = xs as [number, number, number, number];
  const a = opAttrs<{ blocksize: number; mode?: string }>(n, c.opset);
  const bs = a.blocksize;
  if (n.op === 'DepthToSpace') {
    const Cp = C / (bs * bs);
    const strides = a.mode === 'CRD'
      ? [C * H * W, bs * bs * H * W, W, bs * H * W, 1, H * W]
      : [C * H * W, H * W, W, bs * Cp * H * W, 1, Cp * H * W];
    return { dims: [N, Cp, H, bs, W, bs], strides, offset: 0 };
  }
  return { dims: [N, bs, bs, C, H / bs, W / bs], strides: [C * H * W, W, 1, H * W, bs * W, bs], offset: 0 };
}

/**
 * Gather along one axis with constant indices: [outer, axisLen, inner] and the indices
 * (negative ones normalized).
 * @param c lowering context
 * @param n the Gather node
 * @param xs concrete data shape
 * @param idx the constant indices
 */
export function gatherLayout(c: ParamCtx, n: Node, xs: readonly number[], idx: readonly number[]): { outer: number; axisLen: number; inner: number; indices: Int32Array } {
  const ax = normAxis(opAttrs<{ axis: number }>(n, c.opset).axis, xs.length);
  const L = xs[ax]!;
  return { outer: numel(xs.slice(0, ax)), axisLen: L, inner: numel(xs.slice(ax + 1)), indices: Int32Array.from(idx, (i) => (i < 0 ? i + L : i)) };
}

// ---------------------------------------------------------------------------------------------
// Reductions and row-wise ops
// ---------------------------------------------------------------------------------------------

/**
 * Axes a Reduce* node reduces over (sorted, normalized), or 'noop' (noop_with_empty_axes).
 * @param c lowering context
 * @param n the Reduce* node
 * @param rank input rank
 */
export function reduceAxes(c: ParamCtx, n: Node, rank: number): number[] | 'noop' {
  const a = opAttrs<{ axes?: number[]; noopWithEmptyAxes: boolean; axesInput: boolean }>(n, c.opset);
  const axes = a.axesInput ? c.constNums(n.inputs[1], `${n.op} axes`) : a.axes;
  return resolveReduceAxes(axes, rank, a.noopWithEmptyAxes) ?? 'noop';
}

/**
 * [outer, n, inner] of a Softmax / LogSoftmax node (opset < 13: coerced to 2-D).
 * @param c lowering context
 * @param n the node
 * @param xs concrete input shape
 */
export function softmaxLayout(c: ParamCtx, n: Node, xs: readonly number[]): [number, number, number] {
  return softmaxDims(xs, opAttrs<{ axis: number; coerce2d: boolean }>(n, c.opset));
}

// ---------------------------------------------------------------------------------------------
// Activations
// ---------------------------------------------------------------------------------------------

/** An elementwise activation kernel op with its two scalar parameters. */
export interface UnarySpec {
  /** Op name; 'GeluTanh' for Gelu with approximate="tanh". */
  op: string;
  alpha: number;
  beta: number;
}

/**
 * Scalar parameters of an elementwise activation node: Clip [min, max] (attributes before opset
 * 11, constant inputs after), LeakyRelu/Elu/Celu/ThresholdedRelu [alpha], HardSigmoid
 * [alpha, beta], Selu [alpha, gamma]; [0, 0] otherwise.
 * @param c lowering context
 * @param n the node
 */
export function unarySpec(c: ParamCtx, n: Node): UnarySpec {
  switch (n.op) {
    case 'Clip': {
      if (c.opset < 11) {
        const a = opAttrs<{ min: number; max: number }>(n, c.opset);
        return { op: 'Clip', alpha: a.min, beta: a.max };
      }
      const lo = c.constNums(n.inputs[1], 'Clip min')?.[0] ?? -Infinity;
      const hi = c.constNums(n.inputs[2], 'Clip max')?.[0] ?? Infinity;
      return { op: 'Clip', alpha: lo, beta: hi };
    }
    case 'LeakyRelu': case 'Elu': case 'Celu': case 'ThresholdedRelu':
      return { op: n.op, alpha: opAttrs<{ alpha: number }>(n, c.opset).alpha, beta: 0 };
    case 'HardSigmoid': {
      const a = opAttrs<{ alpha: number; beta: number }>(n, c.opset);
      return { op: n.op, alpha: a.alpha, beta: a.beta };
    }
    case 'Selu': {
      const a = opAttrs<{ alpha: number; gamma: number }>(n, c.opset);
      return { op: n.op, alpha: a.alpha, beta: a.gamma };
    }
    case 'Gelu': return { op: opAttrs<{ tanh: boolean }>(n, c.opset).tanh ? 'GeluTanh' : 'Gelu', alpha: 0, beta: 0 };
    default: return { op: n.op, alpha: 0, beta: 0 };
  }
}

/** A fused activation with both parameters resolved (compiler/ops/act.ts actParams). */
export interface FusedActSpec {
  kind: ActKind;
  p0: number;
  p1: number;
}

/**
 * Fused activation of an edgec.Fused* node with ONNX defaults filled in, or null for none.
 * @param n the fused node
 */
export function fusedActSpec(n: Node): FusedActSpec | null {
  const a = actOf(n.attrs);
  if (!a) return null;
  const [p0, p1] = actParams(a.kind, a.params);
  return { kind: a.kind, p0, p1 };
}

/**
 * A fused activation split into a clamp (Relu, Clip) and a post activation (the other kinds),
 * the form kernels with a built-in output clamp take.
 * @param n the fused node
 */
export function fusedClamp(n: Node): { lo: number; hi: number; post: FusedActSpec | null } {
  const a = fusedActSpec(n);
  if (!a) return { lo: -Infinity, hi: Infinity, post: null };
  if (a.kind === 'Relu') return { lo: 0, hi: Infinity, post: null };
  if (a.kind === 'Clip') return { lo: a.p0, hi: a.p1, post: null };
  return { lo: -Infinity, hi: Infinity, post: a };
}

// ---------------------------------------------------------------------------------------------
// Normalization
// ---------------------------------------------------------------------------------------------

/**
 * BatchNormalization (inference) folded into a per-channel affine y = x * scale + shift (float64).
 * @param s scale (gamma)
 * @param b bias (beta)
 * @param mean running mean
 * @param variance running variance
 * @param eps epsilon
 */
export function batchNormAffine(s: ArrayLike<number>, b: ArrayLike<number>, mean: ArrayLike<number>, variance: ArrayLike<number>, eps: number): { scale: number[]; shift: number[] } {
  const scale: number[] = [];
  const shift: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const k = s[i]! / Math.sqrt(variance[i]! + eps);
    scale.push(k);
    shift.push(b[i]! - mean[i]! * k);
  }
  return { scale, shift };
}

/**
 * A LayerNormalization scale/bias constant broadcast (right-aligned) to the normalized shape and
 * materialized, so kernels read one value per inner element.
 * @param data the constant's elements
 * @param shape the constant's shape
 * @param inner the normalized shape (input dims from the axis on)
 */
export function expandToInner(data: ArrayLike<number>, shape: readonly number[], inner: readonly number[]): Float32Array {
  const st = broadcastStrides(shape.slice(-inner.length), inner);
  const n = numel(inner);
  const o = new Float32Array(n);
  const cs = stridesOf(inner);
  for (let i = 0; i < n; i++) {
    let k = 0;
    for (let d = 0; d < inner.length; d++) k += Math.floor(i / cs[d]!) % inner[d]! * st[d]!;
    o[i] = data[k]!;
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// Matrix products, sampling, shapes
// ---------------------------------------------------------------------------------------------

/** Gemm / edgec.FusedGemm dimensions and scalars. */
export interface GemmSpec {
  transA: boolean;
  transB: boolean;
  alpha: number;
  beta: number;
  M: number;
  K: number;
  N: number;
}

/**
 * Gemm dimensions from the parsed attributes and the 2-D operand shapes (returned as `as`, `bs`).
 * @param c lowering context
 * @param n the Gemm node
 * @throws unsupported when A or B is not 2-D
 */
export function gemmSpec(c: LayoutCtx, n: Node): GemmSpec & { as: number[]; bs: number[] } {
  const as = c.shape(n.inputs[0]!);
  const bs = c.shape(n.inputs[1]!);
  if (as.length !== 2 || bs.length !== 2) throw c.unsupported('Gemm inputs must be 2-D');
  const a = opAttrs<{ alpha: number; beta: number; transA: boolean; transB: boolean }>(n, c.opset);
  return {
    as, bs, transA: a.transA, transB: a.transB, alpha: a.alpha, beta: a.beta,
    M: a.transA ? as[1]! : as[0]!, K: a.transA ? as[0]! : as[1]!, N: a.transB ? bs[0]! : bs[1]!,
  };
}

/** How a Gemm bias C broadcasts to [M, N]. */
export type GemmBias = 'scalar' | 'full' | 'col' | 'row';

/**
 * How a Gemm bias of shape `cs` broadcasts to [M, N]; throws 'unsupported' when it does not.
 * @param cs bias shape
 * @param M rows of the product
 * @param N columns of the product
 */
export function gemmBias(cs: readonly number[], M: number, N: number): GemmBias {
  const cn = numel(cs);
  if (cn === 1) return 'scalar';
  if (cn === M * N && cs.length === 2 && cs[0] === M) return 'full';
  if (cs[cs.length - 1] === N && cn === N) return 'col';
  if (cs.length === 2 && cs[0] === M && cs[1] === 1) return 'row';
  throw unsupported(`Gemm bias of shape [${cs.join(',')}] does not broadcast to [${M},${N}]`);
}

/** GridSample attributes as the op parses them (compiler/ops/image.ts). */
export interface GridSampleAttrs {
  mode: 'linear' | 'nearest' | 'cubic';
  padding: 'zeros' | 'border' | 'reflection';
  alignCorners: boolean;
}

/**
 * A GridSample node's operands (data x, grid), output y, the concrete shapes of x and y and its
 * attributes.
 * @param c lowering context (concrete shapes, opset)
 * @param n the GridSample node
 */
export function gridSampleNode(c: LayoutCtx, n: Node):
  { x: ValueId; grid: ValueId; y: ValueId; xs: number[]; ys: number[]; a: GridSampleAttrs } {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  return { x, grid: n.inputs[1]!, y, xs: c.shape(x), ys: c.shape(y), a: opAttrs<GridSampleAttrs>(n, c.opset) };
}

/**
 * Dims a Shape node returns for a concrete input shape (opset 15 start/end).
 * @param c lowering context
 * @param n the Shape node
 * @param xs concrete input shape
 */
export function shapeOpDims(c: ParamCtx, n: Node, xs: readonly number[]): number[] {
  const [s, e] = shapeDimsRange(xs.length, opAttrs<{ start: number; end?: number }>(n, c.opset));
  return xs.slice(s, e);
}

// ---------------------------------------------------------------------------------------------
// Windows (Conv, pooling)
// ---------------------------------------------------------------------------------------------

/**
 * Conv / edgec.FusedConv geometry on concrete shapes (padded to 3 spatial dims, compiler/ops/conv.ts
 * geom3) and the group count.
 * @param c lowering context
 * @param n the Conv node
 * @param xs concrete input shape (N, C, spatial...)
 * @param ws concrete weight shape (K, C/group, kernel...)
 */
export function convGeom(c: ParamCtx, n: Node, xs: readonly number[], ws: readonly number[]): { geo: Geom3; group: number } {
  const a = opAttrs<ConvAttrs>(n, c.opset);
  const p = windowParams(a, xs.length - 2, ws.slice(2), n.op);
  return { geo: geom3(xs.slice(2), p, a.autoPad, false, n.op), group: a.group };
}

/** Pooling kind: max, average over the valid taps, average counting the pads. */
export type PoolKind = 'max' | 'avg' | 'avg_pad';

/**
 * MaxPool / AveragePool geometry on a concrete input shape and the pooling kind.
 * @param c lowering context
 * @param n the pooling node
 * @param xs concrete input shape (N, C, spatial...)
 */
export function poolGeom(c: ParamCtx, n: Node, xs: readonly number[]): { geo: Geom3; kind: PoolKind } {
  const a = opAttrs<WindowAttrs & { ceil: boolean; countIncludePad?: boolean }>(n, c.opset);
  const p = windowParams(a, xs.length - 2, undefined, n.op);
  const kind: PoolKind = n.op === 'MaxPool' ? 'max' : a.countIncludePad ? 'avg_pad' : 'avg';
  return { geo: geom3(xs.slice(2), p, a.autoPad, a.ceil, n.op), kind };
}

/**
 * Window element count of every output position of an average pool (2-D view), counted exactly as
 * the reference counts it: inside the input, plus the explicit padding when `countIncludePad`
 * (never the ceil-mode overhang). Entries are count - 1 (the int8 kernels index their multiplier
 * tables with it); `undefined` when some window is empty.
 */
export function avgPoolCountsMinus1(g: Geom3, countIncludePad: boolean): Int32Array | undefined {
  const [IH, IW, OH, OW] = [g.I[1], g.I[2], g.O[1], g.O[2]];
  const table = new Int32Array(OH * OW);
  for (let oy = 0; oy < OH; oy++) {
    for (let ox = 0; ox < OW; ox++) {
      let cnt = 0;
      let padCnt = 0;
      for (let ky = 0; ky < g.K[1]; ky++) {
        for (let kx = 0; kx < g.K[2]; kx++) {
          const iy = oy * g.S[1] - g.P[1] + ky;
          const ix = ox * g.S[2] - g.P[2] + kx;
          if (iy < 0 || ix < 0 || iy >= IH || ix >= IW) {
            if (iy < IH + g.E[1] && ix < IW + g.E[2] && iy >= -g.P[1] && ix >= -g.P[2]) padCnt++;
            continue;
          }
          cnt++;
        }
      }
      const count = countIncludePad ? cnt + padCnt : cnt;
      if (count === 0) return undefined;
      table[oy * OW + ox] = count - 1;
    }
  }
  return table;
}


/** What the layout helpers below read from a lowering context (both targets' LowerCtx). */
export interface LayoutCtx extends ParamCtx {
  shape(id: ValueId): number[];
  unsupported(msg: string): Error;
}

/** MatMul dims with NumPy semantics: 1-D operands promoted to [1,K] / [K,1], batch dims broadcast. */
export interface MatMulDims {
  /** Operands as (at least) 2-D shapes. */
  a2: number[];
  b2: number[];
  M: number;
  K: number;
  N: number;
  /** Batch dims of each operand and their broadcast. */
  batchA: number[];
  batchB: number[];
  batch: number[];
}

/**
 * MatMul(A, B) dims on concrete shapes.
 * @throws unsupported when the inner dims differ or the batch dims do not broadcast
 */
export function matmulDims(c: LayoutCtx, n: Node): MatMulDims {
  const as = c.shape(n.inputs[0]!);
  const bs = c.shape(n.inputs[1]!);
  const a2 = as.length === 1 ? [1, as[0]!] : as;
  const b2 = bs.length === 1 ? [bs[0]!, 1] : bs;
  const M = a2[a2.length - 2]!, K = a2[a2.length - 1]!, N = b2[b2.length - 1]!;
  if (b2[b2.length - 2] !== K) throw c.unsupported(`MatMul inner dims differ: [${as.join(',')}] x [${bs.join(',')}]`);
  const batchA = a2.slice(0, -2);
  const batchB = b2.slice(0, -2);
  const r = Math.max(batchA.length, batchB.length);
  const batch: number[] = [];
  for (let i = 0; i < r; i++) {
    const da = batchA[i - (r - batchA.length)] ?? 1;
    const db = batchB[i - (r - batchB.length)] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw c.unsupported(`MatMul batch dims do not broadcast: [${as.join(',')}] x [${bs.join(',')}]`);
    batch.push(Math.max(da, db));
  }
  return { a2, b2, M, K, N, batchA, batchB, batch };
}

/** LayerNormalization layout: rows before `axis`, `inner` normalized elements per row. */
export interface LayerNormLayout {
  xs: number[];
  axis: number;
  rows: number;
  inner: number;
  epsilon: number;
  /** Mean and inverse-std outputs when something reads them. */
  mean?: ValueId;
  invStd?: ValueId;
}

/** LayerNormalization(X, scale, bias) layout on a concrete shape. */
export function layerNormLayout(c: LayoutCtx & { g: { useCount(id: ValueId): number } }, n: Node): LayerNormLayout {
  const xs = c.shape(n.inputs[0]!);
  const la = opAttrs<{ axis: number; epsilon: number }>(n, c.opset);
  const axis = normAxis(la.axis, xs.length);
  const used = (o: ValueId | undefined) => (o !== undefined && c.g.useCount(o) > 0 ? o : undefined);
  const mean = used(n.outputs[1]);
  const invStd = used(n.outputs[2]);
  return {
    xs, axis, rows: numel(xs.slice(0, axis)), inner: numel(xs.slice(axis)), epsilon: la.epsilon,
    ...(mean !== undefined ? { mean } : {}), ...(invStd !== undefined ? { invStd } : {}),
  };
}

/**
 * Conv geometry for the 1-D/2-D convolution kernels of a target (3-D convolutions are refused).
 * @param target target name for the error
 */
export function conv2dGeom(c: LayoutCtx, n: Node, target: string): { xs: number[]; ws: number[]; geo: Geom3; group: number } {
  const xs = c.shape(n.inputs[0]!);
  const ws = c.shape(n.inputs[1]!);
  const nd = xs.length - 2;
  if (nd < 1 || nd > 2) throw c.unsupported(`${nd}-D convolution is not supported on ${target} (1-D and 2-D only)`);
  return { xs, ws, ...convGeom(c, n, xs, ws) };
}

/** A DeformConv on concrete shapes, checked (deformConvSpec). */
export interface DeformConvSpec {
  x: ValueId;
  w: ValueId;
  off: ValueId;
  y: ValueId;
  /** Bias and mask inputs when present and non-empty. */
  b: ValueId | undefined;
  mask: ValueId | undefined;
  N: number;
  IC: number;
  OC: number;
  group: number;
  offsetGroup: number;
  /** Spatial dims (1..3) of the input, the output and the kernel. */
  dims: number[];
  out: number[];
  k: number[];
  strides: number[];
  dilations: number[];
  /** Begin and end pads per spatial dim. */
  pads: number[];
}

/**
 * Reads a DeformConv node and checks its operands against each other ('unsupported' naming
 * `target` otherwise): 1..3 spatial dims, channels divisible by group / offset_group, offset and
 * mask shaped for the output, a bias per output channel.
 * @param c lowering context (concrete shapes, opset)
 * @param n the DeformConv node
 * @param target target name for error messages
 */
export function deformConvSpec(c: LayoutCtx, n: Node, target: string): DeformConvSpec {
  const [x, w, off, b, mask] = n.inputs;
  const y = n.outputs[0]!;
  const xs = c.shape(x!);
  const ws = c.shape(w!);
  const ys = c.shape(y);
  const nd = xs.length - 2;
  if (nd < 1 || nd > 3) throw c.unsupported(`DeformConv on ${nd} spatial dims is not supported on ${target} (1..3)`);
  const a = opAttrs<{ dilations?: number[]; group: number; offsetGroup: number; pads?: number[]; strides?: number[] }>(n, c.opset);
  const [N, IC, OC] = [xs[0]!, xs[1]!, ws[0]!];
  if (IC !== ws[1]! * a.group || OC % a.group !== 0 || IC % a.offsetGroup !== 0) throw c.unsupported('DeformConv channels do not match group / offset_group');
  const k = ws.slice(2);
  const K = numel(k);
  const out = ys.slice(2);
  if (c.shape(off!).join(',') !== [N, a.offsetGroup * K * nd, ...out].join(',')) throw c.unsupported('DeformConv offset shape does not match the output');
  const present = (id: ValueId | null | undefined): ValueId | undefined => (id !== null && id !== undefined && numel(c.shape(id)) > 0 ? id : undefined);
  const [pb, pm] = [present(b), present(mask)];
  if (pm !== undefined && c.shape(pm).join(',') !== [N, a.offsetGroup * K, ...out].join(',')) throw c.unsupported('DeformConv mask shape does not match the output');
  if (pb !== undefined && numel(c.shape(pb)) !== OC) throw c.unsupported('DeformConv bias size differs from the output channels');
  return {
    x: x!, w: w!, off: off!, y, b: pb, mask: pm, N, IC, OC, group: a.group, offsetGroup: a.offsetGroup, dims: xs.slice(2), out, k,
    strides: a.strides ?? new Array<number>(nd).fill(1), dilations: a.dilations ?? new Array<number>(nd).fill(1), pads: a.pads ?? new Array<number>(2 * nd).fill(0),
  };
}
