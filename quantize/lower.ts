/**
 * Lowering: QDQ graph (and pre-quantized ONNX ops) -> internal integer ops (compiler/ops/qint.ts).
 *
 * A quantized op reads DequantizeLinear outputs and feeds (through an optional Relu/Clip) one
 * QuantizeLinear. Such a group becomes one integer node that reads the int8 inputs of the DQ
 * nodes and writes the int8 output of the Q node:
 *   Q(act(Conv(DQ(x), DQ(w), DQ(b))))  -> edgec.QConv(x, w, b32)   (clamp = Q(act range))
 *   Q(act(Gemm/MatMul(DQ(x), DQ(w))))   -> edgec.QGemm
 *   Q(act(Add|Sub(DQ(a), DQ(b))))       -> edgec.QAdd (Sub: negative b_multiplier)
 *   Q(Mul(DQ(a), DQ(b)))                -> edgec.QMul
 *   Q(AveragePool(DQ(x)))               -> edgec.QAvgPool
 *   Q(GlobalAveragePool|ReduceMean(DQ(x))) -> edgec.QReduceMean
 *   Q(Relu|Clip(DQ(x)))                 -> edgec.Requantize with clamp
 *   Q(Reshape|Flatten|Transpose|Squeeze|Unsqueeze|MaxPool|Identity|Slice(DQ(x))) -> the same op on int8
 *       (plus edgec.Requantize when the Q and DQ parameters differ)
 *   Q(Concat|Max|Min(DQ(x_i)))          -> Concat|Max|Min(Requantize?(x_i))
 *   QLinearConv / ConvInteger           -> edgec.QConv (rq_mode 'float' / y_dtype 'i32')
 *   QLinearMatMul / MatMulInteger (2-D B) -> edgec.QGemm (rq_mode 'float' / y_dtype 'i32')
 * Clamping commutes with quantization (Q is monotonic), so Q(Relu(y)) = max(Q(y), zp) exactly.
 * QuantizeLinear/DequantizeLinear left at float-island boundaries and graph inputs/outputs stay.
 */
import { AttrValue, Graph, Node, ValueId } from '../compiler/ir/graph.js';
import { Tensor } from '../compiler/ir/tensor.js';
import { roundHalfEven } from '../compiler/ir/dtype.js';
import { inferShapes } from '../compiler/interp/interp.js';
import { opsetOf } from '../compiler/ops/registry.js';
import { quantizeMultiplier, quantizeMultipliers, qRange } from '../compiler/ops/qint.js';
import { requantMultiplier } from '../compiler/ops/conv.js';
import { reduceMeanAxes } from './qdq.js';

/** Parameters of a DequantizeLinear node with constant scale / zero point. */
interface DqInfo {
  node: Node;
  q: ValueId;
  scales: number[];
  zps: number[];
  axis: number | undefined;
  dtype: 'i8' | 'u8' | 'i32';
}

/** Per-tensor parameters of a QuantizeLinear node. */
interface QInfo {
  node: Node;
  scale: number;
  zp: number;
  dtype: 'i8' | 'u8';
}

interface Ctx {
  g: Graph;
  uses: Map<ValueId, Node[]>;
  dead: Set<Node>;
}

function constNums(g: Graph, id: ValueId | null | undefined): number[] | undefined {
  const t = g.constOf(id);
  return t ? t.toNumbers() : undefined;
}

function dqOf(c: Ctx, v: ValueId | null | undefined): DqInfo | undefined {
  if (v == null) return undefined;
  const n = c.g.producerOf(v);
  if (!n || n.op !== 'DequantizeLinear' || n.domain !== '' || c.dead.has(n)) return undefined;
  if (n.attrs['block_size'] !== undefined && n.attrs['block_size'] !== 0) return undefined;
  const scales = constNums(c.g, n.inputs[1]);
  if (!scales) return undefined;
  const q = n.inputs[0]!;
  const dt = c.g.typeOf(q).dtype;
  if (dt !== 'i8' && dt !== 'u8' && dt !== 'i32') return undefined;
  const zps = n.inputs[2] != null ? constNums(c.g, n.inputs[2]) : [0];
  if (!zps) return undefined;
  const rank = c.g.typeOf(q).shape.length;
  let axis: number | undefined;
  if (scales.length > 1 || c.g.typeOf(n.inputs[1]!).shape.length === 1) {
    const a = typeof n.attrs['axis'] === 'number' ? (n.attrs['axis'] as number) : 1;
    axis = a < 0 ? a + rank : a;
  }
  return { node: n, q, scales, zps, axis, dtype: dt };
}

function perTensor(d: DqInfo | undefined): d is DqInfo {
  return d !== undefined && d.scales.length === 1 && d.zps.length === 1 && d.dtype !== 'i32';
}

function qOfNode(c: Ctx, n: Node | undefined): QInfo | undefined {
  if (!n || n.op !== 'QuantizeLinear' || n.domain !== '' || c.dead.has(n)) return undefined;
  if (n.attrs['block_size'] !== undefined && n.attrs['block_size'] !== 0) return undefined;
  const s = constNums(c.g, n.inputs[1]);
  const z = n.inputs[2] != null ? constNums(c.g, n.inputs[2]) : [0];
  if (!s || !z || s.length !== 1 || z.length !== 1) return undefined;
  const dt = n.inputs[2] != null ? c.g.typeOf(n.inputs[2]).dtype : 'u8';
  if (dt !== 'i8' && dt !== 'u8') return undefined;
  return { node: n, scale: s[0]!, zp: z[0]!, dtype: dt };
}

function sole(c: Ctx, v: ValueId): Node | undefined {
  const u = c.uses.get(v) ?? [];
  if (u.length !== 1 || c.g.outputs.includes(v)) return undefined;
  return u[0];
}

/** Output chain of an op: optional fused Relu/Clip, then the Q node; with the clamp range. */
function outChain(c: Ctx, n: Node, allowAct: boolean): { q: QInfo; act?: Node; lo: number; hi: number } | undefined {
  const u = sole(c, n.outputs[0]!);
  if (!u) return undefined;
  let act: Node | undefined;
  let qn = u;
  if (allowAct && (u.op === 'Relu' || u.op === 'Clip') && u.domain === '') {
    act = u;
    const u2 = sole(c, u.outputs[0]!);
    if (!u2) return undefined;
    qn = u2;
  }
  const q = qOfNode(c, qn);
  if (!q) return undefined;
  let [lo, hi] = qRange(q.dtype);
  if (act) {
    const r = actRange(c.g, act);
    if (!r) return undefined;
    lo = Math.max(lo, quantize(r[0], q));
    hi = Math.min(hi, quantize(r[1], q));
  }
  return act ? { q, act, lo, hi } : { q, lo, hi };
}

/** Real range of a Relu/Clip node (undefined when Clip bounds are not constant). */
function actRange(g: Graph, n: Node): [number, number] | undefined {
  if (n.op === 'Relu') return [0, Infinity];
  if (opsetOf(n, g) < 11) {
    const lo = n.attrs['min'];
    const hi = n.attrs['max'];
    return [typeof lo === 'number' ? lo : -Infinity, typeof hi === 'number' ? hi : Infinity];
  }
  const lo = n.inputs[1] == null ? [-Infinity] : constNums(g, n.inputs[1]);
  const hi = n.inputs[2] == null ? [Infinity] : constNums(g, n.inputs[2]);
  if (!lo || !hi) return undefined;
  return [lo[0]!, hi[0]!];
}

/** QuantizeLinear of one real number (round half to even, saturate), as the ONNX op computes it. */
function quantize(x: number, q: { scale: number; zp: number; dtype: 'i8' | 'u8' }): number {
  const [lo, hi] = qRange(q.dtype);
  const v = roundHalfEven(Math.fround(Math.fround(x) / q.scale)) + q.zp;
  return v < lo ? lo : v > hi ? hi : v;
}

/**
 * The larger multiplier of a QAdd as a 20-bit fixed-point pair (M in [2^19, 2^20), relative
 * precision 2^-20, far below the int8 output step) when its shift allows, else the normalized
 * 31-bit pair: with |M| < 2^20 and n <= 30 the sum Ma (a-za) + Mb (b-zb) + 2^(n-1) fits in 30 bits,
 * so kernels add in plain int32 (same formula, exact either way).
 */
function addMultipliers(m: number): { multiplier: number; shift: number } {
  const f = quantizeMultiplier(m);
  if (f.multiplier === 0 || f.shift < 12 || f.shift - 11 > 30) return f;
  let n = f.shift - 11;
  let M = roundHalfEven(m * 2 ** n);
  if (M >= 2 ** 20) {
    n -= 1;
    M = roundHalfEven(m * 2 ** n);
  }
  return M > 0 && M < 2 ** 20 ? { multiplier: M, shift: n } : f;
}

function fixedAttrs(ms: readonly number[]): { multiplier: number[]; shift: number[] } {
  const f = ms.map((m) => quantizeMultiplier(m));
  return { multiplier: f.map((x) => x.multiplier), shift: f.map((x) => x.shift) };
}

function outAttrs(ch: { q: QInfo; lo: number; hi: number }): Record<string, AttrValue> {
  return { y_zero_point: ch.q.zp, y_dtype: ch.q.dtype, clamp_lo: ch.lo, clamp_hi: ch.hi };
}

/** Replaces the group [first..., q] by one node writing q's output. */
function emit(c: Ctx, first: Node, group: Node[], spec: { op: string; inputs: (ValueId | null)[]; attrs: Record<string, AttrValue>; out: ValueId }): Node {
  const n = c.g.addNode({ op: spec.op, domain: spec.op.startsWith('Q') || spec.op === 'Requantize' ? 'edgec' : '', inputs: spec.inputs, outputs: [spec.out],
    attrs: spec.attrs, name: first.name }, first.id);
  for (const d of group) {
    c.g.removeNode(d.id);
    c.dead.add(d);
  }
  return n;
}

/** A Requantize node (from (scale, zp) to q's params) before `before`; returns its output. */
function requant(c: Ctx, x: ValueId, from: { scale: number; zp: number }, to: QInfo, before: Node, out?: ValueId): ValueId {
  const v = out ?? c.g.addValue(`${c.g.value(x).name}_requantized`, { dtype: to.dtype, shape: c.g.typeOf(x).shape }).id;
  c.g.addNode({ op: 'Requantize', domain: 'edgec', inputs: [x], outputs: [v], name: `${before.name}.requantize`,
    attrs: { x_zero_point: from.zp, ...fixedAttrs([from.scale / to.scale]), y_zero_point: to.zp, y_dtype: to.dtype } }, before.id);
  return v;
}

/** Integer bias for accumulator scales sx * sw[c] from a dequantized bias. */
function intBias(c: Ctx, b: DqInfo | undefined, accScales: number[], bShapeLen: number): Tensor | undefined | null {
  if (!b) return undefined;
  const t = c.g.constOf(b.q);
  if (!t) return null;
  const N = accScales.length;
  if (t.size !== N) return null;
  const out = Tensor.zeros('i32', [N]);
  const od = out.data as Int32Array;
  for (let j = 0; j < N; j++) {
    const sb = b.scales[b.scales.length === 1 ? 0 : j]!;
    const zb = b.zps[b.zps.length === 1 ? 0 : j]!;
    const qb = t.get(j);
    const exact = b.dtype === 'i32' && zb === 0 && sb === Math.fround(accScales[j]!);
    const v = exact ? qb : roundHalfEven(((qb - zb) * sb) / accScales[j]!);
    od[j] = Math.min(2147483647, Math.max(-2147483648, v));
  }
  void bShapeLen;
  return out;
}

function convLike(c: Ctx, n: Node): boolean {
  const x = dqOf(c, n.inputs[0]);
  const w = dqOf(c, n.inputs[1]);
  if (!perTensor(x) || !w || w.dtype === 'i32' || !c.g.consts.has(w.q)) return false;
  const wt = c.g.constOf(w.q)!;
  let N: number;
  let transB = 0;
  if (n.op === 'Conv') {
    if (wt.shape.length < 3 || (w.axis !== undefined && w.scales.length > 1 && w.axis !== 0)) return false;
    N = wt.shape[0]!;
  } else if (n.op === 'Gemm') {
    if ((n.attrs['transA'] ?? 0) !== 0 || (n.attrs['alpha'] ?? 1) !== 1 || (n.attrs['beta'] ?? 1) !== 1 || wt.shape.length !== 2) return false;
    transB = n.attrs['transB'] === 1 ? 1 : 0;
    const axis = transB ? 0 : 1;
    if (w.axis !== undefined && w.scales.length > 1 && w.axis !== axis) return false;
    N = wt.shape[axis]!;
  } else {
    if (wt.shape.length !== 2 || (w.axis !== undefined && w.scales.length > 1 && w.axis !== 1)) return false;
    N = wt.shape[1]!;
  }
  const ch = outChain(c, n, true);
  if (!ch) return false;
  const sx = x.scales[0]!;
  const ws = Array.from({ length: N }, (_, j) => w.scales[w.scales.length === 1 ? 0 : j]!);
  const accScales = ws.map((s) => sx * s);
  const bDq = n.inputs[2] != null ? dqOf(c, n.inputs[2]) : undefined;
  if (n.inputs[2] != null && !bDq) return false;
  const bias = intBias(c, bDq, accScales, 1);
  if (bias === null) return false;
  if (!accFits(c, x, wt, w, N, n.op === 'Conv' ? 0 : transB ? 0 : 1, bias)) return false;
  const inputs: (ValueId | null)[] = [x.q, w.q];
  if (bias) inputs.push(c.g.addConst(`${n.name}.bias_i32`, bias).id);
  const wzp = w.zps.length === 1 ? [w.zps[0]!] : w.zps;
  const attrs: Record<string, AttrValue> = {
    x_zero_point: x.zps[0]!, w_zero_point: wzp, ...quantizeMultipliers(accScales.map((s) => s / ch.q.scale)), ...outAttrs(ch),
  };
  if (n.op === 'Conv') {
    for (const k of ['auto_pad', 'pads', 'strides', 'dilations', 'group', 'kernel_shape']) if (n.attrs[k] !== undefined) attrs[k] = n.attrs[k]!;
  } else attrs['trans_b'] = transB;
  const group = [n, ...(ch.act ? [ch.act] : []), ch.q.node];
  emit(c, n, group, { op: n.op === 'Conv' ? 'QConv' : 'QGemm', inputs, attrs, out: ch.q.node.outputs[0]! });
  return true;
}

/**
 * True when no int32 accumulator of this layer can overflow: for every output channel,
 * |bias| + max|x - zx| * sum_k |w_k - zw| < 2^31 (exact bound from the constant weights).
 */
function accFits(c: Ctx, x: DqInfo, wt: Tensor, w: DqInfo, N: number, axis: number, bias: Tensor | undefined): boolean {
  const [lo, hi] = qRange(c.g.typeOf(x.q).dtype === 'u8' ? 'u8' : 'i8');
  const zx = x.zps[0]!;
  const maxX = Math.max(Math.abs(lo - zx), Math.abs(hi - zx));
  const sums = new Float64Array(N);
  const inner = wt.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  for (let i = 0; i < wt.size; i++) {
    const ch = Math.floor(i / inner) % N;
    sums[ch]! += Math.abs(wt.get(i) - w.zps[w.zps.length === 1 ? 0 : ch]!);
  }
  for (let j = 0; j < N; j++) {
    if (maxX * sums[j]! + Math.abs(bias ? bias.get(j) : 0) > 2147483647) return false;
  }
  return true;
}

function addMul(c: Ctx, n: Node): boolean {
  const a = dqOf(c, n.inputs[0]);
  const b = dqOf(c, n.inputs[1]);
  if (!perTensor(a) || !perTensor(b)) return false;
  const ch = outChain(c, n, n.op !== 'Mul');
  if (!ch) return false;
  const sy = ch.q.scale;
  let attrs: Record<string, AttrValue>;
  if (n.op !== 'Mul') {
    // Add: y = Ma (a-za) + Mb (b-zb); Sub: the same with Mb negated
    const ra = a.scales[0]! / sy;
    const rb = b.scales[0]! / sy;
    const f = addMultipliers(Math.max(ra, rb));
    const other = roundHalfEven(Math.min(ra, rb) * 2 ** f.shift);
    const [ma, mb] = ra >= rb ? [f.multiplier, other] : [other, f.multiplier];
    if (mb >= 2 ** 31 || ma >= 2 ** 31) return false;
    attrs = { a_multiplier: ma, b_multiplier: n.op === 'Sub' ? -mb : mb, shift: f.shift };
  } else {
    const f = quantizeMultiplier((a.scales[0]! * b.scales[0]!) / sy);
    attrs = { multiplier: f.multiplier, shift: f.shift };
  }
  Object.assign(attrs, { a_zero_point: a.zps[0]!, b_zero_point: b.zps[0]!, ...outAttrs(ch) });
  emit(c, n, [n, ...(ch.act ? [ch.act] : []), ch.q.node], { op: n.op === 'Mul' ? 'QMul' : 'QAdd', inputs: [a.q, b.q], attrs, out: ch.q.node.outputs[0]! });
  return true;
}

function unary(c: Ctx, n: Node): boolean {
  const x = dqOf(c, n.inputs[0]);
  if (!perTensor(x)) return false;
  const ch = outChain(c, n, false);
  if (!ch) return false;
  const sx = x.scales[0]!;
  const zx = x.zps[0]!;
  const out = ch.q.node.outputs[0]!;
  const group = [n, ch.q.node];
  const xShape = c.g.typeOf(n.inputs[0]!).shape;
  switch (n.op) {
    case 'Relu': case 'Clip': {
      const r = actRange(c.g, n);
      if (!r) return false;
      const lo = Math.max(ch.lo, quantize(r[0], ch.q));
      const hi = Math.min(ch.hi, quantize(r[1], ch.q));
      emit(c, n, group, { op: 'Requantize', inputs: [x.q], out,
        attrs: { x_zero_point: zx, ...fixedAttrs([sx / ch.q.scale]), y_zero_point: ch.q.zp, y_dtype: ch.q.dtype, clamp_lo: lo, clamp_hi: hi } });
      return true;
    }
    case 'AveragePool': {
      const k = n.attrs['kernel_shape'];
      if (!Array.isArray(k)) return false;
      const vol = (k as number[]).reduce((p, v) => p * v, 1);
      const ms = Array.from({ length: vol }, (_, i) => sx / (ch.q.scale * (i + 1)));
      const f = fixedAttrs(ms);
      const attrs: Record<string, AttrValue> = { x_zero_point: zx, multipliers: f.multiplier, shifts: f.shift, ...outAttrs(ch) };
      for (const key of ['auto_pad', 'pads', 'strides', 'kernel_shape', 'ceil_mode', 'count_include_pad']) if (n.attrs[key] !== undefined) attrs[key] = n.attrs[key]!;
      emit(c, n, group, { op: 'QAvgPool', inputs: [x.q], out, attrs });
      return true;
    }
    case 'GlobalAveragePool': case 'ReduceMean': {
      const axes = n.op === 'ReduceMean' ? reduceMeanAxes(c.g, n) : xShape.slice(2).map((_, i) => i + 2);
      if (!axes) return false;
      let count = 1;
      for (const a of axes) {
        const d = xShape[a];
        if (typeof d !== 'number') return false;
        count *= d;
      }
      const keepdims = n.op === 'ReduceMean' ? (typeof n.attrs['keepdims'] === 'number' ? (n.attrs['keepdims'] as number) : 1) : 1;
      emit(c, n, group, { op: 'QReduceMean', inputs: [x.q], out,
        attrs: { axes, keepdims, x_zero_point: zx, ...fixedAttrs([sx / (ch.q.scale * count)]), ...outAttrs(ch) } });
      return true;
    }
    default: {
      // scale-preserving: same op on int8 data
      if (n.op === 'MaxPool' && n.outputs.length !== 1) return false;
      const same = sx === ch.q.scale && zx === ch.q.zp && x.dtype === ch.q.dtype;
      const mid = same ? out : c.g.addValue(`${c.g.value(n.outputs[0]!).name}_int`, { dtype: x.dtype, shape: c.g.typeOf(n.outputs[0]!).shape }).id;
      const m = emit(c, n, group, { op: n.op, inputs: [x.q, ...n.inputs.slice(1)], attrs: { ...n.attrs }, out: mid });
      if (!same) {
        const after = c.g.order[c.g.order.indexOf(m.id) + 1];
        const before = after !== undefined ? c.g.node(after) : m;
        requant(c, mid, { scale: sx, zp: zx }, ch.q, before, out);
      }
      return true;
    }
  }
}

/** Concat / Max / Min: inputs requantized to the output's parameters, then the op on int8 (exact: monotonic). */
function sameParamsOp(c: Ctx, n: Node): boolean {
  const ins = n.inputs.map((v) => dqOf(c, v));
  if (!ins.every(perTensor)) return false;
  const ch = outChain(c, n, false);
  if (!ch) return false;
  const xs = (ins as DqInfo[]).map((d) => (d.scales[0] === ch.q.scale && d.zps[0] === ch.q.zp && d.dtype === ch.q.dtype ? d.q
    : requant(c, d.q, { scale: d.scales[0]!, zp: d.zps[0]! }, ch.q, n)));
  emit(c, n, [n, ch.q.node], { op: n.op, inputs: xs, attrs: { ...n.attrs }, out: ch.q.node.outputs[0]! });
  return true;
}

function scalarConst(g: Graph, id: ValueId | null | undefined): number | undefined {
  const t = g.constOf(id);
  return t && t.size === 1 ? t.get(0) : undefined;
}

/** QLinearConv / QLinearMatMul / ConvInteger / MatMulInteger -> QConv / QGemm. */
function onnxInteger(c: Ctx, n: Node): boolean {
  const g = c.g;
  const I = n.inputs;
  const wzOf = (id: ValueId | null | undefined) => (id == null ? [0] : constNums(g, id));
  if (n.op === 'QLinearConv' || n.op === 'QLinearMatMul') {
    const [xi, xsI, xzI, wi, wsI, wzI, ysI, yzI] = [I[0], I[1], I[2], I[3], I[4], I[5], I[6], I[7]];
    const xs = scalarConst(g, xsI);
    const ys = scalarConst(g, ysI);
    const ws = constNums(g, wsI);
    const xz = xzI == null ? 0 : scalarConst(g, xzI);
    const yz = yzI == null ? 0 : scalarConst(g, yzI);
    const wz = wzOf(wzI);
    if (xs === undefined || ys === undefined || !ws || xz === undefined || yz === undefined || !wz || xi == null || wi == null) return false;
    const yDt = yzI != null ? g.typeOf(yzI).dtype : g.typeOf(xi).dtype;
    const wShape = g.typeOf(wi).shape;
    if (n.op === 'QLinearMatMul' && (wShape.length !== 2 || g.typeOf(xi).shape.length < 2)) return false;
    const N = n.op === 'QLinearConv' ? wShape[0] : wShape[1];
    if (typeof N !== 'number') return false;
    if (n.op === 'QLinearMatMul' && (ws.length !== 1 && ws.length !== N)) return false;
    const sdt = g.typeOf(xsI!).dtype;
    const scale = Array.from({ length: ws.length }, (_, j) => requantMultiplier(sdt, xs, ws[j]!, ys));
    const attrs: Record<string, AttrValue> = { x_zero_point: xz, w_zero_point: wz, rq_mode: 'float', scale, y_zero_point: yz, y_dtype: yDt };
    const inputs: (ValueId | null)[] = [xi, wi];
    if (n.op === 'QLinearConv') {
      for (const k of ['auto_pad', 'pads', 'strides', 'dilations', 'group', 'kernel_shape']) if (n.attrs[k] !== undefined) attrs[k] = n.attrs[k]!;
      if (I[8] != null) inputs.push(I[8]);
    } else attrs['trans_b'] = 0;
    emit(c, n, [n], { op: n.op === 'QLinearConv' ? 'QConv' : 'QGemm', inputs, attrs, out: n.outputs[0]! });
    return true;
  }
  // ConvInteger / MatMulInteger: raw int32 accumulators
  const [xi, wi, xzI, wzI] = [I[0], I[1], I[2], I[3]];
  const xz = xzI == null ? 0 : scalarConst(g, xzI);
  const wz = wzOf(wzI);
  if (xi == null || wi == null || xz === undefined || !wz) return false;
  const attrs: Record<string, AttrValue> = { x_zero_point: xz, w_zero_point: wz, y_dtype: 'i32' };
  if (n.op === 'ConvInteger') {
    for (const k of ['auto_pad', 'pads', 'strides', 'dilations', 'group', 'kernel_shape']) if (n.attrs[k] !== undefined) attrs[k] = n.attrs[k]!;
  } else {
    if (g.typeOf(wi).shape.length !== 2 || g.typeOf(xi).shape.length < 2) return false;
    attrs['trans_b'] = 0;
  }
  emit(c, n, [n], { op: n.op === 'ConvInteger' ? 'QConv' : 'QGemm', inputs: [xi, wi], attrs, out: n.outputs[0]! });
  return true;
}

const HANDLERS: Readonly<Record<string, (c: Ctx, n: Node) => boolean>> = {
  Conv: convLike, Gemm: convLike, MatMul: convLike,
  Add: addMul, Sub: addMul, Mul: addMul,
  Relu: unary, Clip: unary, AveragePool: unary, GlobalAveragePool: unary, ReduceMean: unary,
  Reshape: unary, Flatten: unary, Transpose: unary, Squeeze: unary, Unsqueeze: unary, MaxPool: unary, Identity: unary,
  Concat: sameParamsOp, Max: sameParamsOp, Min: sameParamsOp, Slice: unary,
  QLinearConv: onnxInteger, QLinearMatMul: onnxInteger, ConvInteger: onnxInteger, MatMulInteger: onnxInteger,
};

/** Removes nodes none of whose outputs are used (repeatedly), then unused values. */
export function removeDeadNodes(g: Graph): void {
  for (;;) {
    const used = new Set<ValueId>(g.outputs);
    for (const n of g.nodes.values()) for (const i of n.inputs) if (i !== null) used.add(i);
    const dead = g.orderedNodes().filter((n) => n.outputs.every((o) => !used.has(o)));
    if (dead.length === 0) break;
    for (const n of dead) g.removeNode(n.id);
  }
  g.removeUnusedValues();
}

/** Result of lowering: the graph and the node names that lowered to integer ops. */
export interface LowerResult {
  graph: Graph;
  lowered: string[];
}

/**
 * Lowers a QDQ graph (or a pre-quantized ONNX graph) to integer ops. The input is not modified.
 * @param src QDQ graph
 */
export function lowerQdq(src: Graph): LowerResult {
  const g = src.clone();
  g.toposort();
  inferShapes(g);
  g.opsets['edgec'] ??= 1;
  const c: Ctx = { g, uses: g.uses(), dead: new Set() };
  const lowered: string[] = [];
  for (const n of g.orderedNodes()) {
    if (c.dead.has(n) || n.domain !== '') continue;
    const h = HANDLERS[n.op];
    if (h && h(c, n)) {
      lowered.push(n.name);
      c.uses = g.uses();
    }
  }
  removeDeadNodes(g);
  g.toposort();
  inferShapes(g);
  return { graph: g, lowered };
}
