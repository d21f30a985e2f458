/**
 * Standalone per-channel affines as depthwise 1x1 convolutions, for int8 quantization.
 *
 * An affine y = x * s[c] + t[c] on channel axis 1 that the structural passes could not fold into a
 * neighbour (compiler/passes/fold-affine.ts), e.g. a BatchNormalization after a Concat whose
 * branches are not all foldable, is written as Conv(x, W, t; group = C) with W [C, 1, 1, ..., 1]
 * holding s. Quantized as a Conv it gets
 * - one int8 weight per channel with its own scale (|s_c| -> 127: the multiplier is exact to 2^-8
 *   relative, whatever the spread of s across channels), instead of a per-tensor int8 copy of s
 *   that rounds small channels' scales to a few levels (or to 0);
 * - an int32 bias at scale x_scale * w_scale[c] instead of a per-tensor int8 copy of t;
 * - per-channel requantization multipliers in edgec.QConv (the same kernel as any depthwise conv,
 *   so reference, wasm and hls agree bit for bit).
 *
 * Patterns (x float, rank >= 3, static channel count C, constant varying only along axis 1):
 *   Mul(x, s) [-> Add|Sub(., t)]      Add|Sub(x, t)      BatchNormalization(x) (inference)
 * A Mul whose only user is such an Add/Sub becomes one Conv with bias. A scalar constant stays an
 * ordinary Mul/Add (per-tensor parameters represent it exactly already).
 */
import { Graph, Node, ValueId } from '../compiler/ir/graph.js';
import { Tensor } from '../compiler/ir/tensor.js';
import { isFloat } from '../compiler/ir/dtype.js';
import { inferShapes } from '../compiler/interp/interp.js';
import { opsetOf } from '../compiler/ops/registry.js';

/** A per-channel affine found in the graph: y = x * s + t (s or t may be absent). */
interface ChannelAffine {
  x: ValueId;
  s?: Float64Array;
  t?: Float64Array;
}

/** Channel count C (axis 1) of a float activation of rank >= 3 with static C. */
function channels(g: Graph, x: ValueId): number | undefined {
  if (g.consts.has(x)) return undefined;
  const t = g.typeOf(x);
  if (!isFloat(t.dtype) || t.dtype !== 'f32' || t.shape.length < 3) return undefined;
  const c = t.shape[1];
  return typeof c === 'number' ? c : undefined;
}

/**
 * Values of constant `c` per channel of `x` when `c` broadcasts against x without changing its
 * shape and varies only along axis 1 (and is not a scalar); else undefined.
 * @param g graph @param x activation @param c constant operand
 */
export function channelVector(g: Graph, x: ValueId, c: Tensor): Float64Array | undefined {
  const C = channels(g, x);
  const r = g.typeOf(x).shape.length;
  if (C === undefined || !isFloat(c.dtype) || c.shape.length > r || c.size !== C || C === 1) return undefined;
  for (let j = 0; j < c.shape.length; j++) {
    const axis = j + r - c.shape.length;
    if (c.shape[j] !== (axis === 1 ? C : 1)) return undefined;
  }
  const out = new Float64Array(C);
  for (let i = 0; i < C; i++) out[i] = c.get(i);
  return out;
}

/** The affine node `n` computes (Mul/Add/Sub by a per-channel constant, inference BN), or undefined. */
function affineOf(g: Graph, n: Node): ChannelAffine | undefined {
  if (n.domain !== '' || n.outputs.length < 1) return undefined;
  if (n.op === 'BatchNormalization') {
    if (n.inputs.length !== 5 || n.inputs.some((v) => v === null) || n.attrs['training_mode'] === 1) return undefined;
    if (n.outputs.slice(1).some((o) => g.useCount(o) > 0 || g.outputs.includes(o))) return undefined;
    if (opsetOf(n, g) < 9 && n.attrs['spatial'] === 0) return undefined;
    const x = n.inputs[0]!;
    const C = channels(g, x);
    const ps = n.inputs.slice(1).map((v) => g.constOf(v));
    if (C === undefined || ps.some((p) => !p || p.size !== C)) return undefined;
    const [gamma, beta, mean, variance] = ps as Tensor[];
    const eps = typeof n.attrs['epsilon'] === 'number' ? n.attrs['epsilon'] : 1e-5;
    const s = new Float64Array(C);
    const t = new Float64Array(C);
    for (let i = 0; i < C; i++) {
      s[i] = gamma!.get(i) / Math.sqrt(Math.fround(variance!.get(i) + eps));
      t[i] = beta!.get(i) - mean!.get(i) * s[i]!;
    }
    return { x, s, t };
  }
  if ((n.op !== 'Mul' && n.op !== 'Add' && n.op !== 'Sub') || n.inputs.length !== 2 || n.outputs.length !== 1) return undefined;
  const [a, b] = n.inputs as [ValueId | null, ValueId | null];
  if (a === null || b === null) return undefined;
  const ca = g.constOf(a);
  const cb = g.constOf(b);
  if ((ca === undefined) === (cb === undefined)) return undefined;
  if (n.op === 'Sub' && ca) return undefined; // c - x is not x * 1 + t
  const x = ca ? b : a;
  const v = channelVector(g, x, (ca ?? cb)!);
  if (!v) return undefined;
  const ys = g.typeOf(n.outputs[0]!).shape;
  const xs = g.typeOf(x).shape;
  if (ys.length !== xs.length || ys.some((d, i) => d !== xs[i])) return undefined;
  if (n.op === 'Mul') return { x, s: v };
  return { x, t: n.op === 'Sub' ? v.map((u) => -u) : v };
}

/**
 * Rewrites every standalone per-channel affine of `g` (in place) into a depthwise 1x1 Conv; see
 * the file comment. Returns the names of the new Conv nodes (each keeps the affine's node name).
 * @param g float graph (shapes inferred)
 */
export function affinesToDepthwise(g: Graph): string[] {
  const done: string[] = [];
  const uses = g.uses();
  for (const n of g.orderedNodes()) {
    if (!g.nodes.has(n.id)) continue;
    const a = affineOf(g, n);
    if (!a) continue;
    let last = n;
    let { s, t } = a;
    if (s && !t && n.op === 'Mul') {
      // Mul then Add/Sub by a per-channel constant: one conv with a bias
      const u = uses.get(n.outputs[0]!) ?? [];
      const next = u.length === 1 && !g.outputs.includes(n.outputs[0]!) ? u[0]! : undefined;
      const b = next && (next.op === 'Add' || next.op === 'Sub') ? affineOf(g, next) : undefined;
      if (next && b && b.x === n.outputs[0] && b.t) {
        t = b.t;
        last = next;
      }
    }
    const C = s?.length ?? t!.length;
    const r = g.typeOf(a.x).shape.length;
    s ??= new Float64Array(C).fill(1);
    const w = Tensor.from('f32', [C, 1, ...new Array<number>(r - 2).fill(1)], Array.from(s));
    const inputs: ValueId[] = [a.x, g.addConst(`${n.name}.channel_scale`, w).id];
    if (t) inputs.push(g.addConst(`${n.name}.channel_shift`, Tensor.from('f32', [C], Array.from(t))).id);
    const out = last.outputs[0]!;
    g.addNode({ op: 'Conv', inputs, outputs: [out], name: n.name,
      attrs: { group: C, kernel_shape: new Array<number>(r - 2).fill(1) } }, n.id);
    g.removeNode(n.id);
    if (last !== n) g.removeNode(last.id);
    done.push(n.name);
  }
  if (done.length > 0) {
    g.toposort();
    g.removeUnusedValues();
    inferShapes(g);
  }
  return done;
}
