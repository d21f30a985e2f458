/**
 * Cross-layer equalization (Nagel et al. 2019, "Data-Free Quantization Through Weight Equalization
 * and Bias Correction", section 4.1), a float-exact rewrite run before calibration.
 *
 * For a producer P (Conv of any group, Gemm, MatMul with constant weights) whose output channel i
 * feeds, through an optional positive-homogeneous activation (Relu, LeakyRelu, PRelu with a scalar
 * slope, Clip(0, +inf), Identity), only a consumer Q of the same kind (Conv of any group,
 * depthwise included; Gemm / MatMul), with s_i > 0:
 *   Q(act(P(x))) = Q'(act(P'(x)))   where P' = P with output channel i (and bias) divided by s_i,
 *                                       Q' = Q with input channel i multiplied by s_i,
 * because act(y / s) = act(y) / s for s > 0. With r1_i = max |W_P[i]| and r2_i = max |W_Q[., i]|,
 * s_i = sqrt(r1_i / r2_i) makes both ranges sqrt(r1_i r2_i): per-channel weight ranges become equal
 * across the pair, so a channel with a tiny range (common after BN folding in depthwise convs) no
 * longer wastes the int8 grid of its per-tensor activation, and the consumer's per-tensor input
 * range is shared evenly. Pairs are swept repeatedly (chains P1 -> P2 -> P3 couple) until no scale
 * moves by more than 1e-4 or `maxSweeps` sweeps ran.
 *
 * Clip with a finite upper bound (ReLU6) is not scale-equivariant (a channel scaled by 1/s would be
 * clamped at 6 instead of 6/s), so equalization stops there; so does any value with another reader.
 */
import { Graph, Node, ValueId } from '../compiler/ir/graph.js';
import { Tensor } from '../compiler/ir/tensor.js';
import { opsetOf } from '../compiler/ops/registry.js';

/** One producer/consumer pair sharing the channel axis `C` wide. */
interface Pair {
  p: Node;
  q: Node;
  C: number;
}

/** Index lists of a weight's elements per channel (output channel of P, input channel of Q). */
type ChannelIndex = (c: number, visit: (i: number) => void) => void;

function f32Weight(g: Graph, id: ValueId | null | undefined): Tensor | undefined {
  const t = g.constOf(id);
  return t && t.dtype === 'f32' ? t : undefined;
}

/** Output channel count and element walker of a producer's weight, or undefined. */
function producerChannels(g: Graph, n: Node): { C: number; walk: ChannelIndex } | undefined {
  const w = f32Weight(g, n.inputs[1]);
  if (!w || n.domain !== '' || n.outputs.length !== 1) return undefined;
  if (n.op === 'Conv' && w.shape.length >= 3) {
    const C = w.shape[0]!;
    const inner = w.size / C;
    return { C, walk: (c, v) => { for (let i = 0; i < inner; i++) v(c * inner + i); } };
  }
  const dense = denseShape(g, n, w);
  if (!dense) return undefined;
  const [K, N, trans] = dense;
  // output feature j: W[j, :] (transB) or W[:, j]
  return { C: N, walk: trans ? (c, v) => { for (let k = 0; k < K; k++) v(c * K + k); } : (c, v) => { for (let k = 0; k < K; k++) v(k * N + c); } };
}

/** Input channel count and element walker of a consumer's weight, or undefined. */
function consumerChannels(g: Graph, n: Node): { C: number; walk: ChannelIndex } | undefined {
  const w = f32Weight(g, n.inputs[1]);
  if (!w || n.domain !== '' || n.outputs.length !== 1) return undefined;
  if (n.op === 'Conv' && w.shape.length >= 3) {
    const group = typeof n.attrs['group'] === 'number' ? (n.attrs['group'] as number) : 1;
    const [M, Cg] = [w.shape[0]!, w.shape[1]!];
    const k = w.size / (M * Cg);
    const Mg = M / group;
    return {
      C: Cg * group,
      walk: (c, v) => {
        const gi = Math.floor(c / Cg);
        const cc = c % Cg;
        for (let o = gi * Mg; o < (gi + 1) * Mg; o++) for (let j = 0; j < k; j++) v((o * Cg + cc) * k + j);
      },
    };
  }
  const dense = denseShape(g, n, w);
  if (!dense) return undefined;
  const [K, N, trans] = dense;
  // input feature k: W[:, k] (transB) or W[k, :]
  return { C: K, walk: trans ? (c, v) => { for (let j = 0; j < N; j++) v(j * K + c); } : (c, v) => { for (let j = 0; j < N; j++) v(c * N + j); } };
}

/** [K, N, transposed] of a Gemm (alpha = beta = 1, transA = 0) or 2-D MatMul weight. */
function denseShape(g: Graph, n: Node, w: Tensor): [number, number, boolean] | undefined {
  if (w.shape.length !== 2) return undefined;
  if (n.op === 'MatMul') return [w.shape[0]!, w.shape[1]!, false];
  if (n.op !== 'Gemm' || (n.attrs['transA'] ?? 0) !== 0 || (n.attrs['alpha'] ?? 1) !== 1 || (n.attrs['beta'] ?? 1) !== 1) return undefined;
  const trans = n.attrs['transB'] === 1;
  return trans ? [w.shape[1]!, w.shape[0]!, true] : [w.shape[0]!, w.shape[1]!, false];
}

/** True for an activation with act(x / s) = act(x) / s for every s > 0. */
function homogeneous(g: Graph, n: Node): boolean {
  if (n.domain !== '' || n.outputs.length !== 1) return false;
  switch (n.op) {
    case 'Relu': case 'LeakyRelu': case 'Identity': return true;
    case 'PRelu': return (g.constOf(n.inputs[1])?.size ?? 0) === 1;
    case 'Clip': {
      if (opsetOf(n, g) < 11) return (typeof n.attrs['min'] === 'number' ? n.attrs['min'] : -Infinity) === 0 && typeof n.attrs['max'] !== 'number';
      const lo = g.constOf(n.inputs[1]);
      return lo !== undefined && lo.size === 1 && lo.get(0) === 0 && (n.inputs[2] == null || g.constOf(n.inputs[2])?.get(0) === Infinity);
    }
    default: return false;
  }
}

/** Producer/consumer pairs of `g` (see the file comment). */
function findPairs(g: Graph): Pair[] {
  const uses = g.uses();
  const sole = (v: ValueId): Node | undefined => {
    const u = uses.get(v) ?? [];
    return u.length === 1 && !g.outputs.includes(v) && u[0]!.inputs.filter((x) => x === v).length === 1 ? u[0] : undefined;
  };
  const pairs: Pair[] = [];
  for (const p of g.orderedNodes()) {
    const pc = producerChannels(g, p);
    if (!pc) continue;
    const b = p.inputs[2];
    if (b != null && (f32Weight(g, b)?.size !== pc.C)) continue;
    let v = p.outputs[0]!;
    let q = sole(v);
    while (q && homogeneous(g, q) && q.inputs[0] === v) {
      v = q.outputs[0]!;
      q = sole(v);
    }
    // q must read the chain's end as its data input
    if (!q || q.inputs[0] !== v) continue;
    const cc = consumerChannels(g, q);
    if (!cc || cc.C !== pc.C || (p.op === 'Conv') !== (q.op === 'Conv')) continue;
    pairs.push({ p, q, C: pc.C });
  }
  return pairs;
}

/** Replaces constant input `i` of `n` by a fresh constant (weights may be shared by other nodes). */
function ownConst(g: Graph, n: Node, i: number): Tensor {
  const t = g.constOf(n.inputs[i])!;
  const copy = new Tensor(t.dtype, [...t.shape], (t.data as Float32Array).slice());
  n.inputs[i] = g.addConst(`${g.value(n.inputs[i]!).name}_equalized`, copy).id;
  return copy;
}

/** What equalizeLayers did. */
export interface EqualizeResult {
  /** Pairs equalized (producer -> consumer node names). */
  pairs: [string, string][];
  sweeps: number;
}

/**
 * Equalizes per-channel weight ranges of consecutive layers in place (float output unchanged up to
 * f32 rounding); see the file comment.
 * @param g float graph (after prepareFloat: no fused activations)
 * @param maxSweeps upper bound on sweeps over all pairs
 */
export function equalizeLayers(g: Graph, maxSweeps = 20): EqualizeResult {
  const pairs = findPairs(g);
  // private copies of every weight and bias we rescale
  const owned = new Set<ValueId>();
  const own = (n: Node, i: number) => {
    if (!owned.has(n.inputs[i]!)) {
      ownConst(g, n, i);
      owned.add(n.inputs[i]!);
    }
    return g.constOf(n.inputs[i])!;
  };
  let sweeps = 0;
  for (; sweeps < maxSweeps && pairs.length > 0; sweeps++) {
    let moved = 0;
    for (const { p, q, C } of pairs) {
      const w1 = own(p, 1);
      const w2 = own(q, 1);
      const b1 = p.inputs[2] != null ? own(p, 2) : undefined;
      const pc = producerChannels(g, p)!;
      const qc = consumerChannels(g, q)!;
      const d1 = w1.data as Float32Array;
      const d2 = w2.data as Float32Array;
      for (let c = 0; c < C; c++) {
        let r1 = 0;
        let r2 = 0;
        pc.walk(c, (i) => { r1 = Math.max(r1, Math.abs(d1[i]!)); });
        qc.walk(c, (i) => { r2 = Math.max(r2, Math.abs(d2[i]!)); });
        if (!(r1 > 0 && r2 > 0)) continue;
        const s = Math.sqrt(r1 / r2);
        if (!Number.isFinite(s) || Math.abs(Math.log(s)) < 1e-4) continue;
        moved = Math.max(moved, Math.abs(Math.log(s)));
        pc.walk(c, (i) => { d1[i] = d1[i]! / s; });
        qc.walk(c, (i) => { d2[i] = d2[i]! * s; });
        if (b1) (b1.data as Float32Array)[c] = (b1.data as Float32Array)[c]! / s;
      }
    }
    if (moved < 1e-4) break;
  }
  if (pairs.length > 0) g.removeUnusedValues();
  return { pairs: pairs.map(({ p, q }) => [p.name, q.name]), sweeps };
}
