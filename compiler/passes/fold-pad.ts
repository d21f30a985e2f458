/**
 * fold-pad: a constant-mode Pad that only pads spatial axes (axes >= 2, non-negative amounts) and
 * feeds a single windowed consumer is folded into the consumer's `pads` attribute, where the
 * consumer's own padding value equals the Pad's fill value:
 *
 * - Conv: implicit pads are zeros, so Pad value must be 0; pads' = pads + Pad's spatial pads.
 * - AveragePool: with count_include_pad=1 (and ceil_mode=0) padded zeros count in the divisor just
 *   as Pad's explicit zeros do; value must be 0. A consumer with count_include_pad=0 and no pads of
 *   its own is switched to count_include_pad=1 (it then sees the same zeros in the same windows).
 * - MaxPool: implicit pads never win the max (-inf), so only a Pad of value -inf folds (and only
 *   when the Indices output is unused: indices would count the padded positions).
 *
 * The consumer must have auto_pad NOTSET (or VALID, which is pads of 0). ConvTranspose is not a
 * target: its pads crop the output and cannot express padding the input.
 * Pad(x) -> Conv(x', W) becomes Conv(x, W, pads = p_conv + p_pad).
 */
import { Graph, Node } from '../ir/graph.js';
import { Pass, PassCtx, runRules } from './pass.js';
import { Rule, RewriteCtx, producerIs, singleUse } from '../rewrite/pattern.js';
import { opsetOf } from '../ops/registry.js';
import { resolvePads } from '../ops/shape.js';

/** Spatial [begin..., end...] pads and fill value of a foldable Pad, or undefined. */
function padOf(g: Graph, pad: Node, ctx: RewriteCtx): { pads: number[]; value: number } | undefined {
  if (pad.outputs.length !== 1 || (pad.domain !== '' && pad.domain !== 'ai.onnx')) return undefined;
  const mode = pad.attrs['mode'];
  if (mode !== undefined && mode !== 'constant') return undefined;
  const x = pad.inputs[0];
  if (x == null || !singleUse(g, ctx, pad.outputs[0]!)) return undefined;
  const rank = g.typeOf(x).shape.length;
  if (rank < 3) return undefined;
  let list: number[] | undefined;
  let value = 0;
  let axes: number[] | undefined;
  if (opsetOf(pad, g) < 11) {
    const p = pad.attrs['pads'] ?? pad.attrs['paddings'];
    if (!Array.isArray(p)) return undefined;
    list = p as number[];
    value = typeof pad.attrs['value'] === 'number' ? pad.attrs['value'] : 0;
  } else {
    list = g.constOf(pad.inputs[1])?.toNumbers();
    if (!list) return undefined;
    const cv = pad.inputs[2];
    if (cv != null) {
      const t = g.constOf(cv);
      if (!t || t.size > 1) return undefined;
      if (t.size === 1) value = t.get(0);
    }
    const ax = pad.inputs[3];
    if (ax != null) {
      axes = g.constOf(ax)?.toNumbers();
      if (!axes) return undefined;
    }
  }
  if (axes) {
    axes = axes.map((a) => (a < 0 ? a + rank : a));
    if (axes.some((a) => a < 0 || a >= rank) || new Set(axes).size !== axes.length) return undefined;
  }
  if (list.length !== 2 * (axes ? axes.length : rank)) return undefined;
  const [b, e] = resolvePads(rank, list, axes);
  if (b[0] !== 0 || e[0] !== 0 || b[1] !== 0 || e[1] !== 0) return undefined;
  if (b.some((v) => v < 0) || e.some((v) => v < 0)) return undefined;
  return { pads: [...b.slice(2), ...e.slice(2)], value };
}

// Conv / AveragePool / MaxPool (Pad(x, p, v)) -> the same op on x with pads += p (v = its implicit pad value)
const padIntoWindow: Rule = {
  name: 'pad-into-window',
  ops: ['Conv', 'AveragePool', 'MaxPool'],
  rewrite(n, g, ctx) {
    const pad = producerIs(g, n.inputs[0], 'Pad');
    if (!pad) return false;
    const p = padOf(g, pad, ctx);
    if (!p) return false;
    const nd = p.pads.length / 2;
    const autoPad = n.attrs['auto_pad'];
    if (autoPad !== undefined && autoPad !== 'NOTSET' && autoPad !== 'VALID') return false;
    const own = autoPad === 'VALID' || n.attrs['pads'] === undefined ? new Array<number>(2 * nd).fill(0) : n.attrs['pads'];
    if (!Array.isArray(own) || own.length !== 2 * nd) return false;
    const ownPads = own as number[];
    const attrs = { ...n.attrs };
    if (n.op === 'Conv') {
      if (p.value !== 0) return false;
    } else if (n.op === 'AveragePool') {
      if (p.value !== 0 || n.attrs['ceil_mode'] === 1) return false;
      if (n.attrs['count_include_pad'] !== 1) {
        if (ownPads.some((v) => v !== 0)) return false;
        attrs['count_include_pad'] = 1;
      }
    } else {
      if (p.value !== -Infinity || n.attrs['ceil_mode'] === 1) return false;
      if (n.outputs.length > 1 && n.outputs.slice(1).some((o) => ctx.useCount(o) > 0)) return false;
    }
    delete attrs['auto_pad'];
    attrs['pads'] = ownPads.map((v, i) => v + p.pads[i]!);
    n.attrs = attrs;
    n.inputs = [pad.inputs[0]!, ...n.inputs.slice(1)];
    g.removeNode(pad.id);
    return true;
  },
};

export const FOLD_PAD_RULES: readonly Rule[] = [padIntoWindow];

export const foldPad: Pass = {
  name: 'fold-pad',
  description: 'fold constant spatial Pad into the pads of a following Conv, AveragePool or MaxPool',
  run(g: Graph, ctx: PassCtx): boolean {
    return runRules(g, FOLD_PAD_RULES, ctx);
  },
};
