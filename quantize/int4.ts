/**
 * --int4: weight-only, block-wise int4 quantization of Gemm/MatMul and Conv weights.
 * Each weight becomes an int4 constant and DequantizeLinear(axis, block_size=32) in front of the
 * unchanged float op (ONNX opset 21 blocked quantization): blocks of 32 along the reduction axis
 * (MatMul B [K,N] axis 0; Gemm B axis 1 with transB=1 else 0; Conv W [M, C/G, k...] axis 1).
 * Symmetric: q = clamp(roundHalfEven(w / s), -7, 7), s = max|w| / 7 per block (1 for zero blocks).
 * The graph is converted to opset 21 first (compiler/passes/upgrade-opset.ts).
 */
import { Graph, Node } from '../compiler/ir/graph.js';
import { Tensor, stridesOf } from '../compiler/ir/tensor.js';
import { isFloat, roundHalfEven } from '../compiler/ir/dtype.js';
import { inferShapes } from '../compiler/interp/interp.js';
import { upgradeOpset } from '../compiler/passes/upgrade-opset.js';
import { MIN_SCALE } from './params.js';
import type { LayerInfo } from './qdq.js';
import type { RewriteResult } from './fp16.js';

export const INT4_BLOCK = 32;
/** Smallest reduction length (Conv input channels per group) worth int4 blocks. */
export const MIN_BLOCK = 16;

/**
 * Block-wise symmetric int4 quantization of `w` along `axis`.
 * @returns int4 tensor and the scales tensor (shape of w with axis dim ceil(D / block))
 */
export function quantizeBlocked(w: Tensor, axis: number, block = INT4_BLOCK): { q: Tensor; scale: Tensor } {
  const shape = w.shape;
  const D = shape[axis]!;
  const nb = Math.ceil(D / block);
  const sShape = shape.map((d, i) => (i === axis ? nb : d));
  const st = stridesOf(shape);
  const sst = stridesOf(sShape);
  const sIndex = (i: number) => {
    let o = 0;
    for (let k = 0; k < shape.length; k++) {
      const c = Math.floor(i / st[k]!) % shape[k]!;
      o += (k === axis ? Math.floor(c / block) : c) * sst[k]!;
    }
    return o;
  };
  const absMax = new Float64Array(sShape.reduce((a, b) => a * b, 1));
  const d = w.data as Float32Array;
  const idx = new Int32Array(d.length);
  for (let i = 0; i < d.length; i++) {
    idx[i] = sIndex(i);
    absMax[idx[i]!] = Math.max(absMax[idx[i]!]!, Math.abs(d[i]!));
  }
  const scale = Tensor.zeros('f32', sShape);
  const sd = scale.data as Float32Array;
  for (let j = 0; j < sd.length; j++) {
    const s = Math.fround(absMax[j]! / 7);
    sd[j] = s > 0 ? Math.max(s, MIN_SCALE) : 1;
  }
  const q = Tensor.zeros('i4', shape);
  const qd = q.data as Int8Array;
  for (let i = 0; i < d.length; i++) qd[i] = Math.max(-7, Math.min(7, roundHalfEven(d[i]! / sd[idx[i]!]!)));
  return { q, scale };
}

function blockAxis(g: Graph, n: Node): number | undefined {
  const w = g.constOf(n.inputs[1]);
  if (!w || !isFloat(w.dtype)) return undefined;
  if (n.op === 'MatMul' && w.shape.length === 2) return 0;
  if (n.op === 'Gemm' && w.shape.length === 2) return n.attrs['transB'] === 1 ? 1 : 0;
  // Conv blocks run along the input channels of a group (axis 1): with fewer than MIN_BLOCK of them
  // (depthwise, RGB input layers) a block holds a handful of weights and its f32 scale costs more
  // than the 4-bit storage saves, so those layers stay float (listed, like any float layer)
  if (n.op === 'Conv' && w.shape.length >= 3) return w.shape[1]! >= MIN_BLOCK ? 1 : undefined;
  return undefined;
}

/**
 * Rewrites weights to block-wise int4 (weight-only).
 * @param src prepared float graph (not modified)
 */
export function toInt4(src: Graph): RewriteResult {
  const g = src.clone();
  if (g.opset < 21) upgradeOpset(g, 21);
  const layers: LayerInfo[] = [];
  for (const n of g.orderedNodes()) {
    const axis = blockAxis(g, n);
    if (axis === undefined) {
      layers.push({ node: n.name, op: n.op, mode: 'float' });
      continue;
    }
    const w = g.constOf(n.inputs[1])!;
    const { q, scale } = quantizeBlocked(w, axis);
    const name = g.value(n.inputs[1]!).name;
    const qv = g.addConst(`${name}_int4`, q).id;
    const sv = g.addConst(`${name}_scale`, scale).id;
    const out = g.addValue(`${name}_dequantized`, { dtype: 'f32', shape: w.shape }).id;
    g.addNode({ op: 'DequantizeLinear', inputs: [qv, sv], outputs: [out], attrs: { axis, block_size: INT4_BLOCK }, name: `${n.name}.w_dequantize` }, n.id);
    n.inputs[1] = out;
    layers.push({ node: n.name, op: n.op, mode: 'weight-only', weightAxis: axis });
  }
  g.removeUnusedValues();
  g.toposort();
  inferShapes(g);
  return { graph: g, layers, floatIslands: layers.filter((l) => l.mode === 'float').map((l) => ({ node: l.node, op: l.op })) };
}
