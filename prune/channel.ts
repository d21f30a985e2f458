/**
 * Structured channel (filter) pruning that shrinks the graph (Li et al. 2017 "Pruning Filters for
 * Efficient ConvNets"; Torch-Pruning's DepGraph; NNCF filter pruning), post-training.
 *
 * ## Dependency analysis (channel spaces)
 * A *channel space* is one axis of one value: the output channels of a Conv (axis 1), the features
 * of a Gemm/MatMul output (last axis), and whatever those channels become downstream. Every index
 * of every space is an *element*; ops that tie indices together union their elements
 * (union-find, like DepGraph's dependency groups):
 * - element-wise ops (Relu, Add, Mul, Clip, ...): out[i] ~ in_k[i] for every operand that has
 *   the channel axis (residual Add / SE Mul partners are thereby pruned consistently; constant
 *   operands with a per-channel axis are sliced; broadcast operands are left alone);
 * - BatchNormalization/InstanceNormalization (params sliced), pooling, Reduce* over other axes,
 *   Squeeze/Unsqueeze/Transpose (axis moves), Reshape that keeps the leading axes: out[i] ~ in[i];
 * - Concat on the channel axis: out[off_k + i] ~ in_k[i] (each input pruned on its own, the
 *   consumer's weight slice follows); Concat on another axis: identity;
 * - Flatten / flattening Reshape: out[p*C*S + c*S + s] ~ in[c] (the spatial block of channel c);
 * - depthwise Conv (group = C): out[c*m + j] ~ in[c] (its filters and `group` follow).
 * A *unit* (one equivalence class) is what gets removed: all its elements at once. Its producers
 * are weight layers (their output filters are removed: W rows, bias); its consumers are weight
 * layers (their input slices are removed: W columns/input channels).
 *
 * ## Safety
 * Elements in a space that any node cannot rewrite (graph input or output, Slice/Split/Softmax/
 * LayerNorm on the channel axis, grouped convs, an unknown op, a non-constant BN parameter...) are
 * blocked, and so is every unit that contains one: those channels stay. Each blocked producer is
 * listed in `skipped` with the reason. After the edit, shapes are re-inferred and `verify()` runs.
 *
 * ## Selection
 * Units are grouped by the set of producer layers they contain (one conv's filters; a residual
 * chain's shared channels). In each group round(ratio * n) units with the lowest importance go,
 * keeping at least `minChannels` (default 1). Importance:
 * - 'l2' (default without calibration; NNCF, Torch-Pruning) / 'l1' (Li et al.): the norm of the
 *   producer filters, summed over the unit's producers;
 * - 'activation' (default with `calib`): sum over the unit's elements e at consumer inputs of
 *   E|x_e| * ||W_consumer[:, e]||_2, i.e. the mean activation magnitude weighted by how strongly the
 *   consumer reads it. With bias compensation on, std(x_e) replaces E|x_e|: the mean part of a
 *   removed channel is restored by the compensation, only its variation is lost (a constant
 *   channel costs nothing).
 * With calibration data, **bias compensation** (default on) folds the removed channels' mean
 * activation into each consumer's bias: b'[o] += sum_{e removed} mean(x_e) * sum_k W[o, e, k]
 * (exact for Gemm/MatMul and for constant channels away from conv padding).
 */
import { Graph, Node, ValueId } from '../compiler/ir/graph.js';
import { Tensor, numel } from '../compiler/ir/tensor.js';
import { inferShapes } from '../compiler/interp/interp.js';
import { verify } from '../compiler/ir/verify.js';
import {
  ChannelStats, WeightLayer, channelStats, countNonzero, firstLayers, setConstInput, takeAlong, weightLayerOf,
} from './common.js';
import { LayerPruneInfo, SkipInfo } from './magnitude.js';

export type ChannelCriterion = 'l1' | 'l2' | 'activation';

/** Start of the blocking reason of the first conv's channel space (the conv's name follows). */
const FIRST_CONV_REASON = 'first conv layer';

export interface ChannelOptions {
  /** Fraction of the prunable channels of each group to remove, 0 <= ratio < 1. */
  ratio: number;
  /** Calibration inputs (one tensor per graph input, samples along axis 0). */
  calib?: readonly Tensor[];
  /** Importance criterion (default 'activation' with calib, else 'l2'). */
  criterion?: ChannelCriterion;
  /** Fold removed channels' mean activations into consumer biases (default true with calib). */
  biasCompensation?: boolean;
  /** Keep the first Conv's filters (NNCF `prune_first_conv: false`; default true). */
  skipFirstConv?: boolean;
  /** Node names or weight names whose channels (in and out) stay. */
  exclude?: readonly string[];
  /** Fewest channels a group keeps (default 1). */
  minChannels?: number;
  /** Round the kept channel count of each group up to a multiple of this (SIMD lanes; default 1). */
  channelMultiple?: number;
  /**
   * Re-measure calibration statistics (and filter norms) after each group is pruned, in execution
   * order (default false: one-shot, everything from the unpruned graph, which scored better on
   * the trained test models).
   */
  sequential?: boolean;
}

export interface ChannelLayerInfo extends LayerPruneInfo {
  /** Output channels (features) before and after; input channels before and after. */
  outBefore: number;
  outAfter: number;
  inBefore: number;
  inAfter: number;
}

export interface ChannelResult {
  layers: ChannelLayerInfo[];
  skipped: SkipInfo[];
  notes: string[];
  /** Channel units examined / removed. */
  units: number;
  removed: number;
}

interface Space {
  value: ValueId;
  axis: number;
  size: number;
  base: number;
}

type Edit =
  | { kind: 'source'; layer: WeightLayer; space: Space }
  | { kind: 'terminal'; layer: WeightLayer; space: Space }
  | { kind: 'depthwise'; node: Node; inSpace: Space; outSpace: Space }
  | { kind: 'const'; node: Node; input: number; axis: number; space: Space }
  | { kind: 'reshape'; node: Node; dim: number; space: Space };

/** Unary element-wise ops (their extra inputs, if any, are constants such as Clip bounds). */
const UNARY = new Set([
  'Relu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'HardSigmoid', 'HardSwish', 'Elu', 'Selu', 'Celu', 'Softplus', 'Softsign',
  'Mish', 'Gelu', 'ThresholdedRelu', 'Abs', 'Neg', 'Exp', 'Log', 'Sqrt', 'Reciprocal', 'Erf', 'Identity', 'Dropout',
  'Floor', 'Ceil', 'Round', 'Sign', 'Sin', 'Cos', 'Clip', 'Cast', 'Swish',
]);
/** Broadcasting element-wise ops. */
const BINARY = new Set(['Add', 'Sub', 'Mul', 'Div', 'Max', 'Min', 'Sum', 'Mean', 'PRelu', 'Pow']);
const POOLS = new Set(['MaxPool', 'AveragePool', 'LpPool', 'GlobalAveragePool', 'GlobalMaxPool', 'GlobalLpPool']);
const REDUCE = new Set([
  'ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceSum', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum',
  'ReduceLogSumExp', 'ReduceSumSquare',
]);

function concreteShape(g: Graph, v: ValueId): number[] | undefined {
  const s = g.typeOf(v).shape;
  return s.every((d) => typeof d === 'number') ? (s as number[]) : undefined;
}

/** Integer list from an attribute or a constant input. */
function intsOf(g: Graph, n: Node, attr: string, input: number): number[] | undefined {
  const a = n.attrs[attr];
  if (Array.isArray(a)) return a as number[];
  const id = n.inputs[input];
  const t = id === null || id === undefined ? undefined : g.consts.get(id);
  return t ? t.toNumbers() : undefined;
}

/** The channel dependency graph of one model (see the file comment). */
class ChannelGraph {
  readonly spaces = new Map<ValueId, Space>();
  private parent: number[] = [];
  readonly blocked: (string | undefined)[] = [];
  private queue: Space[] = [];
  private visited = new Set<number>();
  /** Nodes that could not be expanded, with the reason (later visits block their spaces too). */
  private failed = new Map<number, string>();
  readonly edits: Edit[] = [];
  private uses: Map<ValueId, Node[]>;
  /** Weight layers whose output channels could not even be tracked. */
  readonly unseeded: SkipInfo[] = [];

  constructor(readonly g: Graph, readonly exclude: ReadonlySet<string>) {
    this.uses = g.uses();
  }

  find(e: number): number {
    let r = e;
    while (this.parent[r] !== r) r = this.parent[r]!;
    while (this.parent[e] !== r) {
      const nx = this.parent[e]!;
      this.parent[e] = r;
      e = nx;
    }
    return r;
  }
  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }

  /** The space of `v` on `axis` (created and queued on first use); null when impossible. */
  space(v: ValueId, axis: number): Space | null {
    const s = this.spaces.get(v);
    if (s) {
      if (s.axis === axis) return s;
      this.blockAll(s, `channel axis ${s.axis} and ${axis} meet on "${this.g.value(v).name}"`);
      return null;
    }
    const shape = concreteShape(this.g, v);
    if (!shape || axis < 0 || axis >= shape.length) return null;
    const size = shape[axis]!;
    const sp: Space = { value: v, axis, size, base: this.parent.length };
    for (let i = 0; i < size; i++) {
      this.parent.push(sp.base + i);
      this.blocked.push(undefined);
    }
    this.spaces.set(v, sp);
    this.queue.push(sp);
    return sp;
  }

  blockAll(s: Space, reason: string): void {
    for (let i = 0; i < s.size; i++) this.blocked[s.base + i] ??= reason;
  }

  private link(a: Space, b: Space): void {
    for (let i = 0; i < a.size; i++) this.union(a.base + i, b.base + i);
  }

  /** Seeds every weight layer's output space and runs the worklist to a fixpoint. */
  build(): void {
    for (const n of this.g.orderedNodes()) {
      const l = weightLayerOf(this.g, n);
      if (l && !isDepthwise(this.g, l)) {
        const ax = outputAxis(this.g, l);
        if (ax === undefined) this.unseeded.push({ node: n.name, reason: `"${n.name}" (${n.op}) is a grouped convolution` });
        else if (!this.space(n.outputs[0]!, ax)) this.unseeded.push({ node: n.name, reason: 'output shape is not static' });
      }
    }
    while (this.queue.length) {
      const s = this.queue.shift()!;
      this.backward(s);
      this.forward(s);
    }
  }

  private backward(s: Space): void {
    const g = this.g;
    if (g.inputs.includes(s.value)) return this.blockAll(s, 'channels come from a graph input');
    const p = g.producerOf(s.value);
    if (!p) return this.blockAll(s, 'channels of a constant');
    this.visit(p, s);
  }

  private forward(s: Space): void {
    if (this.g.outputs.includes(s.value)) this.blockAll(s, `"${this.g.value(s.value).name}" is a graph output`);
    for (const n of this.uses.get(s.value) ?? []) this.visit(n, s);
  }

  /** Handles one node touching space `s` (each coupling node is expanded once). */
  private visit(n: Node, s: Space): void {
    const g = this.g;
    if (this.exclude.has(n.name)) return this.blockAll(s, `"${n.name}" is excluded`);
    const l = weightLayerOf(g, n);
    if (l && !isDepthwise(g, l)) {
      if (this.exclude.has(g.value(l.weight).name)) return this.blockAll(s, `"${n.name}" is excluded`);
      if (n.outputs[0] === s.value) {
        const ax = outputAxis(g, l);
        if (ax === undefined) return this.blockAll(s, `"${n.name}" (${n.op}) is a grouped convolution`);
        if (ax !== s.axis) return this.blockAll(s, `"${n.name}" (${n.op}) output axis differs`);
        if (!this.visited.has(n.id * 2)) {
          this.visited.add(n.id * 2);
          this.edits.push({ kind: 'source', layer: l, space: s });
        }
        return;
      }
      if (n.inputs[0] === s.value && n.inputs.indexOf(s.value, 1) < 0) {
        const ax = inputAxis(g, l);
        if (ax === undefined) return this.blockAll(s, `"${n.name}" (${n.op}) is a grouped convolution`);
        if (ax !== s.axis) return this.blockAll(s, `"${n.name}" (${n.op}) cannot drop input channels on this axis`);
        if (!this.visited.has(n.id * 2 + 1)) {
          this.visited.add(n.id * 2 + 1);
          this.edits.push({ kind: 'terminal', layer: l, space: s });
        }
        return;
      }
      return this.blockAll(s, `"${n.name}" (${n.op}) reads the channels as a non-data operand`);
    }
    const prior = this.failed.get(n.id);
    if (prior !== undefined) return this.blockAll(s, prior);
    if (this.visited.has(n.id * 2)) return;
    this.visited.add(n.id * 2);
    const reason = this.expand(n, s);
    if (reason !== null) {
      this.failed.set(n.id, reason);
      this.blockAll(s, reason);
      for (const v of [...n.inputs, ...n.outputs]) {
        const sp = v === null ? undefined : this.spaces.get(v);
        if (sp) this.blockAll(sp, reason);
      }
    }
  }

  /** Couples the spaces around a non-weight node; returns a reason when it cannot. */
  private expand(n: Node, s: Space): string | null {
    const g = this.g;
    const why = `"${n.name}" (${n.op}) cannot be rewritten on the channel axis`;
    const op = n.domain === '' || n.domain === 'ai.onnx' ? n.op : `${n.domain}.${n.op}`;
    const out = n.outputs[0];
    if (out === undefined) return why;
    // Every extra output must be unused.
    for (const o of n.outputs.slice(1)) if ((this.uses.get(o)?.length ?? 0) > 0 || g.outputs.includes(o)) return `${why}: second output used`;
    const outShape = concreteShape(g, out);
    if (!outShape) return `"${n.name}" (${n.op}) has a symbolic output shape`;
    const fromOut = s.value === out;

    if (UNARY.has(op) || BINARY.has(op)) return this.elementwise(n, s, fromOut, outShape);
    if (op === 'BatchNormalization' || op === 'InstanceNormalization') {
      if (s.axis !== 1) return why;
      const i = this.space(n.inputs[0]!, 1);
      const o = this.space(out, 1);
      if (!i || !o) return why;
      this.link(i, o);
      const last = op === 'BatchNormalization' ? 4 : 2;
      for (let k = 1; k <= last; k++) {
        const id = n.inputs[k];
        if (id === null || id === undefined || !g.consts.has(id)) return `${why}: parameter ${k} is not a constant`;
        this.edits.push({ kind: 'const', node: n, input: k, axis: 0, space: o });
      }
      return null;
    }
    if (POOLS.has(op)) {
      if (s.axis !== 1) return why;
      return this.identity(n, 1, 1);
    }
    const inShape = n.inputs[0] !== null && n.inputs[0] !== undefined ? concreteShape(g, n.inputs[0]) : undefined;
    if (!inShape) return why;
    if (REDUCE.has(op)) {
      let axes = intsOf(g, n, 'axes', 1);
      const keep = n.attrs['keepdims'] !== 0;
      if (!axes || axes.length === 0) {
        if (n.attrs['noop_with_empty_axes'] === 1) axes = [];
        else return `${why}: reduces every axis`;
      }
      const red = axes.map((a) => (a < 0 ? a + inShape.length : a));
      const map = (a: number) => (red.includes(a) ? -1 : keep ? a : a - red.filter((r) => r < a).length);
      return this.axisMap(n, s, fromOut, inShape.length, map, why);
    }
    if (op === 'Squeeze' || op === 'Unsqueeze') {
      const axes = intsOf(g, n, 'axes', 1);
      if (op === 'Squeeze') {
        const sq = axes ? axes.map((a) => (a < 0 ? a + inShape.length : a)) : inShape.flatMap((d, i) => (d === 1 ? [i] : []));
        return this.axisMap(n, s, fromOut, inShape.length, (a) => (sq.includes(a) ? -1 : a - sq.filter((r) => r < a).length), why);
      }
      if (!axes) return why;
      const r = inShape.length + axes.length;
      const ins = axes.map((a) => (a < 0 ? a + r : a));
      const pos: number[] = [];
      for (let i = 0; i < r; i++) if (!ins.includes(i)) pos.push(i);
      return this.axisMap(n, s, fromOut, inShape.length, (a) => pos[a] ?? -1, why);
    }
    if (op === 'Pad') {
      // pads on other axes only: out[i] ~ in[i]
      if (n.inputs.length > 3 && n.inputs[3] !== null) return `${why}: Pad with axes`;
      const pads = intsOf(g, n, 'pads', 1);
      const r = inShape.length;
      if (!pads || pads.length !== 2 * r) return `${why}: pads are not constant`;
      return this.axisMap(n, s, fromOut, r, (a) => (pads[a] === 0 && pads[a + r] === 0 ? a : -1), why);
    }
    if (op === 'Transpose') {
      const perm = Array.isArray(n.attrs['perm']) ? (n.attrs['perm'] as number[]) : inShape.map((_, i) => inShape.length - 1 - i);
      return this.axisMap(n, s, fromOut, inShape.length, (a) => perm.indexOf(a), why);
    }
    if (op === 'Concat') {
      const rank = outShape.length;
      const ax0 = typeof n.attrs['axis'] === 'number' ? (n.attrs['axis'] as number) : 0;
      const ax = ax0 < 0 ? ax0 + rank : ax0;
      const o = this.space(out, s.axis);
      if (!o) return why;
      let off = 0;
      for (const id of n.inputs) {
        if (id === null) continue;
        const sh = concreteShape(g, id);
        if (!sh) return why;
        if (s.axis === ax) {
          const d = sh[ax]!;
          if (g.consts.has(id)) {
            for (let i = 0; i < d; i++) this.blocked[o.base + off + i] ??= `"${n.name}" concatenates a constant`;
          } else {
            const sp = this.space(id, ax);
            if (!sp) return why;
            for (let i = 0; i < d; i++) this.union(sp.base + i, o.base + off + i);
          }
          off += d;
        } else if (g.consts.has(id)) {
          this.edits.push({ kind: 'const', node: n, input: n.inputs.indexOf(id), axis: s.axis, space: o });
        } else {
          const sp = this.space(id, s.axis);
          if (!sp) return why;
          this.link(sp, o);
        }
      }
      return null;
    }
    if (op === 'Flatten') {
      const k0 = typeof n.attrs['axis'] === 'number' ? (n.attrs['axis'] as number) : 1;
      const k = k0 < 0 ? k0 + inShape.length : k0;
      if (k === 0) return why;
      const a = fromOut ? (s.axis === 1 ? k : -1) : s.axis;
      if (a < k) return `${why}: the channel axis is merged with the batch axis`;
      return this.flatten(n, inShape, a, k, 1, false);
    }
    if (op === 'Reshape') {
      if (n.attrs['allowzero'] === 1) return why;
      const shapeId = n.inputs[1];
      if (shapeId === null || shapeId === undefined || !g.consts.has(shapeId)) return `${why}: shape is not a constant`;
      const a = s.axis;
      // prefix-preserving: out[0..a] == in[0..a]
      if (a < outShape.length && a < inShape.length && inShape.slice(0, a + 1).every((d, i) => d === outShape[i])) {
        const i = this.space(n.inputs[0]!, a);
        const o = this.space(out, a);
        if (!i || !o) return why;
        this.link(i, o);
        this.edits.push({ kind: 'reshape', node: n, dim: a, space: i });
        return null;
      }
      // flattening: out = [in[0..a-1], prod(in[a..])]
      if (a > 0 && outShape.length === a + 1 && inShape.slice(0, a).every((d, i) => d === outShape[i])
        && outShape[a] === numel(inShape.slice(a))) {
        return this.flatten(n, inShape, a, a, a, true);
      }
      return `${why}: reshape mixes the channel axis with others`;
    }
    if ((op === 'Conv' || op === 'edgec.FusedConv')) {
      const l = weightLayerOf(g, n);
      if (l && isDepthwise(g, l)) return this.depthwise(n, l, s, fromOut);
      return `"${n.name}" (${n.op}) is a grouped convolution`;
    }
    return why;
  }

  /** Element-wise op with numpy broadcasting: out[i] ~ in_k[i] on the aligned channel axis. */
  private elementwise(n: Node, s: Space, fromOut: boolean, outShape: number[]): string | null {
    const g = this.g;
    const why = `"${n.name}" (${n.op}) cannot be rewritten on the channel axis`;
    const rank = outShape.length;
    let A = s.axis;
    if (!fromOut) {
      const k = n.inputs.indexOf(s.value);
      const r = g.typeOf(n.inputs[k]!).shape.length;
      A = s.axis + (rank - r);
    }
    const C = outShape[A]!;
    const o = this.space(n.outputs[0]!, A);
    if (!o) return why;
    const data = UNARY.has(n.op) ? 1 : n.inputs.length;
    for (let k = 0; k < n.inputs.length; k++) {
      const id = n.inputs[k];
      if (id === null || id === undefined) continue;
      const sh = g.typeOf(id).shape;
      const ax = A - (rank - sh.length);
      if (ax < 0) continue;
      const d = sh[ax];
      if (d === 1 && C !== 1) continue;
      if (d !== C) return why;
      if (g.consts.has(id)) {
        this.edits.push({ kind: 'const', node: n, input: k, axis: ax, space: o });
      } else {
        if (k >= data) return `${why}: non-constant parameter`;
        const sp = this.space(id, ax);
        if (!sp) return why;
        this.link(sp, o);
      }
    }
    return null;
  }

  /** Single-data-input op whose axis `a` of the input becomes axis `map(a)` of the output (-1: gone). */
  private axisMap(n: Node, s: Space, fromOut: boolean, inRank: number, map: (a: number) => number, why: string): string | null {
    let a = s.axis;
    if (fromOut) {
      a = -1;
      for (let i = 0; i < inRank; i++) if (map(i) === s.axis) a = i;
    }
    if (a < 0) return why;
    const b = map(a);
    if (b < 0) return `${why}: the op removes the channel axis`;
    return this.identity(n, a, b);
  }

  private identity(n: Node, a: number, b: number): string | null {
    const i = this.space(n.inputs[0]!, a);
    const o = this.space(n.outputs[0]!, b);
    if (!i || !o) return `"${n.name}" (${n.op}) cannot be rewritten on the channel axis`;
    if (i.size !== o.size) return `"${n.name}" (${n.op}) changes the channel count`;
    this.link(i, o);
    return null;
  }

  /** Flatten-like: input axis `a` (flattening from axis `k`) becomes blocks of output axis `outAxis`. */
  private flatten(n: Node, inShape: number[], a: number, k: number, outAxis: number, reshape: boolean): string | null {
    const P = numel(inShape.slice(k, a));
    const C = inShape[a]!;
    const S = numel(inShape.slice(a + 1));
    const i = this.space(n.inputs[0]!, a);
    const o = this.space(n.outputs[0]!, outAxis);
    if (!i || !o || o.size !== P * C * S) return `"${n.name}" (${n.op}) cannot be rewritten on the channel axis`;
    for (let p = 0; p < P; p++) {
      for (let c = 0; c < C; c++) for (let x = 0; x < S; x++) this.union(i.base + c, o.base + p * C * S + c * S + x);
    }
    if (reshape) this.edits.push({ kind: 'reshape', node: n, dim: outAxis, space: o });
    return null;
  }

  private depthwise(n: Node, l: WeightLayer, s: Space, fromOut: boolean): string | null {
    const g = this.g;
    if (s.axis !== 1) return `"${n.name}" (${n.op}) depthwise conv on another axis`;
    const i = this.space(n.inputs[0]!, 1);
    const o = this.space(n.outputs[0]!, 1);
    if (!i || !o) return `"${n.name}" (${n.op}) cannot be rewritten`;
    void fromOut;
    const m = o.size / i.size;
    if (!Number.isInteger(m)) return `"${n.name}" (${n.op}) channel multiplier is not an integer`;
    const b = l.biasInput !== undefined ? n.inputs[l.biasInput] : null;
    if (b !== null && b !== undefined && !g.consts.has(b)) return `"${n.name}" (${n.op}) bias is not a constant`;
    for (let c = 0; c < i.size; c++) for (let j = 0; j < m; j++) this.union(i.base + c, o.base + c * m + j);
    this.edits.push({ kind: 'depthwise', node: n, inSpace: i, outSpace: o });
    return null;
  }

  /** Source spaces (weight-layer outputs) whose filters the options forbid pruning. */
  blockSources(skipFirstConv: boolean): void {
    const first = firstLayers(this.g);
    for (const e of this.edits) {
      if (e.kind !== 'source') continue;
      const n = e.layer.node;
      if (skipFirstConv && (e.layer.kind === 'conv' || e.layer.kind === 'convT') && first.has(n.id)) {
        this.blockAll(e.space, `${FIRST_CONV_REASON} "${n.name}" (skipFirstConv)`);
      }
    }
  }

  /**
   * Current position of each original index of `s` (-1: removed by an earlier group), given the
   * units removed so far.
   */
  positions(s: Space, prior: ReadonlySet<number>): Int32Array {
    const pos = new Int32Array(s.size);
    let p = 0;
    for (let i = 0; i < s.size; i++) pos[i] = prior.has(this.find(s.base + i)) ? -1 : p++;
    return pos;
  }

  /** Current positions of `s` that stay when `removed` goes, and the current size. */
  kept(s: Space, removed: ReadonlySet<number>, prior: ReadonlySet<number>): { keep: number[]; size: number } {
    const pos = this.positions(s, prior);
    const keep: number[] = [];
    let size = 0;
    for (let i = 0; i < s.size; i++) {
      if (pos[i]! < 0) continue;
      size++;
      if (!removed.has(this.find(s.base + i))) keep.push(pos[i]!);
    }
    return { keep, size };
  }
}

/** True for a depthwise conv: group = input channels > 1 and one input channel per filter. */
function isDepthwise(g: Graph, l: WeightLayer): boolean {
  if (l.kind !== 'conv' || l.group <= 1) return false;
  const w = g.consts.get(l.weight)!;
  const x = g.typeOf(l.node.inputs[0]!).shape;
  return w.shape[1] === 1 && x[1] === l.group;
}

/** Axis of the layer's output that holds its output channels (undefined: unsupported layout). */
function outputAxis(g: Graph, l: WeightLayer): number | undefined {
  const r = g.typeOf(l.node.outputs[0]!).shape.length;
  if (l.kind === 'conv' || l.kind === 'convT') return l.group === 1 ? 1 : undefined;
  if (l.kind === 'gemm') return 1;
  return r - 1;
}

/** Axis of the layer's data input that its weight reduces over (undefined: unsupported). */
export function inputAxis(g: Graph, l: WeightLayer): number | undefined {
  const r = g.typeOf(l.node.inputs[0]!).shape.length;
  if (l.kind === 'conv' || l.kind === 'convT') return l.group === 1 ? 1 : undefined;
  if (l.kind === 'gemm') return l.node.attrs['transA'] === 1 ? 0 : 1;
  return r >= 2 ? r - 1 : 0;
}

/** The current weight tensor of a layer (edits may have replaced the constant). */
function weightOf(g: Graph, l: WeightLayer): Tensor {
  return g.consts.get(l.node.inputs[l.weightInput]!)!;
}

/** Filter norms of a weight along its output axis. */
function filterNorms(w: Tensor, axis: number, p: 1 | 2): Float64Array {
  const n = w.shape[axis]!;
  const inner = numel(w.shape.slice(axis + 1));
  const outer = numel(w.shape.slice(0, axis));
  const d = w.data as ArrayLike<number>;
  const acc = new Float64Array(n);
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < n; c++) {
      const base = (o * n + c) * inner;
      for (let i = 0; i < inner; i++) acc[c]! += p === 1 ? Math.abs(d[base + i]!) : d[base + i]! ** 2;
    }
  }
  return p === 1 ? acc : acc.map(Math.sqrt);
}

/** Sum of W over every axis except `axis` and `keepAxis`: result[keep][c]. */
export function sumOver(w: Tensor, axis: number, keepAxis: number): Float64Array[] {
  const nk = w.shape[keepAxis]!;
  const nc = w.shape[axis]!;
  const out = Array.from({ length: nk }, () => new Float64Array(nc));
  const st: number[] = [];
  let acc = 1;
  for (let i = w.shape.length - 1; i >= 0; i--) {
    st[i] = acc;
    acc *= w.shape[i]!;
  }
  const d = w.data as ArrayLike<number>;
  for (let f = 0; f < d.length; f++) {
    const c = Math.floor(f / st[axis]!) % nc;
    const k = Math.floor(f / st[keepAxis]!) % nk;
    out[k]![c]! += d[f]!;
  }
  return out;
}

/**
 * Removes channels from `g` in place (see the file comment). Returns per-layer results, the
 * producers left alone with reasons, and notes (e.g. bias compensation not applied).
 * @param g graph (shapes inferred; typically after the optimization pipeline) @param opts options
 */
export function pruneChannels(g: Graph, opts: ChannelOptions): ChannelResult {
  const ratio = opts.ratio;
  const calib = opts.calib && opts.calib.length ? opts.calib : undefined;
  const criterion: ChannelCriterion = opts.criterion ?? (calib ? 'activation' : 'l2');
  const compensate = (opts.biasCompensation ?? true) && calib !== undefined;
  const minCh = Math.max(1, opts.minChannels ?? 1);
  const mult = Math.max(1, opts.channelMultiple ?? 1);
  const notes: string[] = [];
  if (criterion === 'activation' && !calib) notes.push("criterion 'activation' needs calibration data; used 'l2'");

  const cg = new ChannelGraph(g, new Set(opts.exclude ?? []));
  cg.build();
  cg.blockSources(opts.skipFirstConv ?? true);

  const sources = cg.edits.filter((e): e is Extract<Edit, { kind: 'source' }> => e.kind === 'source');
  const terminals = cg.edits.filter((e): e is Extract<Edit, { kind: 'terminal' }> => e.kind === 'terminal');

  // units: root -> producer entries
  interface Unit { root: number; sources: { layer: WeightLayer; index: number }[]; score: number; blocked?: string; first: number }
  const units = new Map<number, Unit>();
  const unitOf = (e: number): Unit => {
    const r = cg.find(e);
    let u = units.get(r);
    if (!u) units.set(r, (u = { root: r, sources: [], score: 0, first: e }));
    return u;
  };
  cg.blocked.forEach((reason, e) => {
    if (reason !== undefined) unitOf(e).blocked ??= reason;
  });
  for (const s of sources) for (let i = 0; i < s.space.size; i++) unitOf(s.space.base + i).sources.push({ layer: s.layer, index: i });

  // A producer coupled to the first conv (a residual chain, a concat partner) is kept because of
  // it, not because it is the first conv itself: say which.
  const reasonFor = (layer: WeightLayer, reason: string): string => {
    const m = reason.startsWith(FIRST_CONV_REASON) ? /"(.*)" \(skipFirstConv\)$/.exec(reason) : null;
    if (!m || m[1] === layer.node.name) return m ? 'first conv layer (skipFirstConv)' : reason;
    return `its output channels are tied (residual Add / Concat) to the first conv layer "${m[1]}", which skipFirstConv keeps`;
  };
  // groups by producer signature (blocked units are reported and left alone)
  const groups = new Map<string, Unit[]>();
  const skipped: SkipInfo[] = [...cg.unseeded];
  const skipSeen = new Set<string>();
  for (const u of units.values()) {
    if (u.sources.length === 0) continue;
    if (u.blocked !== undefined) {
      for (const s of u.sources) {
        const reason = reasonFor(s.layer, u.blocked);
        const key = `${s.layer.node.name}\u0000${reason}`;
        if (!skipSeen.has(key)) {
          skipSeen.add(key);
          skipped.push({ node: s.layer.node.name, reason });
        }
      }
      continue;
    }
    const sig = [...new Set(u.sources.map((s) => s.layer.node.id))].sort((a, b) => a - b).join(',');
    const list = groups.get(sig);
    if (list) list.push(u);
    else groups.set(sig, [u]);
  }

  // per-layer "before" numbers
  const infoBefore = new Map<Node, { nnz: number; size: number; out: number; inn: number }>();
  const noteLayer = (l: WeightLayer) => {
    if (infoBefore.has(l.node)) return;
    const w = weightOf(g, l);
    infoBefore.set(l.node, { nnz: countNonzero(w), size: w.size, out: w.shape[l.outAxis]!, inn: w.shape[l.inAxis]! * (l.kind === 'conv' ? l.group : 1) });
  };
  for (const e of cg.edits) {
    if (e.kind === 'source' || e.kind === 'terminal') noteLayer(e.layer);
    if (e.kind === 'depthwise') {
      const l = weightLayerOf(g, e.node);
      if (l) noteLayer(l);
    }
  }

  // Groups are pruned one at a time in execution order. With `sequential`, each group's
  // statistics are measured on the graph as pruned so far.
  const orderIdx = new Map(g.order.map((id, i) => [id, i]));
  const ordered = [...groups.values()].map((list) => ({
    list, at: Math.min(...list[0]!.sources.map((s) => orderIdx.get(s.layer.node.id) ?? 0)),
  })).sort((x, y) => x.at - y.at);
  let unitCount = 0;
  let removedCount = 0;
  const prior = new Set<number>();
  /**
   * Adds importance to units from consumer statistics (activation) or producer filter norms.
   * @param statsPrior units already removed when `stats` was measured (its indexing)
   */
  const scoreUnits = (terms: typeof terminals, srcs: typeof sources, stats: Map<ValueId, ChannelStats>, statsPrior: ReadonlySet<number>) => {
    if (criterion === 'activation' && calib) {
      for (const t of terms) {
        const st = stats.get(t.space.value);
        if (!st) continue;
        const colNorm = filterNorms(weightOf(g, t.layer), t.layer.inAxis, 2);
        const mag = compensate ? st.std : st.meanAbs;
        const pos = cg.positions(t.space, prior);
        const spos = cg.positions(t.space, statsPrior);
        for (let i = 0; i < t.space.size; i++) {
          const u = pos[i]! >= 0 ? units.get(cg.find(t.space.base + i)) : undefined;
          if (u) u.score += mag[spos[i]!]! * colNorm[pos[i]!]!;
        }
      }
    } else {
      const p = criterion === 'l1' ? 1 : 2;
      for (const s of srcs) {
        const norms = filterNorms(weightOf(g, s.layer), s.layer.outAxis, p);
        const pos = cg.positions(s.space, prior);
        for (let i = 0; i < s.space.size; i++) {
          const u = pos[i]! >= 0 ? units.get(cg.find(s.space.base + i)) : undefined;
          if (u) u.score += norms[pos[i]!]!;
        }
      }
    }
  };
  // One-shot (default): every score and statistic comes from the unpruned graph.
  let oneShot: Map<ValueId, ChannelStats> | undefined;
  if (!(opts.sequential ?? false)) {
    oneShot = new Map();
    if (calib && (criterion === 'activation' || compensate)) {
      const want = new Map<ValueId, number>();
      for (const t of terminals) want.set(t.space.value, t.space.axis);
      oneShot = channelStats(g, calib, want);
    }
    scoreUnits(terminals, sources, oneShot, prior);
  }
  for (const { list } of ordered) {
    unitCount += list.length;
    let keep = Math.max(minCh, list.length - Math.round(ratio * list.length));
    keep = Math.min(list.length, Math.ceil(keep / mult) * mult);
    const drop = list.length - keep;
    if (drop <= 0) continue;
    const roots = new Set(list.map((u) => u.root));
    const inGroup = (sp: Space) => {
      for (let i = 0; i < sp.size; i++) if (roots.has(cg.find(sp.base + i))) return true;
      return false;
    };
    const myTerminals = terminals.filter((t) => inGroup(t.space));
    let stats = oneShot ?? new Map<ValueId, ChannelStats>();
    if (calib && !oneShot && (criterion === 'activation' || compensate)) {
      const want = new Map<ValueId, number>();
      for (const t of myTerminals) want.set(t.space.value, t.space.axis);
      stats = channelStats(g, calib, want);
    }
    if (!oneShot) {
      for (const u of list) u.score = 0;
      scoreUnits(myTerminals, sources.filter((x) => inGroup(x.space)), stats, prior);
    }
    list.sort((a, b) => a.score - b.score || a.first - b.first);
    const removed = new Set(list.slice(0, drop).map((u) => u.root));
    removedCount += removed.size;
    const comps = compensate ? compensations(g, myTerminals, cg, removed, prior, stats, oneShot ? new Set() : prior, notes) : [];
    for (const e of cg.edits) applyEdit(g, e, cg, removed, prior);
    for (const c of comps) {
      // delta was computed on the current weight; slice it when this group removed the layer's outputs
      const src = sources.find((x) => x.layer.node === c.layer.node);
      const k = src ? cg.kept(src.space, removed, prior) : undefined;
      const delta = k && k.keep.length < k.size ? k.keep.map((i) => c.delta[i]!) : [...c.delta];
      applyCompensation(g, c.layer, delta, notes);
    }
    for (const r of removed) prior.add(r);
    g.removeUnusedValues();
    g.toposort();
    inferShapes(g);
  }
  if (removedCount > 0) verify(g, { pass: 'prune-channel' });

  const layers: ChannelLayerInfo[] = [];
  for (const [node, b] of infoBefore) {
    const l = weightLayerOf(g, node);
    if (!l) continue;
    const w = weightOf(g, l);
    const outAfter = w.shape[l.outAxis]!;
    const inAfter = w.shape[l.inAxis]! * (l.kind === 'conv' ? l.group : 1);
    if (w.size === b.size) continue;
    node.meta = { ...node.meta, channels: { outBefore: b.out, outAfter, inBefore: b.inn, inAfter } };
    const after = countNonzero(w);
    layers.push({
      node: node.name, op: node.op, before: b.nnz, after, size: b.size, sizeAfter: w.size, sparsity: 1 - w.size / b.size,
      outBefore: b.out, outAfter, inBefore: b.inn, inAfter,
    });
  }
  return { layers, skipped, notes, units: unitCount, removed: removedCount };
}

/** A consumer's bias correction, computed on the unpruned weights, applied after the edit. */
interface Compensation {
  layer: WeightLayer;
  /** Per output channel of the unpruned layer. */
  delta: Float64Array;
}

/**
 * Each removed input channel's mean contribution to its consumer's outputs (before slicing):
 * delta[o] = alpha * sum_{c removed} mean(x_c) * sum_k W[o, c, k].
 */
function compensations(g: Graph, terminals: Extract<Edit, { kind: 'terminal' }>[], cg: ChannelGraph,
  removed: ReadonlySet<number>, prior: ReadonlySet<number>, stats: Map<ValueId, ChannelStats>,
  statsPrior: ReadonlySet<number>, notes: string[]): Compensation[] {
  const out: Compensation[] = [];
  for (const t of terminals) {
    const st = stats.get(t.space.value);
    const pos = cg.positions(t.space, prior);
    const spos = cg.positions(t.space, statsPrior);
    // [current weight position, statistics position] of each removed input
    const gone: [number, number][] = [];
    for (let i = 0; i < t.space.size; i++) if (pos[i]! >= 0 && removed.has(cg.find(t.space.base + i))) gone.push([pos[i]!, spos[i]!]);
    if (!st || gone.length === 0) continue;
    const l = t.layer;
    const n = l.node;
    const w = weightOf(g, l);
    if (l.kind === 'matmul' && (w.shape.length !== 2 || n.domain !== '')) {
      notes.push(`"${n.name}": no bias compensation (${n.domain ? `${n.op} has no bias input` : 'batched MatMul weight'})`);
      continue;
    }
    const perOut = sumOver(w, l.inAxis, l.outAxis);
    const alpha = l.kind === 'gemm' && typeof n.attrs['alpha'] === 'number' ? (n.attrs['alpha'] as number) : 1;
    const delta = new Float64Array(perOut.length);
    for (let o = 0; o < delta.length; o++) for (const [c, sc] of gone) delta[o]! += alpha * st.mean[sc]! * perOut[o]![c]!;
    out.push({ layer: l, delta });
  }
  return out;
}

/** Adds a (possibly already output-sliced) compensation to the layer's bias. */
export function applyCompensation(g: Graph, l: WeightLayer, delta: readonly number[], notes: string[]): void {
  const n = l.node;
  const M = delta.length;
  const dt = g.consts.get(n.inputs[l.weightInput]!)!.dtype;
  if (l.kind === 'conv' || l.kind === 'convT') {
    const bid = n.inputs[2];
    if (bid === null || bid === undefined) {
      n.inputs[2] = g.addConst(`${n.name}.bias_comp`, Tensor.from(dt, [M], delta)).id;
      return;
    }
    const b = g.consts.get(bid);
    if (!b || b.size !== M) {
      notes.push(`"${n.name}": no bias compensation (bias is not a constant of ${M} values)`);
      return;
    }
    setConstInput(g, n, 2, Tensor.from(b.dtype, b.shape, b.toNumbers().map((x, i) => x + delta[i]!)));
  } else if (l.kind === 'gemm') {
    const beta = typeof n.attrs['beta'] === 'number' ? (n.attrs['beta'] as number) : 1;
    const cid = n.inputs[2];
    const c = cid === null || cid === undefined ? undefined : g.consts.get(cid);
    if (cid !== null && cid !== undefined && !c) {
      notes.push(`"${n.name}": no bias compensation (C is not a constant)`);
    } else if (!c || beta === 0) {
      n.attrs = { ...n.attrs, beta: 1 };
      while (n.inputs.length < 3) n.inputs.push(null);
      n.inputs[2] = g.addConst(`${n.name}.bias_comp`, Tensor.from(dt, [M], delta)).id;
    } else if (c.shape.length >= 1 && c.shape[c.shape.length - 1] === M) {
      setConstInput(g, n, 2, Tensor.from(c.dtype, c.shape, c.toNumbers().map((x, i) => x + delta[i % M]! / beta)));
    } else if (c.size === 1) {
      const v = c.get(0);
      setConstInput(g, n, 2, Tensor.from(c.dtype, [M], delta.map((d) => v + d / beta)));
    } else {
      notes.push(`"${n.name}": no bias compensation (C shape [${c.shape.join(',')}])`);
    }
  } else {
    // plain MatMul: y' = MatMul(x, W) + delta
    const y = n.outputs[0]!;
    const y2 = g.addValue(`${g.value(y).name}.comp`, g.typeOf(y));
    g.replaceAllUses(y, y2.id);
    const bias = g.addConst(`${n.name}.bias_comp`, Tensor.from(dt, [M], delta));
    const next = g.order[g.order.indexOf(n.id) + 1];
    g.addNode({ op: 'Add', inputs: [y, bias.id], outputs: [y2.id], name: `${n.name}.bias_comp` }, next);
  }
}

/** Applies one structural edit using the kept indices of its spaces (current positions). */
function applyEdit(g: Graph, e: Edit, cg: ChannelGraph, removed: ReadonlySet<number>, prior: ReadonlySet<number>): void {
  switch (e.kind) {
    case 'source': {
      const { keep, size } = cg.kept(e.space, removed, prior);
      if (keep.length === size) return;
      const l = e.layer;
      const n = l.node;
      setConstInput(g, n, l.weightInput, takeAlong(weightOf(g, l), l.outAxis, keep));
      const bid = l.biasInput !== undefined ? n.inputs[l.biasInput] : null;
      const b = bid === null || bid === undefined ? undefined : g.consts.get(bid);
      if (b && b.shape.length >= 1 && b.shape[b.shape.length - 1] === size) {
        setConstInput(g, n, l.biasInput!, takeAlong(b, b.shape.length - 1, keep));
      }
      return;
    }
    case 'terminal': {
      const { keep, size } = cg.kept(e.space, removed, prior);
      if (keep.length === size) return;
      setConstInput(g, e.layer.node, e.layer.weightInput, takeAlong(weightOf(g, e.layer), e.layer.inAxis, keep));
      return;
    }
    case 'depthwise': {
      const { keep, size } = cg.kept(e.outSpace, removed, prior);
      if (keep.length === size) return;
      const n = e.node;
      setConstInput(g, n, 1, takeAlong(g.consts.get(n.inputs[1]!)!, 0, keep));
      const bid = n.inputs[2];
      const b = bid === null || bid === undefined ? undefined : g.consts.get(bid);
      if (b) setConstInput(g, n, 2, takeAlong(b, 0, keep));
      n.attrs = { ...n.attrs, group: cg.kept(e.inSpace, removed, prior).keep.length };
      return;
    }
    case 'const': {
      const { keep, size } = cg.kept(e.space, removed, prior);
      if (keep.length === size) return;
      const t = g.consts.get(e.node.inputs[e.input]!)!;
      setConstInput(g, e.node, e.input, takeAlong(t, e.axis, keep));
      return;
    }
    case 'reshape': {
      const { keep, size } = cg.kept(e.space, removed, prior);
      if (keep.length === size) return;
      const t = g.consts.get(e.node.inputs[1]!)!;
      const vals = t.toNumbers();
      if ((vals[e.dim] ?? 0) > 0) {
        vals[e.dim] = keep.length;
        setConstInput(g, e.node, 1, Tensor.from(t.dtype, t.shape, vals));
      }
      return;
    }
  }
}
