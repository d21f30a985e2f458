/**
 * remove-identity: removes nodes that return their input unchanged: Identity, Dropout in
 * inference, and no-op Reshape/Transpose/Cast/Pad/Slice/Expand/Squeeze/Unsqueeze/Flatten.
 * "No-op" is decided from types and constant operands only (shapes must be fully known).
 */
import { Graph, Node } from '../ir/graph.js';
import { Shape, sameShape } from '../ir/tensor.js';
import { Pass, PassCtx, runRules } from './pass.js';
import { Rule, RewriteCtx, bypass, constNumbers } from '../rewrite/pattern.js';
import { opsetOf } from '../ops/registry.js';

function concrete(s: Shape): boolean {
  return s.every((d) => typeof d === 'number');
}

/** True when output 0 has exactly the input-0 type (dtype and a fully known, equal shape). */
function sameTypeAsInput(g: Graph, n: Node): boolean {
  const x = n.inputs[0];
  if (x === null || x === undefined) return false;
  const a = g.typeOf(x);
  const b = g.typeOf(n.outputs[0]!);
  return a.dtype === b.dtype && concrete(a.shape) && sameShape(a.shape, b.shape);
}

/** Removes `n`, rewiring output 0 to input 0. */
function forward(g: Graph, n: Node): boolean {
  return bypass(g, n, n.outputs[0]!, n.inputs[0]!);
}

// Identity(x) -> x
const identity: Rule = {
  name: 'identity',
  ops: ['Identity'],
  rewrite: (n, g) => n.inputs[0] !== null && forward(g, n),
};

// Dropout(x, ratio, training_mode=false) -> x   (the mask output must be unused)
const dropout: Rule = {
  name: 'dropout-inference',
  ops: ['Dropout'],
  rewrite(n, g, ctx: RewriteCtx) {
    const mask = n.outputs[1];
    if (mask !== undefined && (ctx.useCount(mask) > 0)) return false;
    const tm = n.inputs[2];
    if (tm !== undefined && tm !== null) {
      const v = constNumbers(g, tm);
      if (!v || v[0] !== 0) return false;
    }
    if (opsetOf(n, g) < 7 && n.attrs['is_test'] === 0) return false;
    return forward(g, n);
  },
};

// Transpose(x, perm=[0,1,..,r-1]) -> x
const transposeId: Rule = {
  name: 'transpose-identity',
  ops: ['Transpose'],
  rewrite(n, g) {
    const perm = n.attrs['perm'];
    const rank = g.typeOf(n.inputs[0]!).shape.length;
    if (!Array.isArray(perm)) return rank <= 1 && forward(g, n);
    return (perm as number[]).every((p, i) => p === i) && forward(g, n);
  },
};

// Cast(x: T, to=T) -> x
const castId: Rule = {
  name: 'cast-identity',
  ops: ['Cast'],
  rewrite: (n, g) => g.typeOf(n.inputs[0]!).dtype === g.typeOf(n.outputs[0]!).dtype && forward(g, n),
};

// Pad(x, pads=0...) -> x   (any mode: nothing is padded)
const padZero: Rule = {
  name: 'pad-zero',
  ops: ['Pad'],
  rewrite(n, g) {
    const pads = opsetOf(n, g) < 11 ? (n.attrs['pads'] as number[] | undefined) : constNumbers(g, n.inputs[1]);
    if (!pads || pads.some((p) => p !== 0)) return false;
    return forward(g, n);
  },
};

// Reshape/Expand/Squeeze/Unsqueeze/Flatten(x) -> x when the output type equals the input type
const sameShapeNoop: Rule = {
  name: 'same-shape-noop',
  ops: ['Reshape', 'Expand', 'Squeeze', 'Unsqueeze', 'Flatten'],
  rewrite: (n, g) => n.outputs.length === 1 && sameTypeAsInput(g, n) && forward(g, n),
};

// Slice(x, starts, ends, axes, steps=1) -> x when the output shape equals the input shape
// (with unit steps an unchanged extent means start 0 on every axis; a -1 step reverses instead)
const sliceAll: Rule = {
  name: 'slice-all',
  ops: ['Slice'],
  rewrite(n, g) {
    if (!sameTypeAsInput(g, n)) return false;
    const steps = n.inputs[4];
    if (steps != null) {
      const st = constNumbers(g, steps);
      if (!st || st.some((v) => v !== 1)) return false;
    }
    return forward(g, n);
  },
};

export const REMOVE_IDENTITY_RULES: readonly Rule[] = [identity, dropout, transposeId, castId, padZero, sameShapeNoop, sliceAll];

export const removeIdentity: Pass = {
  name: 'remove-identity',
  description: 'remove Identity, inference Dropout and no-op shape/cast/pad nodes',
  run(g: Graph, ctx: PassCtx): boolean {
    return runRules(g, REMOVE_IDENTITY_RULES, ctx);
  },
};
