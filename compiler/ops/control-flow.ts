/**
 * Op family: control flow with subgraphs (If, Loop, Scan).
 *
 * A subgraph reads values of the enclosing graph through captures (Graph.captures): the node's
 * trailing `implicitInputCount(node)` inputs are bound, in order, to every subgraph's captures.
 * These ops run only on the reference interpreter (`run`, which receives a subgraph runner);
 * `ref` rejects them, so constant folding and targets never evaluate them.
 */
import { Graph, Node, implicitInputCount } from '../ir/graph.js';
import { ConcreteShape, Dim, Tensor, TensorType, numel, shapeToString } from '../ir/tensor.js';
import { RtValue, describeValue } from '../ir/value.js';
import { internal, invalid, unsupported } from '../errors.js';
import { AttrReader, InferCtx, RunCtx, defineOp, normAxis } from './registry.js';
import { raw } from './shape.js';

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

/** `ref` of ops that need the interpreter (subgraphs, sequences, optionals). */
export function interpreterOnly(op: string): () => never {
  return () => {
    throw unsupported(`${op} runs only on the reference interpreter (it has subgraphs or non-tensor values)`);
  };
}

/** A required subgraph attribute. */
export function requireGraph(r: AttrReader, name: string): Graph {
  const g = r.graph(name);
  if (!g) throw r.error(`attribute "${name}" (a graph) is required`);
  return g;
}

/** Splits a node's inputs into explicit inputs and implicit ones (bound to subgraph captures). */
export function splitImplicit<T>(node: Node, inputs: readonly T[]): [T[], T[]] {
  const k = implicitInputCount(node);
  return [inputs.slice(0, inputs.length - k), inputs.slice(inputs.length - k)];
}

/** Implicit input types (all present: verify checks implicit inputs are never omitted). */
export function captureTypes(ctx: InferCtx): TensorType[] {
  return splitImplicit(ctx.node, ctx.inputs)[1].map((t) => {
    if (!t) throw internal('an implicit input is omitted');
    return t;
  });
}

/** Infers a subgraph through the interpreter's hook. */
export function inferBody(ctx: InferCtx, body: Graph, inputs: readonly TensorType[]): TensorType[] {
  if (!ctx.inferSubgraph) throw internal(`${ctx.node.op}: shape inference of subgraphs is not available here`);
  return ctx.inferSubgraph(body, inputs, captureTypes(ctx), splitImplicit(ctx.node, ctx.consts)[1]);
}

/** A tensor input or a one-line error naming what was given instead. */
export function tensorIn(v: RtValue | null | undefined, what: string): Tensor {
  if (!(v instanceof Tensor)) throw invalid(`${what} must be a tensor, got ${v ? describeValue(v) : 'nothing'}`);
  return v;
}

/** A scalar (one-element) tensor's value as a number. */
function scalarOf(t: Tensor, what: string): number {
  if (t.size !== 1) throw invalid(`${what} must hold one element, got shape ${shapeToString(t.shape)}`);
  return t.get(0);
}

/** The kind a value has once an optional wrapper is removed. */
function unwrapped(k: TensorType['kind']): TensorType['kind'] {
  return k === 'optional' ? undefined : k === 'optional-sequence' ? 'sequence' : k;
}

/**
 * The union of two types (for values whose shape may change between branches or iterations).
 * An optional and a plain value of the same element type unify to the optional.
 */
export function unifyTypes(ctx: InferCtx, a: TensorType, b: TensorType): TensorType {
  if (a.kind !== b.kind && unwrapped(a.kind) === unwrapped(b.kind) && a.dtype === b.dtype) {
    const opt = a.kind === 'optional' || a.kind === 'optional-sequence' ? a : b;
    return unifyTypes(ctx, { ...a, kind: opt.kind }, { ...b, kind: opt.kind });
  }
  if (a.dtype !== b.dtype || a.kind !== b.kind) {
    throw invalid(`${ctx.node.op}: subgraph value types disagree (${a.kind ?? 'tensor'} ${a.dtype} vs ${b.kind ?? 'tensor'} ${b.dtype})`);
  }
  if (a.shape.length !== b.shape.length) return b;
  const shape = a.shape.map((d, i) => (d === b.shape[i] ? d : ctx.freshDim('cf')));
  return { ...b, shape };
}

/** `t` with index `i` of `axis` taken (the axis removed). */
export function sliceAxis(t: Tensor, axis: number, i: number): Tensor {
  const shape = t.shape;
  const outShape = shape.filter((_, k) => k !== axis);
  const out = Tensor.zeros(t.dtype, outShape);
  const src = raw(t);
  const dst = raw(out);
  const outer = numel(shape.slice(0, axis));
  const inner = numel(shape.slice(axis + 1));
  const n = shape[axis]!;
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < inner; k++) dst[o * inner + k] = src[(o * n + i) * inner + k]!;
  }
  return out;
}

/** Stacks same-shape tensors along a new `axis` (0..rank). */
export function stackAxis(items: readonly Tensor[], axis: number, dtype: Tensor['dtype'], elemShape: ConcreteShape): Tensor {
  for (const t of items) {
    if (t.dtype !== dtype || t.shape.length !== elemShape.length || t.shape.some((d, k) => d !== elemShape[k])) {
      throw invalid(`scan output slices differ: ${t.dtype}${shapeToString(t.shape)} vs ${dtype}${shapeToString(elemShape)}`);
    }
  }
  const outShape = [...elemShape.slice(0, axis), items.length, ...elemShape.slice(axis)];
  const out = Tensor.zeros(dtype, outShape);
  const dst = raw(out);
  const outer = numel(elemShape.slice(0, axis));
  const inner = numel(elemShape.slice(axis));
  const n = items.length;
  items.forEach((t, i) => {
    const src = raw(t);
    for (let o = 0; o < outer; o++) {
      for (let k = 0; k < inner; k++) dst[(o * n + i) * inner + k] = src[o * inner + k]!;
    }
  });
  return out;
}

/** Concrete shape of a type, with unknown dims as 0 (shape of an empty scan output). */
function emptyShape(t: TensorType): number[] {
  return t.shape.map((d) => (typeof d === 'number' ? d : 0));
}

// ---------------------------------------------------------------------------------------------
// If
// ---------------------------------------------------------------------------------------------

interface IfAttrs {
  then: Graph;
  else: Graph;
}

// If(cond) = then_branch() when cond else else_branch(); the branches take no inputs and read
// outer values through captures. Both branches must produce the same number of outputs.
export const If = defineOp<IfAttrs>({
  name: 'If',
  domain: '',
  since: 1,
  arity: [1, 1],
  attrs: (r) => {
    const a = { then: requireGraph(r, 'then_branch'), else: requireGraph(r, 'else_branch') };
    if (a.then.outputs.length !== a.else.outputs.length) {
      throw r.error(`then_branch has ${a.then.outputs.length} outputs but else_branch has ${a.else.outputs.length}`);
    }
    if (a.then.inputs.length || a.else.inputs.length) throw r.error('If branches take no inputs');
    if (a.then.outputs.length !== r.node.outputs.length) {
      throw r.error(`the branches have ${a.then.outputs.length} outputs but the node has ${r.node.outputs.length}`);
    }
    return a;
  },
  infer: (ctx, a) => {
    // A known condition selects one branch: the other may not even be well-typed for these shapes
    // (models branch on rank, e.g. 2-D vs 3-D). Otherwise the output types are the union; when one
    // branch cannot be inferred, it would fail if taken, so the other branch's types are used. A
    // branch that cannot be inferred is marked `partialTypes`.
    let lastError: unknown;
    const tryBranch = (b: Graph): TensorType[] | undefined => {
      try {
        const t = inferBody(ctx, b, []);
        b.partialTypes = false;
        return t;
      } catch (e) {
        b.partialTypes = true;
        lastError = e;
        return undefined;
      }
    };
    const cond = ctx.consts[0];
    if (cond && cond.size === 1) {
      const [taken, dead] = cond.get(0) !== 0 ? [a.then, a.else] : [a.else, a.then];
      const t = inferBody(ctx, taken, []);
      taken.partialTypes = false;
      tryBranch(dead);
      return t;
    }
    const t = tryBranch(a.then);
    const e = tryBranch(a.else);
    if (t && e) return t.map((x, k) => unifyTypes(ctx, x, e[k]!));
    const one = t ?? e;
    if (!one) throw lastError;
    return one;
  },
  ref: interpreterOnly('If'),
  run: (ins, a, ctx) => {
    const [ex, caps] = splitImplicit(ctx.node, ins);
    const cond = scalarOf(tensorIn(ex[0], 'If condition'), 'If condition');
    return ctx.runSubgraph(cond !== 0 ? a.then : a.else, [], caps as RtValue[]);
  },
  cost: () => ({ macs: 0, flops: 0 }),
});

// ---------------------------------------------------------------------------------------------
// Loop
// ---------------------------------------------------------------------------------------------

interface LoopAttrs {
  body: Graph;
  /** Loop-carried values N (body inputs minus iteration number and condition). */
  carried: number;
  /** Scan outputs K (body outputs minus condition and carried values). */
  scans: number;
}

// Loop(M, cond, v...): i = 0; c = cond ?? true
//   while (M is absent or i < M) and c: (c, v..., s...) = body(i, c, v...); collect s; i++
// outputs: final v..., then each s stacked along a new axis 0 (ONNX Runtime semantics: the body's
// condition output decides every next iteration, also when the cond input is omitted).
export const Loop = defineOp<LoopAttrs>({
  name: 'Loop',
  domain: '',
  since: 1,
  // M and cond are optional ("" slots); the loop-carried count is checked against the body
  arity: [0, Infinity],
  attrs: (r) => {
    const body = requireGraph(r, 'body');
    const carried = body.inputs.length - 2;
    if (carried < 0) throw r.error(`the body must take the iteration number and the condition first, it has ${body.inputs.length} inputs`);
    const scans = body.outputs.length - 1 - carried;
    if (scans < 0) throw r.error(`the body has ${body.outputs.length} outputs; it needs the condition and ${carried} loop-carried values`);
    if (r.node.outputs.length > carried + scans) throw r.error(`the node has ${r.node.outputs.length} outputs, the body gives ${carried + scans}`);
    return { body, carried, scans };
  },
  infer: (ctx, a) => {
    const [ex] = splitImplicit(ctx.node, ctx.inputs);
    if (ex.length - 2 !== a.carried) throw invalid(`Loop has ${ex.length - 2} loop-carried inputs but its body takes ${a.carried}`);
    const init = ex.slice(2).map((t, k) => {
      if (!t) throw invalid(`Loop: loop-carried input ${k} is omitted`);
      return t;
    });
    const head: TensorType[] = [{ dtype: 'i64', shape: [] }, { dtype: 'bool', shape: [] }];
    let carried = init;
    let outs = inferBody(ctx, a.body, [...head, ...carried]);
    // A carried value whose type changes across iterations gets the union type; one more pass
    // infers the body with it.
    const merged = carried.map((t, k) => unifyTypes(ctx, t, outs[1 + k]!));
    if (merged.some((t, k) => t.shape.length !== carried[k]!.shape.length || t.shape.some((d, i) => d !== carried[k]!.shape[i]))) {
      carried = merged;
      outs = inferBody(ctx, a.body, [...head, ...carried]);
    }
    const trip = tripCount(ctx, a);
    const scanTypes = outs.slice(1 + a.carried).map((t) => ({ ...t, shape: [trip, ...t.shape] }));
    // final values come from the body (after at least one iteration): its kind wins over an
    // optional initial value's
    const finals = carried.map((t, k) => {
      const u = unifyTypes(ctx, t, outs[1 + k]!);
      return outs[1 + k]!.kind === u.kind ? u : { ...u, kind: outs[1 + k]!.kind };
    });
    return [...finals, ...scanTypes].slice(0, ctx.node.outputs.length);
  },
  ref: interpreterOnly('Loop'),
  run: (ins, a, ctx) => runLoop(ins, a, ctx),
  cost: () => ({ macs: 0, flops: 0 }),
});

/** Static trip count: M when it is a constant and nothing can end the loop earlier. */
function tripCount(ctx: InferCtx, a: LoopAttrs): Dim {
  const m = ctx.consts[0];
  const condIn = ctx.node.inputs[1];
  const cond = ctx.consts[1];
  const body = a.body;
  const passThrough = body.outputs[0] === body.inputs[1];
  const condOut = body.consts.get(body.outputs[0]!);
  const alwaysTrue = (condIn === null || condIn === undefined || (cond !== undefined && cond.size === 1 && cond.get(0) !== 0)) &&
    (passThrough || (condOut !== undefined && condOut.size === 1 && condOut.get(0) !== 0));
  if (m && m.size === 1 && alwaysTrue) return Math.max(0, m.get(0));
  return ctx.freshDim('trip');
}

function runLoop(ins: (RtValue | null)[], a: LoopAttrs, ctx: RunCtx): RtValue[] {
  const [ex, caps] = splitImplicit(ctx.node, ins);
  const mIn = ex[0] ?? null;
  const cIn = ex[1] ?? null;
  const maxTrip = mIn === null ? Infinity : scalarOf(tensorIn(mIn, 'Loop trip count M'), 'Loop trip count M');
  let cond = cIn === null ? true : scalarOf(tensorIn(cIn, 'Loop condition'), 'Loop condition') !== 0;
  let carried = ex.slice(2).map((v, k) => {
    if (v === null) throw invalid(`Loop: loop-carried input ${k} is omitted`);
    return v;
  });
  if (carried.length !== a.carried) throw invalid(`Loop has ${carried.length} loop-carried inputs but its body takes ${a.carried}`);
  const scans: RtValue[][] = Array.from({ length: a.scans }, () => []);
  for (let i = 0; i < maxTrip && cond; i++) {
    const outs = ctx.runSubgraph(a.body, [Tensor.scalar('i64', i), Tensor.from('bool', [], [cond ? 1 : 0]), ...carried], caps as RtValue[]);
    cond = scalarOf(tensorIn(outs[0], 'Loop body condition output'), 'Loop body condition output') !== 0;
    carried = outs.slice(1, 1 + a.carried);
    outs.slice(1 + a.carried).forEach((s, k) => scans[k]!.push(s));
  }
  const stacked = scans.map((list, k) => {
    const t = a.body.typeOf(a.body.outputs[1 + a.carried + k]!);
    if (list.length === 0) return Tensor.zeros(t.dtype, [0, ...emptyShape(t)]);
    const items = list.map((v) => tensorIn(v, `Loop scan output ${k}`));
    return stackAxis(items, 0, items[0]!.dtype, items[0]!.shape);
  });
  return [...carried, ...stacked];
}

// ---------------------------------------------------------------------------------------------
// Scan
// ---------------------------------------------------------------------------------------------

interface ScanAttrs {
  body: Graph;
  /** Scan inputs M. */
  numScan: number;
  /** Opset 8 form: batch axis 0 and an optional sequence_lens first input. */
  v8: boolean;
  inAxes: number[] | undefined;
  inDirs: number[];
  outAxes: number[] | undefined;
  outDirs: number[];
}

// Scan(s..., x...) (opset 9+): for t in 0..T-1 (reversed per input direction):
//   (s..., y_t...) = body(s..., x[t]...) where x[t] slices axis scan_input_axes[j] of input j;
// outputs: final s..., each y stacked along scan_output_axes[k] (reverse direction: in reverse order).
// Opset 8: every input has a leading batch axis (scan axis 1), sequence_lens (input 0) limits each
// batch entry's length and scan outputs past it are zero; `directions` applies to scan inputs.
export const Scan = defineOp<ScanAttrs>({
  name: 'Scan',
  domain: '',
  since: 8,
  // opset 8's first input (sequence_lens) may be omitted; the counts are checked against the body
  arity: [0, Infinity],
  attrs: (r, ctx) => {
    const body = requireGraph(r, 'body');
    const numScan = r.int('num_scan_inputs');
    if (numScan === undefined || numScan < 1) throw r.error('attribute "num_scan_inputs" must be a positive integer');
    const nState = body.inputs.length - numScan;
    if (nState < 0) throw r.error(`the body has ${body.inputs.length} inputs, fewer than num_scan_inputs ${numScan}`);
    const nOut = body.outputs.length - nState;
    if (nOut < 0) throw r.error(`the body has ${body.outputs.length} outputs, fewer than its ${nState} state values`);
    const v8 = ctx.opset < 9;
    const inDirs = (v8 ? r.ints('directions') : r.ints('scan_input_directions')) ?? new Array<number>(numScan).fill(0);
    const outDirs = v8 ? new Array<number>(nOut).fill(0) : r.ints('scan_output_directions') ?? new Array<number>(nOut).fill(0);
    const inAxes = v8 ? undefined : r.ints('scan_input_axes');
    const outAxes = v8 ? undefined : r.ints('scan_output_axes');
    if (inDirs.length !== numScan || inDirs.some((d) => d !== 0 && d !== 1)) throw r.error(`scan input directions must be ${numScan} values of 0 or 1`);
    if (outDirs.length !== nOut || outDirs.some((d) => d !== 0 && d !== 1)) throw r.error(`scan output directions must be ${nOut} values of 0 or 1`);
    if (inAxes && inAxes.length !== numScan) throw r.error(`scan_input_axes must have ${numScan} values`);
    if (outAxes && outAxes.length !== nOut) throw r.error(`scan_output_axes must have ${nOut} values`);
    return { body, numScan, v8, inAxes, inDirs, outAxes, outDirs };
  },
  infer: (ctx, a) => {
    const [ex] = splitImplicit(ctx.node, ctx.inputs);
    const body = a.body;
    const nState = body.inputs.length - a.numScan;
    const ins = a.v8 ? ex.slice(1) : ex;
    if (ins.length !== body.inputs.length) throw invalid(`Scan has ${ins.length} state and scan inputs but its body takes ${body.inputs.length}`);
    const types = ins.map((t, k) => {
      if (!t) throw invalid(`Scan: input ${k} is omitted`);
      return t;
    });
    let seq: Dim | undefined;
    let batch: Dim | undefined;
    const bodyIns = types.map((t, k) => {
      if (a.v8) {
        batch = t.shape[0];
        if (k < nState) return { ...t, shape: t.shape.slice(1) };
        seq ??= t.shape[1];
        return { ...t, shape: t.shape.slice(2) };
      }
      if (k < nState) return t;
      const ax = normAxis(a.inAxes?.[k - nState] ?? 0, t.shape.length, 'scan input axis');
      seq ??= t.shape[ax];
      return { ...t, shape: t.shape.filter((_, i) => i !== ax) };
    });
    const outs = inferBody(ctx, body, bodyIns);
    const T = seq ?? ctx.freshDim('scan');
    const res = outs.map((t, k) => {
      if (k < nState) return a.v8 ? { ...t, shape: [batch ?? ctx.freshDim('b'), ...t.shape] } : t;
      if (a.v8) return { ...t, shape: [batch ?? ctx.freshDim('b'), T, ...t.shape] };
      const ax = normAxis(a.outAxes?.[k - nState] ?? 0, t.shape.length + 1, 'scan output axis');
      return { ...t, shape: [...t.shape.slice(0, ax), T, ...t.shape.slice(ax)] };
    });
    return res.slice(0, ctx.node.outputs.length);
  },
  ref: interpreterOnly('Scan'),
  run: (ins, a, ctx) => (a.v8 ? runScan8(ins, a, ctx) : runScan(ins, a, ctx)),
  cost: () => ({ macs: 0, flops: 0 }),
});

function runScan(ins: (RtValue | null)[], a: ScanAttrs, ctx: RunCtx): RtValue[] {
  const [ex, caps] = splitImplicit(ctx.node, ins);
  const nState = a.body.inputs.length - a.numScan;
  if (ex.length !== a.body.inputs.length) throw invalid(`Scan has ${ex.length} inputs but its body takes ${a.body.inputs.length}`);
  const states0 = ex.slice(0, nState).map((v, k) => {
    if (v === null) throw invalid(`Scan: state input ${k} is omitted`);
    return v;
  });
  const xs = ex.slice(nState).map((v, j) => tensorIn(v, `Scan input ${nState + j}`));
  const axes = xs.map((x, j) => normAxis(a.inAxes?.[j] ?? 0, x.shape.length, 'scan input axis'));
  const T = xs[0]!.shape[axes[0]!]!;
  xs.forEach((x, j) => {
    if (x.shape[axes[j]!] !== T) throw invalid(`Scan inputs have different sequence lengths (${T} and ${x.shape[axes[j]!]})`);
  });
  const { states, scans } = scanLoop(a, ctx, caps as RtValue[], states0, T, (t) => xs.map((x, j) => sliceAxis(x, axes[j]!, a.inDirs[j] ? T - 1 - t : t)));
  const outs = scans.map((list, k) => {
    const items = a.outDirs[k] ? [...list].reverse() : list;
    const elem = a.body.typeOf(a.body.outputs[nState + k]!);
    const rank = (items[0]?.shape.length ?? elem.shape.length) + 1;
    const ax = normAxis(a.outAxes?.[k] ?? 0, rank, 'scan output axis');
    if (items.length === 0) {
      const es = emptyShape(elem);
      return Tensor.zeros(elem.dtype, [...es.slice(0, ax), 0, ...es.slice(ax)]);
    }
    return stackAxis(items, ax, items[0]!.dtype, items[0]!.shape);
  });
  return [...states, ...outs];
}

/** Runs the body T times from `states0`; `slices(t)` gives the scan-input slices of step t. */
function scanLoop(a: ScanAttrs, ctx: RunCtx, caps: RtValue[], states0: RtValue[], T: number, slices: (t: number) => Tensor[]): { states: RtValue[]; scans: Tensor[][] } {
  const nState = states0.length;
  let states = states0;
  const scans: Tensor[][] = Array.from({ length: a.body.outputs.length - nState }, () => []);
  for (let t = 0; t < T; t++) {
    const outs = ctx.runSubgraph(a.body, [...states, ...slices(t)], caps);
    states = outs.slice(0, nState);
    outs.slice(nState).forEach((y, k) => scans[k]!.push(tensorIn(y, `Scan body output ${nState + k}`)));
  }
  return { states, scans };
}

function runScan8(ins: (RtValue | null)[], a: ScanAttrs, ctx: RunCtx): RtValue[] {
  const [ex, caps] = splitImplicit(ctx.node, ins);
  const nState = a.body.inputs.length - a.numScan;
  const lens = ex[0] ? tensorIn(ex[0], 'Scan sequence_lens') : null;
  const rest = ex.slice(1).map((v, k) => tensorIn(v, `Scan input ${k + 1}`));
  if (rest.length !== a.body.inputs.length) throw invalid(`Scan has ${rest.length} inputs but its body takes ${a.body.inputs.length}`);
  const B = rest[0]!.shape[0];
  if (B === undefined) throw invalid('Scan (opset 8) inputs need a batch axis');
  const xs = rest.slice(nState);
  const T = xs[0]!.shape[1]!;
  for (const x of rest) if (x.shape[0] !== B) throw invalid('Scan (opset 8) inputs have different batch sizes');
  for (const x of xs) if (x.shape[1] !== T) throw invalid('Scan (opset 8) scan inputs have different sequence lengths');
  if (lens && lens.size !== B) throw invalid(`Scan sequence_lens has ${lens.size} values for batch ${B}`);
  const finals: Tensor[][] = Array.from({ length: nState }, () => []);
  const scanOuts: Tensor[][] = Array.from({ length: a.body.outputs.length - nState }, () => []);
  for (let b = 0; b < B; b++) {
    const len = lens ? lens.get(b) : T;
    if (!(len >= 0 && len <= T)) throw invalid(`Scan sequence_lens[${b}] = ${len} is outside [0, ${T}]`);
    const states0 = rest.slice(0, nState).map((s) => sliceAxis(s, 0, b));
    const xb = xs.map((x) => sliceAxis(x, 0, b));
    const { states, scans } = scanLoop(a, ctx, caps as RtValue[], states0, len, (t) => xb.map((x, j) => sliceAxis(x, 0, a.inDirs[j] ? len - 1 - t : t)));
    states.forEach((s, k) => finals[k]!.push(tensorIn(s, `Scan state ${k}`)));
    scans.forEach((list, k) => {
      const elem = list[0] ?? Tensor.zeros(a.body.typeOf(a.body.outputs[nState + k]!).dtype, emptyShape(a.body.typeOf(a.body.outputs[nState + k]!)));
      const padded = [...list];
      while (padded.length < T) padded.push(Tensor.zeros(elem.dtype, elem.shape));
      scanOuts[k]!.push(stackAxis(padded, 0, elem.dtype, elem.shape));
    });
  }
  const stackB = (list: Tensor[]): Tensor => stackAxis(list, 0, list[0]!.dtype, list[0]!.shape);
  return [...finals.map(stackB), ...scanOuts.map(stackB)];
}
