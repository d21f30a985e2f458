/**
 * Shared pieces of the pruning passes: finding weight layers and the layout of their weights,
 * tensor slicing, cost/parameter accounting, calibration batching and option checks.
 *
 * A "weight layer" is a Conv / ConvTranspose / Gemm / MatMul node (or edgec.FusedConv /
 * FusedGemm / FusedMatMul) whose weight operand is a float constant. Weight layouts:
 * | op                 | weight            | output-channel axis | reduction (K / input-channel) axis |
 * |--------------------|-------------------|---------------------|------------------------------------|
 * | Conv, FusedConv    | W [M, C/g, k...]  | 0                   | 1 (and the kernel axes)            |
 * | ConvTranspose      | W [C, M/g, k...]  | 1                   | 0                                  |
 * | Gemm transB=0      | B [K, N]          | 1                   | 0                                  |
 * | Gemm transB=1      | B [N, K]          | 0                   | 1                                  |
 * | MatMul, FusedMatMul| B [..., K, N]     | rank-1              | rank-2                             |
 */
import { Graph, Node, ValueId } from '../compiler/ir/graph.js';
import { Tensor, TensorData, allocData, numel, stridesOf } from '../compiler/ir/tensor.js';
import { isFloat } from '../compiler/ir/dtype.js';
import { getOp, opsetOf, parseAttrs } from '../compiler/ops/registry.js';
import { inferCtxOf, runGraphEnv } from '../compiler/interp/interp.js';
import { invalid, numeric } from '../compiler/errors.js';

/** Kinds of weight layer (fused variants map to their base kind). */
export type LayerKind = 'conv' | 'convT' | 'gemm' | 'matmul';

/** A node with a constant float weight, and where its channels live in that weight. */
export interface WeightLayer {
  node: Node;
  kind: LayerKind;
  /** Input index of the weight (1 for every supported op). */
  weightInput: number;
  /** Value id of the weight constant. */
  weight: ValueId;
  /** Input index of the bias (Conv/ConvTranspose B, Gemm C), or undefined (MatMul). */
  biasInput?: number;
  /** Axis of the weight that indexes output channels / features. */
  outAxis: number;
  /** Axis of the weight that indexes input channels (the reduction axis K). */
  inAxis: number;
  /** Conv/ConvTranspose `group` (1 otherwise). */
  group: number;
}

const BASE: Record<string, LayerKind> = {
  '::Conv': 'conv', 'edgec::FusedConv': 'conv', '::ConvTranspose': 'convT',
  '::Gemm': 'gemm', 'edgec::FusedGemm': 'gemm', '::MatMul': 'matmul', 'edgec::FusedMatMul': 'matmul',
};

/** The weight-layer view of a node, or undefined when it is not one (non-const or non-float weight). */
export function weightLayerOf(g: Graph, n: Node): WeightLayer | undefined {
  const kind = BASE[`${n.domain === 'ai.onnx' ? '' : n.domain}::${n.op}`];
  if (!kind) return undefined;
  const x = n.inputs[0];
  const w = n.inputs[1];
  if (x === null || x === undefined || w === null || w === undefined) return undefined;
  if (g.consts.has(x)) return undefined;
  const wt = g.consts.get(w);
  if (!wt || !isFloat(wt.dtype)) return undefined;
  const r = wt.shape.length;
  const group = typeof n.attrs['group'] === 'number' ? (n.attrs['group'] as number) : 1;
  switch (kind) {
    case 'conv':
      if (r < 3) return undefined;
      return { node: n, kind, weightInput: 1, weight: w, biasInput: 2, outAxis: 0, inAxis: 1, group };
    case 'convT':
      if (r < 3) return undefined;
      return { node: n, kind, weightInput: 1, weight: w, biasInput: 2, outAxis: 1, inAxis: 0, group };
    case 'gemm': {
      if (r !== 2) return undefined;
      const tb = n.attrs['transB'] === 1;
      return { node: n, kind, weightInput: 1, weight: w, biasInput: 2, outAxis: tb ? 0 : 1, inAxis: tb ? 1 : 0, group: 1 };
    }
    case 'matmul':
      if (r < 2) return undefined;
      return { node: n, kind, weightInput: 1, weight: w, outAxis: r - 1, inAxis: r - 2, group: 1 };
  }
}

/** Every weight layer of `g`, in execution order. */
export function weightLayers(g: Graph): WeightLayer[] {
  const out: WeightLayer[] = [];
  for (const n of g.orderedNodes()) {
    const l = weightLayerOf(g, n);
    if (l) out.push(l);
  }
  return out;
}

/**
 * Ids of the weight layers that come first on their path from a graph input: no other weight
 * layer lies between any graph input and their data input.
 */
export function firstLayers(g: Graph): Set<number> {
  const afterWeight = new Set<ValueId>();
  const first = new Set<number>();
  for (const n of g.orderedNodes()) {
    const isLayer = weightLayerOf(g, n) !== undefined;
    const tainted = n.inputs.some((i) => i !== null && afterWeight.has(i));
    if (isLayer && !tainted) first.add(n.id);
    if (isLayer || tainted) for (const o of n.outputs) afterWeight.add(o);
  }
  return first;
}

/** Multiply-accumulates of one node from its op's `cost` (0 when the op has none). */
export function nodeMacs(g: Graph, n: Node): number {
  const def = getOp(n.domain, n.op);
  if (!def?.cost) return 0;
  const a = parseAttrs(def, n, opsetOf(n, g));
  return def.cost(inferCtxOf(g, n), a, n.outputs.map((o) => g.typeOf(o))).macs;
}

/** Whole-graph MACs (sum of `nodeMacs`). */
export function graphMacs(g: Graph): number {
  let m = 0;
  for (const n of g.orderedNodes()) m += nodeMacs(g, n);
  return m;
}

/**
 * Parameters of the graph: elements of the float constants that nodes read (each counted once,
 * as `edgec inspect` counts them), and how many of those are nonzero.
 */
export function graphParams(g: Graph): { params: number; nnz: number } {
  const seen = new Set<ValueId>();
  let params = 0;
  let nnz = 0;
  for (const n of g.orderedNodes()) {
    for (const i of n.inputs) {
      if (i === null || seen.has(i)) continue;
      seen.add(i);
      const t = g.consts.get(i);
      if (!t || !isFloat(t.dtype)) continue;
      params += t.size;
      nnz += countNonzero(t);
    }
  }
  return { params, nnz };
}

/** Number of nonzero elements of a float tensor. */
export function countNonzero(t: Tensor): number {
  const d = t.data as ArrayLike<number>;
  let c = 0;
  for (let i = 0; i < d.length; i++) if (d[i] !== 0) c++;
  return c;
}

/** A copy of `t` with the elements where `keep` is 0 set to zero (same dtype and shape). */
export function applyMask(t: Tensor, keep: Uint8Array): Tensor {
  const src = t.data as ArrayLike<number>;
  const data = allocData(t.dtype, t.size) as Float32Array;
  for (let i = 0; i < src.length; i++) data[i] = keep[i] ? src[i]! : 0;
  return new Tensor(t.dtype, t.shape, data);
}

/**
 * The slices of `t` along `axis` at the given indices, in that order.
 * @param t tensor to slice @param axis axis to index @param keep indices to keep (ascending)
 */
export function takeAlong(t: Tensor, axis: number, keep: readonly number[]): Tensor {
  const shape = [...t.shape];
  const n = shape[axis]!;
  const outer = numel(shape.slice(0, axis));
  const inner = numel(shape.slice(axis + 1));
  shape[axis] = keep.length;
  const src = t.data as ArrayLike<number>;
  const data = allocData(t.dtype, numel(shape)) as TensorData as Float32Array;
  let o = 0;
  for (let p = 0; p < outer; p++) {
    for (const k of keep) {
      const base = (p * n + k) * inner;
      for (let i = 0; i < inner; i++) data[o++] = src[base + i]!;
    }
  }
  return new Tensor(t.dtype, shape, data);
}

/**
 * Visits the weight as fibers along `axis`: calls `f(indices)` once per fiber with the flat
 * indices of its elements (in axis order). Used by N:M pruning (groups along K).
 */
export function forEachFiber(shape: readonly number[], axis: number, f: (idx: number[]) => void): void {
  const st = stridesOf(shape);
  const n = shape[axis]!;
  const s = st[axis]!;
  const outer = numel(shape.slice(0, axis));
  const inner = s;
  const idx = new Array<number>(n);
  for (let p = 0; p < outer; p++) {
    for (let i = 0; i < inner; i++) {
      const base = p * n * s + i;
      for (let k = 0; k < n; k++) idx[k] = base + k * s;
      f(idx);
    }
  }
}

/**
 * Replaces a constant input of `node` by `t`: in place when the node is the constant's only
 * reader (the value keeps its name), else through a new constant so other readers are untouched.
 */
export function setConstInput(g: Graph, node: Node, input: number, t: Tensor): void {
  const id = node.inputs[input];
  if (id === null || id === undefined) throw new Error(`setConstInput: input ${input} is absent`);
  const v = g.value(id);
  if (g.useCount(id) === 1 && g.consts.has(id)) {
    g.consts.set(id, t);
    v.type = t.type;
    return;
  }
  node.inputs[input] = g.addConst(`${v.name}.pruned`, t).id;
}

/** Calibration batches: one tensor per graph input, samples along axis 0 (like --calib files). */
export function* calibBatches(g: Graph, calib: readonly Tensor[], maxSamples = 512): Generator<Tensor[]> {
  if (calib.length === 0) throw numeric('calibration set is empty', { hint: 'pass calibration samples with --calib FILE' });
  if (calib.length !== g.inputs.length) {
    throw invalid(`calibration data has ${calib.length} tensor(s) but the model has ${g.inputs.length} input(s)`);
  }
  const n = Math.min(maxSamples, calib[0]!.shape[0] ?? 0);
  calib.forEach((t, k) => {
    const v = g.value(g.inputs[k]!);
    if (!isFloat(t.dtype)) throw invalid(`calibration data for input "${v.name}" must be float, got ${t.dtype}`, { tensor: v.name });
    const want = v.type.shape;
    const ok = t.shape.length === want.length && want.every((d, i) => i === 0 || typeof d !== 'number' || d === t.shape[i]);
    if (!ok) {
      throw invalid(`calibration data for input "${v.name}" has shape [${t.shape.join(',')}], expected [samples,${want.slice(1).join(',')}]`,
        { tensor: v.name });
    }
    if ((t.shape[0] ?? 0) < n) throw invalid('calibration tensors disagree on the number of samples');
    const d = t.data as ArrayLike<number>;
    for (let i = 0; i < d.length; i++) {
      if (!Number.isFinite(d[i]!)) throw numeric(`calibration data for input "${v.name}" contains NaN or Inf`, { tensor: v.name });
    }
  });
  if (n <= 0) throw numeric('calibration set is empty (0 samples)');
  const d0 = g.value(g.inputs[0]!).type.shape[0];
  const b = typeof d0 === 'number' ? d0 : 32;
  if (typeof d0 === 'number' && n < d0) throw invalid(`calibration set has ${n} samples, fewer than the model's batch size ${d0}`);
  for (let first = 0; first + (typeof d0 === 'number' ? d0 : 1) <= n; first += b) {
    const count = Math.min(b, n - first);
    yield calib.map((t) => {
      const per = numel(t.shape.slice(1));
      const data = (t.data as Float32Array).slice(first * per, (first + count) * per);
      return new Tensor(t.dtype, [count, ...t.shape.slice(1)], data);
    });
  }
}

/** Per-channel statistics of a value over the calibration set. */
export interface ChannelStats {
  /** mean of x per index along the axis */
  mean: Float64Array;
  /** mean of |x| per index along the axis */
  meanAbs: Float64Array;
  /** standard deviation of x per index along the axis */
  std: Float64Array;
}

/**
 * Runs `g` over the calibration set and returns, for each requested value, the mean and mean
 * absolute value per index along its axis (averaged over every other axis and all samples).
 * @param g graph (shapes inferred) @param calib one tensor per input @param want value -> axis
 */
export function channelStats(g: Graph, calib: readonly Tensor[], want: ReadonlyMap<ValueId, number>): Map<ValueId, ChannelStats> {
  const sums = new Map<ValueId, { s: Float64Array; a: Float64Array; q: Float64Array; cnt: number }>();
  const keep = [...want.keys()];
  for (const batch of calibBatches(g, calib)) {
    const env = runGraphEnv(g, batch, { keep });
    for (const [id, axis] of want) {
      const t = env.get(id);
      if (!t) continue;
      const C = t.shape[axis]!;
      let acc = sums.get(id);
      if (!acc) sums.set(id, (acc = { s: new Float64Array(C), a: new Float64Array(C), q: new Float64Array(C), cnt: 0 }));
      const inner = numel(t.shape.slice(axis + 1));
      const outer = numel(t.shape.slice(0, axis));
      const d = t.data as ArrayLike<number>;
      for (let p = 0; p < outer; p++) {
        for (let c = 0; c < C; c++) {
          const base = (p * C + c) * inner;
          let s = 0;
          let a = 0;
          let q = 0;
          for (let i = 0; i < inner; i++) {
            const x = d[base + i]!;
            s += x;
            a += Math.abs(x);
            q += x * x;
          }
          acc.s[c]! += s;
          acc.a[c]! += a;
          acc.q[c]! += q;
        }
      }
      acc.cnt += outer * inner;
    }
  }
  const out = new Map<ValueId, ChannelStats>();
  for (const [id, acc] of sums) {
    const mean = acc.s.map((x) => x / Math.max(1, acc.cnt));
    const meanAbs = acc.a.map((x) => x / Math.max(1, acc.cnt));
    const std = acc.q.map((x, c) => Math.sqrt(Math.max(0, x / Math.max(1, acc.cnt) - mean[c]! ** 2)));
    out.set(id, { mean, meanAbs, std });
  }
  return out;
}

/** True when the node's name or its weight constant's name is listed in `exclude`. */
export function isExcluded(g: Graph, l: WeightLayer, exclude: ReadonlySet<string>): boolean {
  return exclude.has(l.node.name) || exclude.has(g.value(l.weight).name);
}
