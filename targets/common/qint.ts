/**
 * Shared parts of the targets' int8 lowerings (wasm ops/qint.ts, webgpu ops/qint.ts): operand
 * checks and the reading of an edgec.QConv node (compiler/ops/qint.ts is the specification).
 */
import { Node, ValueId } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { geom3, windowParams } from '../../compiler/ops/conv.js';
import { opOf, opsetOf, parseAttrs } from '../../compiler/ops/registry.js';
import { stageLen } from '../../compiler/ops/qint.js';
import type { QConvAttrs, QGemmAttrs } from '../../compiler/ops/qint.js';
import type { ConstCtx } from './ctx.js';

/** Parsed attributes of a node (its op's parser at the graph's opset). */
export function attrsOf<A>(c: ConstCtx, n: Node): A {
  return parseAttrs(opOf(n, c.g), n, opsetOf(n, c.g)) as A;
}

/** Checks an operand's dtype is one of `ok` (unsupported otherwise) and returns it. */
export function needDtype<T extends string>(c: ConstCtx, id: ValueId, ok: readonly T[], what: string): T {
  const d = c.g.typeOf(id).dtype;
  if (!(ok as readonly string[]).includes(d)) throw c.unsupported(`${what} has dtype ${d}; expected ${ok.join(' or ')}`);
  return d as T;
}

/**
 * Rejects TFLite's integer arithmetic (rq_mode 'tflite': double rounding, TFLite's ADD scheme and
 * rounded-division average pool) on a target whose kernels lack it, naming the op.
 * @param mode the node's rq_mode
 */
export function needSingleRounding(c: ConstCtx, mode: string, what: string): void {
  if (mode === 'tflite') throw c.unsupported(`${what} with TFLite integer arithmetic (rq_mode 'tflite') is not supported on ${c.target} yet`);
}

/** Per-channel entry k of a list of 1 or n values. */
export const pick = (a: readonly number[], k: number): number => a[a.length === 1 ? 0 : k]!;

/** Checks a per-channel list has 1 or n values. */
export function checkChannels(c: ConstCtx, what: string, len: number, n: number): void {
  if (len !== 1 && len !== n) throw c.unsupported(`${what} has ${len} values, expected 1 or ${n}`);
}

/** A QConv node, read and checked: attributes, weights, bias and the 2-D geometry (1-D: H = OH = KH = 1). */
export interface QConvGeom {
  a: QConvAttrs;
  xd: 'i8' | 'u8';
  wt: Tensor;
  bt: Tensor | null;
  N: number; C: number; H: number; W: number; M: number; OH: number; OW: number;
  KH: number; KW: number; sh: number; sw: number; dh: number; dw: number; ph: number; pw: number; G: number;
}

/** Reads and checks a QConv node (1-D and 2-D; the target's unsupported errors otherwise). */
export function qconvGeom(c: ConstCtx, n: Node): QConvGeom {
  const a = attrsOf<QConvAttrs>(c, n);
  const [xId, wId, bId] = n.inputs;
  const xd = needDtype(c, xId!, ['i8', 'u8'] as const, 'QConv input');
  const wt = c.constOf(wId, 'QConv weight');
  const bt = bId != null ? c.constOf(bId, 'QConv bias') : null;
  if (wt.dtype !== 'i8' && wt.dtype !== 'u8') throw c.unsupported(`QConv weight has dtype ${wt.dtype}; expected i8 or u8`);
  if (bt && bt.dtype !== 'i32') throw c.unsupported(`QConv bias has dtype ${bt.dtype}; expected i32`);
  const xs = c.shape(xId!);
  const ws = wt.shape;
  const nd = xs.length - 2;
  if (nd < 1 || nd > 2) throw c.unsupported(`${nd}-D QConv is not supported on ${c.target} (1-D and 2-D only)`);
  const [N, C] = [xs[0]!, xs[1]!];
  const M = ws[0]!;
  const G = a.group;
  if (C % G !== 0 || M % G !== 0 || ws[1]! * G !== C) throw c.unsupported(`QConv channels (input ${C}, weight [${ws.join(',')}]) do not match group ${G}`);
  if (bt && bt.size !== M) throw c.unsupported(`QConv bias has ${bt.size} values, expected ${M}`);
  checkChannels(c, 'w_zero_point', a.wZeroPoint.length, M);
  if (a.out.yDtype !== 'i32') checkChannels(c, 'multiplier', stageLen(a.out), M);
  const p = windowParams(a, nd, ws.slice(2), n.op);
  const geo = geom3(xs.slice(2), p, a.autoPad, false, n.op);
  return {
    a, xd, wt, bt, N, C, H: geo.I[1], W: geo.I[2], M, OH: geo.O[1], OW: geo.O[2], KH: geo.K[1], KW: geo.K[2], sh: geo.S[1], sw: geo.S[2],
    dh: geo.D[1], dw: geo.D[2], ph: geo.P[1], pw: geo.P[2], G,
  };
}

/** A QGemm node, read and checked: attributes, input dtype, constant weights [K, N] (transB: [N, K]) and bias. */
export interface QGemmOperands {
  a: QGemmAttrs;
  xd: 'i8' | 'u8';
  wt: Tensor;
  bt: Tensor | null;
  /** Input shape (its last dim is K). */
  xs: number[];
  K: number;
  N: number;
}

/**
 * Reads an edgec.QGemm node and checks its operands (compiler/ops/qint.ts): i8/u8 input, constant
 * rank-2 i8/u8 weights whose K matches the input's last dim, an optional constant i32 bias of N
 * values, per-tensor or per-column zero points and multipliers.
 * @param c lowering context (c.node is n)
 * @param n the QGemm node
 */
export function qgemmOperands(c: ConstCtx, n: Node): QGemmOperands {
  const a = attrsOf<QGemmAttrs>(c, n);
  const [xId, wId, bId] = n.inputs;
  const xd = needDtype(c, xId!, ['i8', 'u8'] as const, 'QGemm input');
  const wt = c.constOf(wId, 'QGemm weight');
  const bt = bId != null ? c.constOf(bId, 'QGemm bias') : null;
  if (wt.dtype !== 'i8' && wt.dtype !== 'u8') throw c.unsupported(`QGemm weight has dtype ${wt.dtype}; expected i8 or u8`);
  if (bt && bt.dtype !== 'i32') throw c.unsupported(`QGemm bias has dtype ${bt.dtype}; expected i32`);
  if (wt.shape.length !== 2) throw c.unsupported('QGemm weight must have rank 2');
  const [K, N] = a.transB ? [wt.shape[1]!, wt.shape[0]!] : [wt.shape[0]!, wt.shape[1]!];
  const xs = c.shape(xId!);
  if (xs[xs.length - 1] !== K) throw c.unsupported(`QGemm inner dims differ (${xs[xs.length - 1]} vs ${K})`);
  if (bt && bt.size !== N) throw c.unsupported(`QGemm bias has ${bt.size} values, expected ${N}`);
  checkChannels(c, 'w_zero_point', a.wZeroPoint.length, N);
  if (a.out.yDtype !== 'i32') checkChannels(c, 'multiplier', stageLen(a.out), N);
  return { a, xd, wt, bt, xs, K, N };
}

/**
 * The lowerings every target gives the integer path: the quantized edgec ops (compiler/ops/qint.ts),
 * (de)quantization and the ONNX integer convolutions, each a target's function for one group of ops.
 */
export interface Int8Lowerings<F> {
  /** edgec.QConv */
  conv: F;
  /** edgec.QGemm */
  gemm: F;
  /** edgec.Requantize */
  requantize: F;
  /** edgec.QAdd, edgec.QMul */
  binary: F;
  /** edgec.QReduceMean */
  reduceMean: F;
  /** edgec.QAvgPool */
  avgPool: F;
  /** QuantizeLinear */
  quantize: F;
  /** DequantizeLinear */
  dequantize: F;
  /** DynamicQuantizeLinear */
  dynamicQuantize: F;
  /** ConvInteger, QLinearConv (run-time quantization parameters) */
  convRt: F;
}

/**
 * A target's lowering table of the integer path by qualified op name (the op -> group mapping is
 * the same on every target; each target spreads the result into its INT8_LOWERINGS).
 * @param l the target's lowering of each group
 */
export function int8Lowerings<F>(l: Int8Lowerings<F>): Record<string, F> {
  return {
    'edgec.QConv': l.conv, 'edgec.QGemm': l.gemm, 'edgec.Requantize': l.requantize, 'edgec.QAdd': l.binary, 'edgec.QMul': l.binary,
    'edgec.QReduceMean': l.reduceMean, 'edgec.QAvgPool': l.avgPool, QuantizeLinear: l.quantize, DequantizeLinear: l.dequantize,
    DynamicQuantizeLinear: l.dynamicQuantize, ConvInteger: l.convRt, QLinearConv: l.convRt,
  };
}
