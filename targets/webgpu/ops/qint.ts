/**
 * WebGPU lowerings of the integer family (compiler/ops/qint.ts) and of integer graphs: the integer ops of compiler/ops/qint.ts (QConv, QGemm, QAdd,
 * QMul, Requantize, QReduceMean, QAvgPool, QSoftmax, TflQuantize; rq_mode 'fixed', 'float' and 'tflite'), QuantizeLinear / DequantizeLinear at the float
 * boundaries, Cast from integers, and data movement on int8/uint8/int32 tensors, to the kernels
 * of kernels/qint.ts, kernels/qint-tflite.ts and kernels/qmove.ts. Results match the reference interpreter bit for bit.
 *
 * Storage (wgsl/qshader.ts): 8-bit values packed 4 per u32 word (byte order = element order),
 * or "wide" (one word per element) when a convolution / GEMM writes rows that do not fill whole
 * words; int32 one word per element; valueBytes() (ctx.ts) sizes them in the memory plan. Compile-time packing:
 * weights are centered (w' = w - zw[m]) and stored as int8 when every w' fits, else as int16
 * pairs; each output channel gets [bias, multiplier, shift] (fixed requantization) or
 * [bias, mantissa, exponent] of its float32 scale (float requantization). Reshape-like ops on
 * integer values are aliases, as for f32.
 *
 * QuantizeLinear / DequantizeLinear with runtime, blocked or 16-bit parameters,
 * DynamicQuantizeLinear and ConvInteger / QLinearConv with runtime operands run on the exact
 * kernels of kernels/index-ops.ts (qdq_rt, dql_params_b, qconv_rt).
 *
 * The driver (lower.ts) calls lowerInt8Node() first for every node: it claims the integer ops and
 * every node with an integer runtime input or output, so the f32 lowerings never see packed data.
 */
import { Graph, Node, ValueId } from '../../../compiler/ir/graph.js';
import { numel } from '../../../compiler/ir/tensor.js';
import { geom3, readWindowAttrs, windowParams } from '../../../compiler/ops/conv.js';
import { AttrReader, normAxis } from '../../../compiler/ops/registry.js';
import type { OutStage, QAddAttrs, QAvgPoolAttrs, QLutAttrs, QMulAttrs, QReduceMeanAttrs, QSoftmaxAttrs, RequantizeAttrs, TflQuantizeAttrs } from '../../../compiler/ops/qint.js';
import {
  avgPoolCountsMinus1,
  StridedView, broadcastStrides, depthSpaceView, gatherLayout, opAttrs, padSpec, partOffsets, sliceView, tileView, transposeView,
} from '../../common/params.js';
import { int8Lowerings, needDtype, pick, qconvGeom, qgemmOperands } from '../../common/qint.js';
import { stridesOf } from '../wgsl/shader.js';
import { f32Parts, wordsOf } from '../wgsl/qshader.js';
import { QOut, convTapTable } from '../kernels/qint.js';
import { CONCAT_MAX_PARTS, MoveElem } from '../kernels/qmove.js';
import { INT_DTYPES, LowerCtx, LowerFn, Operand, markWide, pack16, pack8, qelem, qop, val } from '../ctx.js';
import { storeElem } from '../wgsl/qshader.js';
import { emitTypedMap, typedOperand } from './elementwise.js';
import type { MnKind, QConvRtParams } from '../kernels/index-ops.js';
import type { StoreElem } from '../wgsl/qshader.js';
import { hasRuntimeParams, lowerPadRuntime, lowerSliceRuntime, tileRepeats } from './shape.js';


const dt = (c: LowerCtx, id: ValueId): string => c.g.typeOf(id).dtype;

/** A float-mode scale as mantissa/exponent (it must be a float32 value, as ONNX scales are). */
function scaleParts(c: LowerCtx, s: number): [number, number] {
  if (Math.fround(s) !== s) throw c.unsupported(`float requantization scale ${s} is not a float32 value (webgpu computes the product exactly only for float32 scales)`);
  const { mant, ex } = f32Parts(s);
  return [mant, ex];
}

/**
 * Per-channel stage table [bias, a, b] x M and the kernel's output-stage parameters.
 * @param bias int32 bias or null
 */
function stageTable(c: LowerCtx, out: OutStage, M: number, bias: Int32Array | null): { st: Operand; out: QOut } {
  const t = new Int32Array(3 * Math.max(1, M));
  for (let m = 0; m < M; m++) {
    t[3 * m] = bias ? bias[m]! : 0;
    if (out.yDtype === 'i32') continue;
    if (out.mode !== 'float') {
      t[3 * m + 1] = pick(out.multiplier, m);
      t[3 * m + 2] = pick(out.shift, m);
    } else [t[3 * m + 1], t[3 * m + 2]] = scaleParts(c, pick(out.scale, m));
  }
  return { st: c.blob(t), out: { y: out.yDtype, mode: out.mode, zp: out.yZeroPoint, lo: out.lo, hi: out.hi } };
}

/** Per-tensor output stage as kernel constants. */
function stageConst(c: LowerCtx, out: OutStage, what: string): QOut {
  if ((out.mode !== 'float' ? out.multiplier.length : out.scale.length) !== 1) throw c.unsupported(`${what} with per-channel multipliers`);
  const k: [number, number] = out.mode !== 'float' ? [out.multiplier[0]!, out.shift[0]!] : scaleParts(c, out.scale[0]!);
  return { y: out.yDtype, mode: out.mode, zp: out.yZeroPoint, lo: out.lo, hi: out.hi, k };
}

/** Centered weights w'[m][k] (m-major) packed as int8 when all fit, else as int16 pairs. */
function centeredWeights(c: LowerCtx, wc: Int32Array): { w: Operand; kind: 'i8' | 'i16' } {
  const fits = wc.every((v) => v >= -128 && v <= 127);
  return fits ? { w: c.blob(pack8(wc)), kind: 'i8' } : { w: c.blob(pack16(wc)), kind: 'i16' };
}

function attrsOf<A>(c: LowerCtx, n: Node): A {
  return opAttrs<A>(n, c.opset);
}

// ---------------------------------------------------------------------------------------------
// Integer ops
// ---------------------------------------------------------------------------------------------

function lowerQConv(c: LowerCtx, n: Node): void {
  const { a, xd: xdt, wt, bt, N, C, H, W, M, OH, OW, KH, KW, sh, sw, dh, dw, ph, pw, G } = qconvGeom(c, n);
  const [xId] = n.inputs;
  const y = n.outputs[0]!;
  const ws = wt.shape;
  const K = numel(ws.slice(1));
  const wd = wt.data as Int8Array | Uint8Array;
  const wc = Int32Array.from({ length: M * K }, (_, i) => wd[i]! - pick(a.wZeroPoint, Math.floor(i / K)));
  const { w, kind } = centeredWeights(c, wc);
  const { st, out } = stageTable(c, a.out, M, bt ? (bt.data as Int32Array) : null);
  if (numel(c.shape(y)) === 0) return;
  const params = {
    N, C, H, W, M, OH, OW, KH, KW, sh, sw, dh, dw, ph, pw, G, xdt: qelem(c, xId!, xdt), zx: a.xZeroPoint, w: kind, out,
  };
  // depthwise-like convs (few output channels per group) would leave most of a 32-row tile idle
  if (M / G < 4) {
    emitTiled(c, 'qconv_i8', params, { x: qop(c, xId!), w, st }, y, out.y, OW % 4 === 0);
    return;
  }
  const pointwise = params.KH === 1 && params.KW === 1 && params.sh === 1 && params.sw === 1 && params.ph === 0 && params.pw === 0
    && params.OH * params.OW === params.H * params.W;
  if (!pointwise && (params.KH - 1) * params.dh >= 32768) throw c.unsupported(`QConv dilated kernel height ${(params.KH - 1) * params.dh + 1} is too large for webgpu`);
  if (!pointwise && (params.KW - 1) * params.dw >= 65536) throw c.unsupported(`QConv dilated kernel width ${(params.KW - 1) * params.dw + 1} is too large for webgpu`);
  const ops: Record<string, Operand> = { x: qop(c, xId!), w, st };
  if (!pointwise) ops['kt'] = c.blob(convTapTable(params));
  emitTiled(c, 'qconv_tiled_i8', params, ops, y, out.y, (OH * OW) % 4 === 0);
}

/**
 * A convolution / GEMM kernel with a `store` parameter: 8-bit outputs whose rows are whole words
 * are stored packed; otherwise the kernel writes one word per element and y is stored wide
 * (int32 outputs: always one word per element).
 */
function emitTiled(c: LowerCtx, kernel: string, params: Record<string, unknown>, ops: Record<string, Operand>, y: ValueId, ydt: 'i8' | 'u8' | 'i32', aligned: boolean): void {
  if (ydt !== 'i32' && !aligned) markWide(c, y);
  c.emit(kernel, { ...params, store: ydt === 'i32' || !aligned ? 'words' : 'packed' }, { ...ops, y: val(y) });
}

function lowerQGemm(c: LowerCtx, n: Node): void {
  const { a, xd: xdt, wt, bt, xs, K, N } = qgemmOperands(c, n);
  const xId = n.inputs[0]!;
  const y = n.outputs[0]!;
  const wd = wt.data as Int8Array | Uint8Array;
  const [sk, sn] = a.transB ? [1, K] : [N, 1];
  // w'[j][k], row j contiguous
  const wc = Int32Array.from({ length: N * K }, (_, i) => {
    const j = Math.floor(i / K), k = i % K;
    return wd[k * sk + j * sn]! - pick(a.wZeroPoint, j);
  });
  const { w, kind } = centeredWeights(c, wc);
  const { st, out } = stageTable(c, a.out, N, bt ? (bt.data as Int32Array) : null);
  const R = K === 0 ? 0 : numel(xs) / K;
  if (R * N === 0) return;
  const params = { R, K, N, xdt: qelem(c, xId!, xdt), zx: a.xZeroPoint, w: kind, out };
  // skinny products (few rows) would leave most of a tile idle; very tall ones exceed the grid
  if (R < 8 || R > 65535 * 4) c.emit('qgemm_i8', params, { x: qop(c, xId!), w, st, y: val(y) });
  else emitTiled(c, 'qgemm_tiled_i8', params, { x: qop(c, xId!), w, st }, y, out.y, N % 4 === 0);
}

function lowerQBinary(c: LowerCtx, n: Node): void {
  const [aId, bId] = n.inputs;
  const y = n.outputs[0]!;
  const adt = needDtype(c, aId!, ['i8', 'u8'] as const, `${n.op} input A`);
  const bdt = needDtype(c, bId!, ['i8', 'u8'] as const, `${n.op} input B`);
  const add = n.op === 'QAdd';
  const at = add ? attrsOf<QAddAttrs>(c, n) : null;
  const mt = add ? null : attrsOf<QMulAttrs>(c, n);
  const base = (at ?? mt)!;
  const ys = c.shape(y);
  if (numel(ys) === 0) return;
  if (mt?.mode === 'tflite') {
    c.emit('qmul_tfl_i8', {
      shape: ys, sa: broadcastStrides(c.shape(aId!), ys), sb: broadcastStrides(c.shape(bId!), ys),
      adt: qelem(c, aId!, adt), bdt: qelem(c, bId!, bdt), za: mt.aZeroPoint, zb: mt.bZeroPoint, m: mt.multiplier, n: mt.shift,
      y: mt.yDtype as 'i8' | 'u8', zp: mt.yZeroPoint, lo: mt.lo, hi: mt.hi,
    }, { a: qop(c, aId!), b: qop(c, bId!), y: val(y) });
    return;
  }
  if (at?.mode === 'tflite') {
    c.emit('qadd_tfl_i8', {
      shape: ys, sa: broadcastStrides(c.shape(aId!), ys), sb: broadcastStrides(c.shape(bId!), ys),
      adt: qelem(c, aId!, adt), bdt: qelem(c, bId!, bdt), za: at.aZeroPoint, zb: at.bZeroPoint, ls: at.leftShift,
      ma: at.aMultiplier, na: at.aShift, mb: at.bMultiplier, nb: at.bShift, m: at.multiplier, n: at.shift,
      y: at.yDtype as 'i8' | 'u8', zp: at.yZeroPoint, lo: at.lo, hi: at.hi,
    }, { a: qop(c, aId!), b: qop(c, bId!), y: val(y) });
    return;
  }
  c.emit('qbinary_i8', {
    op: add ? 'add' : 'mul', shape: ys, sa: broadcastStrides(c.shape(aId!), ys), sb: broadcastStrides(c.shape(bId!), ys),
    adt: qelem(c, aId!, adt), bdt: qelem(c, bId!, bdt),
    za: base.aZeroPoint, zb: base.bZeroPoint, ma: at ? at.aMultiplier : mt!.multiplier, mb: at ? at.bMultiplier : 0, shift: base.shift,
    y: base.yDtype as 'i8' | 'u8', zp: base.yZeroPoint, lo: base.lo, hi: base.hi,
  }, { a: qop(c, aId!), b: qop(c, bId!), y: val(y) });
}

function lowerRequantize(c: LowerCtx, n: Node): void {
  const a = attrsOf<RequantizeAttrs>(c, n);
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const xdt = needDtype(c, x, ['i8', 'u8', 'i32'] as const, 'Requantize input');
  // x - zx must stay an int32 (the reference takes it exactly): int32 inputs need zx = 0
  if (xdt === 'i32' ? a.xZeroPoint !== 0 : Math.abs(a.xZeroPoint) > 2 ** 24) {
    throw c.unsupported(`Requantize x_zero_point ${a.xZeroPoint} with a ${xdt} input is not supported on webgpu`);
  }
  const out = stageConst(c, a.out, 'Requantize');
  if (numel(c.shape(x)) === 0) return;
  c.emit('qrequant_i8', { n: numel(c.shape(x)), xdt: qelem(c, x, xdt), zx: a.xZeroPoint, out }, { x: qop(c, x), y: val(y) });
}

function lowerQReduceMean(c: LowerCtx, n: Node): void {
  const a = attrsOf<QReduceMeanAttrs>(c, n);
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const xdt = needDtype(c, x, ['i8', 'u8'] as const, 'QReduceMean input');
  const out = stageConst(c, a.out, 'QReduceMean');
  const xs = c.shape(x);
  const st = stridesOf(xs);
  const ax = new Set(a.axes.map((v) => normAxis(v, xs.length)));
  const kept = xs.map((_, i) => i).filter((i) => !ax.has(i) && xs[i] !== 1);
  const red = xs.map((_, i) => i).filter((i) => ax.has(i));
  if (numel(c.shape(y)) === 0) return;
  if (a.out.mode === 'tflite') {
    // TFLite's MEAN: rq_tfl of the sum, then the rounded division by the element count
    c.emit('qmean_tfl_i8', {
      kept: kept.map((i) => xs[i]!), ks: kept.map((i) => st[i]!), red: red.map((i) => xs[i]!), rs: red.map((i) => st[i]!), xdt: qelem(c, x, xdt), zx: a.xZeroPoint,
      m: a.out.multiplier[0]!, n: a.out.shift[0]!, y: a.out.yDtype as 'i8' | 'u8', zp: a.out.yZeroPoint, lo: a.out.lo, hi: a.out.hi,
    }, { x: qop(c, x), y: val(y) });
    return;
  }
  c.emit('qreduce_i8', {
    kept: kept.map((i) => xs[i]!), ks: kept.map((i) => st[i]!), red: red.map((i) => xs[i]!), rs: red.map((i) => st[i]!), xdt: qelem(c, x, xdt), zx: a.xZeroPoint, out,
  }, { x: qop(c, x), y: val(y) });
}

function lowerQAvgPool(c: LowerCtx, n: Node): void {
  const a = attrsOf<QAvgPoolAttrs>(c, n);
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const xdt = needDtype(c, x, ['i8', 'u8'] as const, 'QAvgPool input');
  const xs = c.shape(x);
  const nd = xs.length - 2;
  if (nd < 1 || nd > 2) throw c.unsupported(`${nd}-D QAvgPool is not supported on webgpu (1-D and 2-D only)`);
  const p = windowParams(a, nd, undefined, n.op);
  const g = geom3(xs.slice(2), p, a.autoPad, a.ceil, n.op);
  const [IH, IW, OH, OW] = [g.I[1], g.I[2], g.O[1], g.O[2]];
  const vol = g.K[1] * g.K[2];
  // (count - 1) per output position, exactly as the reference counts the window
  const counts = avgPoolCountsMinus1(g, a.countIncludePad);
  if (!counts) throw c.unsupported('QAvgPool has an empty window');
  const tb = new Int32Array(OH * OW + 2 * vol);
  tb.set(counts);
  tb.set(a.multipliers, OH * OW);
  tb.set(a.shifts, OH * OW + vol);
  if (numel(c.shape(y)) === 0) return;
  c.emit('qavgpool_i8', {
    planes: xs[0]! * xs[1]!, H: IH, W: IW, OH, OW, KH: g.K[1], KW: g.K[2], sh: g.S[1], sw: g.S[2], ph: g.P[1], pw: g.P[2],
    xdt: qelem(c, x, xdt), zx: a.xZeroPoint, y: a.yDtype as 'i8' | 'u8', zp: a.yZeroPoint, lo: a.lo, hi: a.hi, tfl: a.mode === 'tflite',
  }, { x: qop(c, x), tb: c.blob(tb), y: val(y) });
}

/** The f32 bit pattern of a float32 value. */
const f32Bits = (v: number): number => new Uint32Array(new Float32Array([v]).buffer)[0]!;

/**
 * edgec.QSoftmax over the last axis: qsoftmax_stats_i8 (per row: max and the f32 reciprocal of
 * sum * y_scale, in a temporary) then qsoftmax_i8 per element (packed output).
 */
function lowerQSoftmax(c: LowerCtx, n: Node): void {
  const a = attrsOf<QSoftmaxAttrs>(c, n);
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const xdt = needDtype(c, x, ['i8', 'u8'] as const, 'QSoftmax input');
  const xs = c.shape(x);
  const L = xs[xs.length - 1]!;
  const total = numel(xs);
  if (total === 0) return;
  const rows = total / L;
  // 1 <= sum <= L (table[255] = exp(0) = 1): the reciprocal of sum * y_scale stays a normal f32
  if (!(a.yScale >= 2 ** -120 && L * a.yScale <= 2 ** 120)) throw c.unsupported(`QSoftmax y_scale ${a.yScale} with rows of ${L} is outside the range webgpu's exact reciprocal covers`);
  const tb = c.blob(new Int32Array(new Float32Array(a.table).buffer));
  const stats = c.temp(8 * rows);
  c.emit('qsoftmax_stats_i8', { rows, L, xdt: qelem(c, x, xdt), ys: f32Bits(a.yScale) }, { x: qop(c, x), tb, y: val(stats) });
  c.emit('qsoftmax_i8', { n: total, L, xdt: qelem(c, x, xdt), y: a.yDtype, zp: a.yZeroPoint }, { x: qop(c, x), tb, st: val(stats), y: val(y) });
}

/** edgec.QLut (qlut_i8): y = table[byte(x)], packed output. */
function lowerQLut(c: LowerCtx, n: Node): void {
  const a = attrsOf<QLutAttrs>(c, n);
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const xdt = needDtype(c, x, ['i8', 'u8'] as const, 'QLut input');
  const total = numel(c.shape(x));
  if (total === 0) return;
  c.emit('qlut_i8', { n: total, xdt: qelem(c, x, xdt), y: a.yDtype }, { x: qop(c, x), tb: c.blob(Int32Array.from(a.table)), y: val(y) });
}

/** edgec.TflQuantize (tfl_quantize_f32_i8): TFLite's float QUANTIZE, half away from zero. */
function lowerTflQuantize(c: LowerCtx, n: Node): void {
  const a = attrsOf<TflQuantizeAttrs>(c, n);
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  needDtype(c, x, ['f32'] as const, 'TflQuantize input');
  const nx = numel(c.shape(x));
  if (nx === 0) return;
  c.emit('tfl_quantize_f32_i8', { n: nx, sb: f32Bits(a.scale), zp: a.yZeroPoint, y: a.yDtype }, { x: qop(c, x), y: val(y) });
}

// ---------------------------------------------------------------------------------------------
// QuantizeLinear / DequantizeLinear / Cast
// ---------------------------------------------------------------------------------------------

/** [A, inner] of a per-tensor or per-axis (de)quantization and its table: A scale bit patterns, then A zero points. */
function qParams(c: LowerCtx, n: Node, xs: number[]): { A: number; inner: number; table: Int32Array } {
  const st = c.constOf(n.inputs[1], `${n.op} scale`);
  const zt = n.inputs[2] != null ? c.constOf(n.inputs[2], `${n.op} zero point`) : null;
  if (st.dtype !== 'f32') throw c.unsupported(`${n.op} with a ${st.dtype} scale (f32 only on webgpu)`);
  if (typeof n.attrs['block_size'] === 'number' && n.attrs['block_size'] !== 0) throw c.unsupported(`blocked ${n.op}`);
  const sv = st.data as Float32Array;
  const zv = zt ? zt.toNumbers() : Array.from(sv, () => 0);
  let A = 1, inner = numel(xs);
  if (sv.length !== 1 || st.shape.length > 1) {
    const ax = normAxis(typeof n.attrs['axis'] === 'number' ? (n.attrs['axis'] as number) : 1, xs.length);
    A = xs[ax]!;
    if (sv.length !== A) throw c.unsupported(`${n.op} scale has ${sv.length} values for axis size ${A}`);
    inner = numel(xs.slice(ax + 1));
  }
  const table = new Int32Array(2 * A);
  table.set(new Int32Array(sv.buffer.slice(sv.byteOffset, sv.byteOffset + 4 * A)), 0);
  table.set(zv, A);
  return { A, inner: Math.max(1, inner), table };
}

/** Integer ranges of the quantized dtypes webgpu holds. */
const Q_RANGE: Record<string, [number, number]> = { i8: [-128, 127], u8: [0, 255], i16: [-32768, 32767], u16: [0, 65535] };

/**
 * True when a (de)quantization needs the general kernel: a runtime scale or zero point, a blocked
 * one, or 16-bit values.
 */
function needsGeneralQdq(c: LowerCtx, n: Node, qdt: string): boolean {
  const bs = typeof n.attrs['block_size'] === 'number' ? (n.attrs['block_size'] as number) : 0;
  return !c.isConst(n.inputs[1]) || (n.inputs[2] != null && !c.isConst(n.inputs[2])) || bs !== 0 || qdt === 'i16' || qdt === 'u16';
}

/**
 * QuantizeLinear / DequantizeLinear on qdq_rt: f32 scale and zero point read by the kernel (runtime
 * or constant), per tensor, per axis or per block (compiler/ops/quant.ts paramIndex).
 */
function lowerQdqGeneral(c: LowerCtx, n: Node, quant: boolean, qdt: 'i8' | 'u8' | 'i16' | 'u16'): void {
  const [x, sc, zp] = n.inputs;
  const y = n.outputs[0]!;
  const xs = c.shape(x!);
  const ss = c.shape(sc!);
  if (dt(c, sc!) !== 'f32') throw c.unsupported(`${n.op} with a ${dt(c, sc!)} scale (f32 only on webgpu)`);
  if (zp != null && dt(c, zp) !== qdt) throw c.unsupported(`${n.op} zero point of dtype ${dt(c, zp)}`);
  const bs = typeof n.attrs['block_size'] === 'number' ? (n.attrs['block_size'] as number) : 0;
  const sn = numel(ss);
  let A = 1, inner = Math.max(1, numel(xs)), Ab = 1;
  if (bs !== 0 || !(ss.length === 0 || (ss.length === 1 && sn === 1))) {
    if (xs.length === 0) throw c.unsupported(`${n.op}: a scalar input needs a scalar scale`);
    const ax = normAxis(typeof n.attrs['axis'] === 'number' ? (n.attrs['axis'] as number) : 1, xs.length);
    A = xs[ax]!;
    inner = numel(xs.slice(ax + 1));
    if (bs === 0 && (ss.length !== 1 || ss[0] !== A)) throw c.unsupported(`${n.op} scale of shape [${ss.join(',')}] for axis size ${A}`);
    if (bs !== 0) {
      Ab = Math.ceil(A / bs);
      if (ss.length !== xs.length || ss.some((d, i) => (i === ax ? d !== Ab : d !== xs[i]))) throw c.unsupported(`${n.op} blocked scale of shape [${ss.join(',')}]`);
    }
  }
  if (numel(xs) === 0) return;
  const [lo, hi] = Q_RANGE[qdt]!;
  const ops: Record<string, Operand> = { x: qop(c, x!), sc: qop(c, sc!), y: val(y) };
  if (zp != null) ops['zp'] = qop(c, zp);
  c.emit('qdq_rt', {
    quant, n: numel(xs), A, inner: Math.max(1, inner), bs, Ab, xel: quant ? 'i32' : qelem(c, x!, qdt), zel: zp != null ? qelem(c, zp, qdt) : null,
    el: quant ? qdt : 'i32', lo, hi,
  }, ops);
}

/**
 * DynamicQuantizeLinear: the scale and zero point (dql_params_b, exact as the reference), then
 * y = QuantizeLinear(x, scale, zero point) on qdq_rt reading them from their buffers.
 */
function lowerDynamicQuantizeLinear(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const [y, ys, yz] = n.outputs;
  needDtype(c, x, ['f32'] as const, 'DynamicQuantizeLinear input');
  const nx = numel(c.shape(x));
  const used = (id: ValueId | undefined): boolean => id !== undefined && (c.g.useCount(id) > 0 || c.g.outputs.includes(id));
  const sId = used(ys) ? ys! : c.temp(4);
  const zId = used(yz) ? yz! : c.temp(4);
  c.emit('dql_params_b', { n: nx, zp: false }, { x: qop(c, x), y: val(sId) });
  c.emit('dql_params_b', { n: nx, zp: true }, { x: qop(c, x), y: val(zId) });
  if (nx === 0 || !used(y)) return;
  c.emit('qdq_rt', { quant: true, n: nx, A: 1, inner: nx, bs: 0, Ab: 1, xel: 'i32', zel: 'u8', el: 'u8', lo: 0, hi: 255 },
    { x: qop(c, x), sc: val(sId), zp: val(zId), y: val(y!) });
}

function lowerQuantizeLinear(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  needDtype(c, x, ['f32'] as const, 'QuantizeLinear input');
  const qdt = dt(c, y);
  if ((qdt === 'i16' || qdt === 'u16' || qdt === 'i8' || qdt === 'u8') && needsGeneralQdq(c, n, qdt)) {
    const prec = n.attrs['precision'];
    if (typeof prec === 'number' && prec !== 0 && prec !== 1) throw c.unsupported('QuantizeLinear precision other than float32');
    return lowerQdqGeneral(c, n, true, qdt);
  }
  const ydt = needDtype(c, y, ['i8', 'u8'] as const, 'QuantizeLinear output');
  const prec = n.attrs['precision'];
  if (typeof prec === 'number' && prec !== 0 && prec !== 1) throw c.unsupported('QuantizeLinear precision other than float32');
  const xs = c.shape(x);
  const q = qParams(c, n, xs);
  if (numel(xs) === 0) return;
  c.emit('quantize_f32_i8', { n: numel(xs), A: q.A, inner: q.inner, y: ydt }, { x: qop(c, x), qp: c.blob(q.table), y: val(y) });
}

function lowerDequantizeLinear(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const qdt = dt(c, x);
  if ((qdt === 'i16' || qdt === 'u16' || qdt === 'i8' || qdt === 'u8') && needsGeneralQdq(c, n, qdt)) {
    needDtype(c, y, ['f32'] as const, 'DequantizeLinear output');
    return lowerQdqGeneral(c, n, false, qdt);
  }
  const xdt = needDtype(c, x, ['i8', 'u8'] as const, 'DequantizeLinear input');
  needDtype(c, y, ['f32'] as const, 'DequantizeLinear output');
  const xs = c.shape(x);
  const q = qParams(c, n, xs);
  if (numel(xs) === 0) return;
  c.emit('dequantize_i8_f32', { n: numel(xs), A: q.A, inner: q.inner, xdt: qelem(c, x, xdt) }, { x: qop(c, x), qp: c.blob(q.table), y: val(y) });
}


// ---------------------------------------------------------------------------------------------
// Data movement on integer values
// ---------------------------------------------------------------------------------------------

/** Storage kind of a value (data movement moves 8-bit, 16-bit or 32-bit elements of any dtype). */
function moveElem(c: LowerCtx, id: ValueId): MoveElem {
  c.checkStorable(id);
  return storeElem(dt(c, id));
}

/** y = strided view of x. */
function viewCopy(c: LowerCtx, y: ValueId, x: ValueId, v: StridedView): void {
  if (numel(v.dims) === 0) return;
  const el = moveElem(c, x);
  c.emit('qview_b', { el, xel: qelem(c, x, el), dims: v.dims, strides: v.strides, offset: v.offset }, { x: qop(c, x), y: val(y) });
}

function lowerTranspose(c: LowerCtx, n: Node): void {
  viewCopy(c, n.outputs[0]!, n.inputs[0]!, transposeView(c, n, c.shape(n.inputs[0]!)));
}

function lowerSlice(c: LowerCtx, n: Node): void {
  if (hasRuntimeParams(c, n)) return lowerSliceRuntime(c, n);
  viewCopy(c, n.outputs[0]!, n.inputs[0]!, sliceView(c, n, c.shape(n.inputs[0]!)));
}

function lowerExpand(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const ys = c.shape(n.outputs[0]!);
  viewCopy(c, n.outputs[0]!, x, { dims: ys, strides: broadcastStrides(c.shape(x), ys), offset: 0 });
}

function lowerTile(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  viewCopy(c, n.outputs[0]!, x, tileView(c.shape(x), tileRepeats(c, n)));
}

function lowerDepthSpace(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  viewCopy(c, n.outputs[0]!, x, depthSpaceView(c, n, c.shape(x)));
}

function lowerSplit(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const xs = c.shape(x);
  const { offsets } = partOffsets(c, n, xs, n.outputs.map((o) => c.shape(o)));
  n.outputs.forEach((o, k) => viewCopy(c, o, x, { dims: c.shape(o), strides: stridesOf(xs), offset: offsets[k]! }));
}

function lowerConcat(c: LowerCtx, n: Node): void {
  const y = n.outputs[0]!;
  const ys = c.shape(y);
  const ins = n.inputs.filter((x): x is ValueId => x !== null && numel(c.shape(x)) > 0);
  const { axis } = partOffsets(c, n, ys, ins.map((x) => c.shape(x)));
  if (ins.length > CONCAT_MAX_PARTS) throw c.unsupported(`Concat of ${ins.length} integer tensors (at most ${CONCAT_MAX_PARTS} on webgpu)`);
  if (numel(ys) === 0) return;
  const ops: Record<string, Operand> = { y: val(y) };
  ins.forEach((x, k) => (ops[`x${k}`] = qop(c, x)));
  const el = moveElem(c, y);
  c.emit('qconcat_b', { el, xels: ins.map((x) => qelem(c, x, el)), ys, axis, parts: ins.map((x) => c.shape(x)) }, ops);
}

function lowerPad(c: LowerCtx, n: Node): void {
  if (hasRuntimeParams(c, n)) return lowerPadRuntime(c, n);
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const xs = c.shape(x);
  const p = padSpec(c, n, xs.length);
  if (p.mode !== 'constant' && [...p.begin, ...p.end].some((v) => v < 0)) throw c.unsupported(`Pad mode "${p.mode}" with negative pads`);
  if (numel(c.shape(y)) === 0) return;
  const el = moveElem(c, x);
  c.emit('qpad_b', { el, xel: qelem(c, x, el), mode: p.mode, xs, ys: c.shape(y), begin: p.begin, value: Math.trunc(p.value) }, { x: qop(c, x), y: val(y) });
}

function lowerGather(c: LowerCtx, n: Node): void {
  const [x, idx] = n.inputs;
  const y = n.outputs[0]!;
  const it = c.consts.get(idx!);
  const el = moveElem(c, x!);
  if (!it) {
    // runtime indices: [outer, axisLen, inner] of x as for constant ones, indices read by the kernel
    const xs = c.shape(x!);
    const ni = numel(c.shape(idx!));
    const ax = gatherLayout(c, n, xs, []);
    if (numel(c.shape(y)) === 0) return;
    const idt = dt(c, idx!);
    if (idt !== 'i32' && idt !== 'i64') throw c.unsupported(`Gather indices of dtype ${idt}`);
    c.emit('qgather_b', { el, xel: qelem(c, x!, el), outer: ax.outer, axisLen: ax.axisLen, nIdx: ni, inner: ax.inner, idxel: 'i32' },
      { x: qop(c, x!), idx: qop(c, idx!), y: val(y) });
    return;
  }
  const g = gatherLayout(c, n, c.shape(x!), it.toNumbers());
  if (numel(c.shape(y)) === 0) return;
  c.emit('qgather_b', { el, xel: qelem(c, x!, el), outer: g.outer, axisLen: g.axisLen, nIdx: g.indices.length, inner: g.inner },
    { x: qop(c, x!), idx: c.blob(g.indices), y: val(y) });
}

function lowerMinMax(c: LowerCtx, n: Node): void {
  const y = n.outputs[0]!;
  const ys = c.shape(y);
  const ydt = dt(c, y);
  const ins = n.inputs.filter((x): x is ValueId => x !== null);
  for (const x of ins) if (dt(c, x) !== ydt) throw c.unsupported(`${n.op} of mixed dtypes (${dt(c, x)} and ${ydt})`);
  if (ydt !== 'i8' && ydt !== 'u8' && ydt !== 'i32') {
    emitTypedMap(c, n.op, ins.map((x) => typedOperand(c, x)), y, ydt);
    return;
  }
  const el = moveElem(c, y);
  if (numel(ys) === 0) return;
  if (ins.length === 1) {
    viewCopy(c, y, ins[0]!, { dims: ys, strides: broadcastStrides(c.shape(ins[0]!), ys), offset: 0 });
    return;
  }
  // variadic: accumulate through temporaries (a kernel never reads the buffer it writes)
  let acc: { o: Operand; s: number[] } = { o: qop(c, ins[0]!), s: c.shape(ins[0]!) };
  for (let k = 1; k < ins.length; k++) {
    const dst = k === ins.length - 1 ? y : c.temp(wordsOf(el, numel(ys)) * 4);
    const ael = acc.o.k === 'val' && acc.o.id >= 0 ? qelem(c, acc.o.id, el) : el;
    c.emit('qminmax_b', { el, ael, bel: qelem(c, ins[k]!, el), op: n.op === 'Max' ? 'max' : 'min', shape: ys, sa: broadcastStrides(acc.s, ys), sb: broadcastStrides(c.shape(ins[k]!), ys) },
      { a: acc.o, b: qop(c, ins[k]!), y: val(dst) });
    acc = { o: val(dst), s: ys };
  }
}

function lowerMaxPool(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const el = needDtype(c, x, ['i8', 'u8'] as const, 'MaxPool input');
  if (n.outputs.length > 1 && c.g.useCount(n.outputs[1]!) > 0) throw c.unsupported('MaxPool Indices output is not supported on webgpu');
  const xs = c.shape(x);
  const nd = xs.length - 2;
  if (nd < 1 || nd > 2) throw c.unsupported(`${nd}-D pooling is not supported on webgpu (1-D and 2-D only)`);
  const wa = readWindowAttrs(new AttrReader(n, c.opset), true);
  const p = windowParams(wa, nd, undefined, n.op);
  const g = geom3(xs.slice(2), p, wa.autoPad, n.attrs['ceil_mode'] === 1, n.op);
  if (numel(c.shape(n.outputs[0]!)) === 0) return;
  c.emit('qmaxpool_b', {
    el, xel: qelem(c, x, el), planes: xs[0]! * xs[1]!, H: g.I[1], W: g.I[2], OH: g.O[1], OW: g.O[2], KH: g.K[1], KW: g.K[2],
    sh: g.S[1], sw: g.S[2], dh: g.D[1], dw: g.D[2], ph: g.P[1], pw: g.P[2],
  }, { x: qop(c, x), y: val(n.outputs[0]!) });
}

/** Lowerings of the integer path by qualified op name. */
export const INT8_LOWERINGS: Readonly<Record<string, LowerFn>> = {
  ...int8Lowerings({
    conv: lowerQConv, gemm: lowerQGemm, requantize: lowerRequantize, binary: lowerQBinary, reduceMean: lowerQReduceMean, avgPool: lowerQAvgPool,
    quantize: lowerQuantizeLinear, dequantize: lowerDequantizeLinear, dynamicQuantize: lowerDynamicQuantizeLinear, convRt: lowerQConvRt,
  }),
  Transpose: lowerTranspose, Slice: lowerSlice, Expand: lowerExpand, Tile: lowerTile, Split: lowerSplit, Concat: lowerConcat,
  Pad: lowerPad, Gather: lowerGather, DepthToSpace: lowerDepthSpace, SpaceToDepth: lowerDepthSpace,
  Max: lowerMinMax, Min: lowerMinMax, MaxPool: lowerMaxPool,
  'edgec.QSoftmax': lowerQSoftmax, 'edgec.TflQuantize': lowerTflQuantize, 'edgec.QLut': lowerQLut,
};

/** Ops of the integer path that are claimed whatever their operand dtypes. */
const ALWAYS = new Set(['edgec.QConv', 'edgec.QGemm', 'edgec.Requantize', 'edgec.QAdd', 'edgec.QMul', 'edgec.QReduceMean', 'edgec.QAvgPool', 'edgec.QSoftmax', 'edgec.TflQuantize', 'edgec.QLut', 'QuantizeLinear', 'DequantizeLinear']);

/**
 * True when `n` belongs to the integer path: an integer op, a (de)quantization, or any node with
 * an integer / bool runtime input or output. The driver lowers it with the integer lowering
 * tables (INT8_LOWERINGS and the families' typed lowerings) so the f32 lowerings never see packed
 * data. Throws 'unsupported' when one of its runtime values has a dtype webgpu does not hold.
 * @param c lowering context (c.node is n)
 * @param n the node
 */
export function isIntNode(c: LowerCtx, n: Node): boolean {
  const q = n.domain === '' || n.domain === 'ai.onnx' ? n.op : `${n.domain}.${n.op}`;
  const runtime = [...n.inputs.filter((x): x is ValueId => x !== null && !c.isConst(x)), ...n.outputs];
  if (!ALWAYS.has(q) && !runtime.some((id) => INT_DTYPES.has(dt(c, id)))) return false;
  for (const id of runtime) if (c.g.useCount(id) > 0 || n.inputs.includes(id) || c.g.outputs.includes(id)) c.checkStorable(id);
  return true;
}

/**
 * True when the graph holds integer ops (compiler/ops/qint.ts, domain edgec): quantizeModel's
 * output or a lowered pre-quantized model.
 * @param g graph
 */
export function isIntegerGraph(g: Graph): boolean {
  return g.orderedNodes().some((n) => n.domain === 'edgec' && /^(QConv|QGemm|QAdd|QMul|QReduceMean|QAvgPool|QSoftmax|TflQuantize|Requantize)$/.test(n.op));
}

/**
 * ConvInteger / QLinearConv (1- to 3-D, grouped, dilated; runtime or constant 8-bit operands) on
 * qconv_rt, bit-exact with compiler/ops/conv.ts (exact i32 accumulation; QLinearConv's
 * multiplier fl32(fl32(x_scale * w_scale[m]) / y_scale), the requantizing product exact).
 */
function lowerQConvRt(c: LowerCtx, n: Node): void {
  const ql = n.op === 'QLinearConv';
  const [x, w] = ql ? [n.inputs[0]!, n.inputs[3]!] : [n.inputs[0]!, n.inputs[1]!];
  const [xz, wz] = ql ? [n.inputs[2], n.inputs[5]] : [n.inputs[2], n.inputs[3]];
  const y = n.outputs[0]!;
  const xd = needDtype(c, x, ['i8', 'u8'] as const, `${n.op} x`);
  const wd = needDtype(c, w, ['i8', 'u8'] as const, `${n.op} w`);
  const yd = dt(c, y);
  if (ql ? yd !== 'i8' && yd !== 'u8' : yd !== 'i32') throw c.unsupported(`${n.op} output of dtype ${yd}`);
  const xs = c.shape(x), ws = c.shape(w);
  const nd = xs.length - 2;
  if (nd < 1 || nd > 3) throw c.unsupported(`${nd}-D ${n.op} is not supported on webgpu (1-D to 3-D)`);
  const wa = readWindowAttrs(new AttrReader(n, c.opset), false);
  const p = windowParams(wa, nd, ws.slice(2), n.op);
  const g3 = geom3(xs.slice(2), p, wa.autoPad, false, n.op);
  const G = typeof n.attrs['group'] === 'number' ? (n.attrs['group'] as number) : 1;
  const [N, C] = [xs[0]!, xs[1]!];
  const M = ws[0]!;
  if (C % G !== 0 || M % G !== 0 || ws[1]! * G !== C) throw c.unsupported(`${n.op} channels do not match group ${G}`);
  const per = (id: ValueId | null | undefined, what: string, perM: boolean): MnKind => {
    if (id == null) return 'none';
    const k = numel(c.shape(id));
    if (k === 1) return 'scalar';
    if (perM && k === M) return 'row';
    throw c.unsupported(`${n.op} ${what} has ${k} values`);
  };
  const el = (id: ValueId | null | undefined): StoreElem => (id == null ? 'i32' : (qelem(c, id, storeElem(dt(c, id))) as StoreElem));
  const ops: Record<string, Operand> = { x: qop(c, x), w: qop(c, w), y: val(y) };
  if (xz != null) ops['xz'] = qop(c, xz);
  if (wz != null) ops['wz'] = qop(c, wz);
  let ql2 = { ws: 'none' as MnKind, yz: 'none' as MnKind, yzel: 'i32' as StoreElem, bias: false };
  if (ql) {
    const [sx, sw, sy, yz, b] = [n.inputs[1]!, n.inputs[4]!, n.inputs[6]!, n.inputs[7], n.inputs[8]];
    for (const id of [sx, sw, sy]) if (dt(c, id) !== 'f32') throw c.unsupported(`${n.op} scale of dtype ${dt(c, id)} (f32 only on webgpu)`);
    if (numel(c.shape(sx)) !== 1 || numel(c.shape(sy)) !== 1) throw c.unsupported(`${n.op} x_scale / y_scale must be scalars`);
    if (b != null && (dt(c, b) !== 'i32' || numel(c.shape(b)) !== M)) throw c.unsupported(`${n.op} bias must be ${M} int32 values`);
    ops['scale_x'] = c.op(sx);
    ops['scale_w'] = c.op(sw);
    ops['scale_y'] = c.op(sy);
    if (yz != null) ops['yz'] = qop(c, yz);
    if (b != null) ops['bias'] = qop(c, b);
    ql2 = { ws: per(sw, 'w_scale', true), yz: per(yz, 'y_zero_point', false), yzel: el(yz), bias: b != null };
  }
  const [lo, hi] = yd === 'i8' ? [-128, 127] : yd === 'u8' ? [0, 255] : [0, 0];
  if (N * M * numel(g3.O) === 0) return;
  const prm: Omit<QConvRtParams, 'bufs'> = {
    N, C, M, G, I: g3.I, O: g3.O, K: g3.K, S: g3.S, D: g3.D, P: g3.P, xel: qelem(c, x, xd) as StoreElem, wel: qelem(c, w, wd) as StoreElem,
    xz: per(xz, 'x_zero_point', false), wz: per(wz, 'w_zero_point', true), xzel: el(xz), wzel: el(wz), qlinear: ql, ...ql2, el: storeElem(yd), lo, hi,
  };
  c.emit('qconv_rt', prm as unknown as Record<string, unknown>, ops);
}
