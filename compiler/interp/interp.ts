import { Graph, Node, ValueId, explicitInputs, hasSubgraph } from '../ir/graph.js';
import { Tensor, TensorType, Dim, shapeToString } from '../ir/tensor.js';
import { RtValue, TensorSeq, describeValue } from '../ir/value.js';
import { EdgecError, internal, invalid, unsupported } from '../errors.js';
import { InferCtx, opOf, opsetOf, parseAttrs } from '../ops/registry.js';
import '../ops/index.js';

/** Per-node hook for profiling or debugging (e.g. capture intermediate values). */
export type NodeHook = (node: Node, inputs: (Tensor | null)[], outputs: Tensor[]) => void;

export interface RunOptions {
  /** Called after each node. */
  onNode?: NodeHook;
  /** Also return these intermediate values (by id). */
  keep?: ValueId[];
}

/**
 * Runs the graph on the reference kernels. Inputs are given in graph-input order or by name.
 * Returns the outputs in graph-output order. Graphs with sequence/optional inputs or outputs
 * run through `runGraphValues`.
 */
export function runGraph(g: Graph, inputs: Tensor[] | Record<string, Tensor>, opts: RunOptions = {}): Tensor[] {
  return runGraphValues(g, inputs, opts).map((t, k) => {
    if (!(t instanceof Tensor)) {
      throw unsupported(`output "${g.value(g.outputs[k]!).name}" is a ${describeValue(t)}, not a tensor; use runGraphValues`);
    }
    return t;
  });
}

/**
 * Runs the graph on the reference kernels with any runtime values (tensors, sequences, optionals)
 * as inputs and outputs.
 * @param g the graph
 * @param inputs values in graph-input order, or by input name
 * @param opts hooks and values to keep
 */
export function runGraphValues(g: Graph, inputs: RtValue[] | Record<string, RtValue>, opts: RunOptions = {}): RtValue[] {
  const env = runEnv(g, inputs, opts);
  return g.outputs.map((o) => {
    const t = env.get(o);
    if (!t) throw internal(`output "${g.value(o).name}" was not computed`);
    return t;
  });
}

/** Like runGraph, but returns the value environment (every computed tensor value). */
export function runGraphEnv(g: Graph, inputs: Tensor[] | Record<string, Tensor>, opts: RunOptions = {}): Map<ValueId, Tensor> {
  const env = runEnv(g, inputs, opts);
  const out = new Map<ValueId, Tensor>();
  for (const [k, v] of env) if (v instanceof Tensor) out.set(k, v);
  return out;
}

/** Runs `g` with its inputs (and, for subgraphs, its captures) bound; returns the environment. */
function runEnv(g: Graph, inputs: RtValue[] | Record<string, RtValue>, opts: RunOptions, captures?: readonly RtValue[]): Map<ValueId, RtValue> {
  const env = new Map<ValueId, RtValue>(g.consts);
  const byName = !Array.isArray(inputs);
  if (!byName && inputs.length !== g.inputs.length) {
    throw invalid(`${captures ? 'subgraph' : 'model'} has ${g.inputs.length} input(s) but ${inputs.length} were given`);
  }
  g.inputs.forEach((id, i) => {
    const v = g.value(id);
    const t = byName ? (inputs as Record<string, RtValue>)[v.name] : (inputs as RtValue[])[i];
    if (!t) throw invalid(`missing input "${v.name}"`);
    if (!captures) checkInput(v.name, v.type, t);
    env.set(id, t);
  });
  if (captures) {
    if (captures.length !== g.captures.length) throw internal(`subgraph captures ${g.captures.length} value(s) but ${captures.length} were bound`);
    g.captures.forEach((id, k) => env.set(id, captures[k]!));
  }
  // Last use of each value, to free intermediates early (keeps memory flat on big models).
  const lastUse = new Map<ValueId, number>();
  const order = g.orderedNodes();
  order.forEach((n, i) => n.inputs.forEach((x) => x !== null && lastUse.set(x, i)));
  const keep = new Set<ValueId>([...g.outputs, ...g.captures, ...(opts.keep ?? [])]);
  order.forEach((node, idx) => {
    const def = opOf(node, g);
    const opset = opsetOf(node, g);
    const ins = node.inputs.map((x) => {
      if (x === null) return null;
      const t = env.get(x);
      if (!t) throw internal(`value "${g.value(x).name}" used before it is computed`, { node: node.name, op: node.op });
      return t;
    });
    let outs: RtValue[];
    try {
      const a = parseAttrs(def, node, opset);
      if (def.run) outs = def.run(ins, a, { opset, node, runSubgraph });
      else {
        ins.forEach((t, k) => {
          if (t !== null && !(t instanceof Tensor)) throw invalid(`${node.op}: input ${k} must be a tensor, got a ${describeValue(t)}`);
        });
        outs = def.ref(ins as (Tensor | null)[], a, { opset, node });
      }
    } catch (e) {
      if (e instanceof EdgecError) throw e.withContext({ node: node.name, op: node.op, opset });
      if (e instanceof RangeError || e instanceof TypeError || e instanceof Error) {
        throw invalid(`${node.op} failed: ${(e as Error).message}`, { node: node.name, op: node.op, opset });
      }
      throw e;
    }
    node.outputs.forEach((o, k) => {
      const t = outs[k];
      if (t) env.set(o, t);
    });
    if (opts.onNode && ins.every((t) => t === null || t instanceof Tensor) && outs.every((t) => t instanceof Tensor)) {
      opts.onNode(node, ins as (Tensor | null)[], outs as Tensor[]);
    }
    for (const x of node.inputs) {
      if (x !== null && lastUse.get(x) === idx && !keep.has(x) && !g.consts.has(x) && !g.inputs.includes(x)) env.delete(x);
    }
  });
  return env;
}

/** Runs a subgraph (If branch, Loop/Scan body) with its inputs and captured outer values. */
function runSubgraph(body: Graph, inputs: readonly RtValue[], captures: readonly RtValue[]): RtValue[] {
  const env = runEnv(body, [...inputs], {}, captures);
  return body.outputs.map((o) => {
    const t = env.get(o);
    if (!t) throw internal(`subgraph output "${body.value(o).name}" was not computed`);
    return t;
  });
}

function checkInput(name: string, type: TensorType, t: RtValue): void {
  const want = type.kind ?? 'tensor';
  const got = t instanceof Tensor ? 'tensor' : t instanceof TensorSeq ? 'sequence' : (t.elem.kind === 'sequence' ? 'optional-sequence' : 'optional');
  if (want !== got) throw invalid(`input "${name}" must be a ${want}, got a ${describeValue(t)}`);
  if (!(t instanceof Tensor)) return;
  if (t.dtype !== type.dtype) throw invalid(`input "${name}" must be ${type.dtype}, got ${t.dtype}`);
  if (t.shape.length !== type.shape.length) {
    throw invalid(`input "${name}" must have shape ${shapeToString(type.shape)}, got ${shapeToString(t.shape)}`);
  }
  type.shape.forEach((d, i) => {
    if (typeof d === 'number' && d !== t.shape[i]) {
      throw invalid(`input "${name}" must have shape ${shapeToString(type.shape)}, got ${shapeToString(t.shape)}`);
    }
  });
}

let freshCounter = 0;

/**
 * Builds the inference context of a node from the graph's current types and constants.
 * @param known values propagated during inference (see inferShapes), used where no constant exists
 */
export function inferCtxOf(g: Graph, node: Node, known?: ReadonlyMap<ValueId, Tensor>): InferCtx {
  const opset = opsetOf(node, g);
  return {
    opset,
    node,
    inputs: node.inputs.map((x) => (x === null ? null : g.typeOf(x))),
    consts: node.inputs.map((x) => (x === null ? undefined : g.consts.get(x) ?? known?.get(x))),
    freshDim: (hint?: string): Dim => `${hint ?? 'd'}${freshCounter++}`,
    inferSubgraph,
  };
}

/**
 * Infers a subgraph's value types from the types of its inputs and captures (which are set on the
 * subgraph's values), and returns its output types.
 */
function inferSubgraph(body: Graph, inputs: readonly TensorType[], captures: readonly TensorType[], captureConsts?: readonly (Tensor | undefined)[]): TensorType[] {
  if (inputs.length !== body.inputs.length) throw invalid(`subgraph "${body.name}" has ${body.inputs.length} input(s) but ${inputs.length} were given`);
  if (captures.length !== body.captures.length) throw internal(`subgraph "${body.name}" captures ${body.captures.length} value(s) but ${captures.length} were bound`);
  body.inputs.forEach((id, k) => { body.value(id).type = inputs[k]!; });
  body.captures.forEach((id, k) => { body.value(id).type = captures[k]!; });
  // captured values known at compile time size the body's shapes like constants
  const known = new Map<ValueId, Tensor>();
  body.captures.forEach((id, k) => {
    const t = captureConsts?.[k];
    if (t) known.set(id, t);
  });
  inferShapes(body, known);
  return body.outputs.map((o) => body.typeOf(o));
}

/**
 * Shape and dtype inference over the whole graph (in order). Sets every node output's type.
 * Declared output types from the model (value_info) are kept where inference knows less.
 */
export function inferShapes(g: Graph, known = new Map<ValueId, Tensor>()): void {
  // Small values computed along the way (Shape -> Gather -> Concat -> Reshape chains), so that ops
  // reading `ctx.consts` see them before constant folding has run. Never stored in the graph.
  // `known` may start with values given by the caller (a subgraph's constant captures).
  for (const node of g.orderedNodes()) {
    const types = inferNode(g, node, known);
    propagateValues(g, node, types, known);
  }
}

/** Largest value (elements) that inference propagates. */
const PROPAGATE_MAX = 4096;
const NONDETERMINISTIC = /^(Random|Multinomial$|Bernoulli$|Dropout$)/;

/**
 * Records the output values of `node` in `known` when they follow from known inputs: through the
 * op's `value` hook, or by running `ref` on small, fully known inputs. Failures leave values unknown.
 */
function propagateValues(g: Graph, node: Node, types: TensorType[], known: Map<ValueId, Tensor>): void {
  if (types.length === 0 || !types.every((t) => t.kind === undefined && t.shape.every((d) => typeof d === 'number'))) return;
  if (hasSubgraph(node)) return;
  if (types.some((t) => (t.shape as number[]).reduce((p, d) => p * d, 1) > PROPAGATE_MAX)) return;
  try {
    const def = opOf(node, g);
    const opset = opsetOf(node, g);
    const a = parseAttrs(def, node, opset);
    let outs: (Tensor | undefined)[] | undefined;
    if (def.value) outs = def.value(inferCtxOf(g, node, known), a, types);
    else {
      if (node.inputs.length === 0 || NONDETERMINISTIC.test(node.op)) return;
      const ins: (Tensor | null)[] = [];
      for (const x of node.inputs) {
        if (x === null) {
          ins.push(null);
          continue;
        }
        const t = g.consts.get(x) ?? known.get(x);
        if (!t || t.size > PROPAGATE_MAX) return;
        ins.push(t);
      }
      outs = def.ref(ins, a, { opset, node });
    }
    node.outputs.forEach((o, k) => {
      const t = outs?.[k];
      if (t) known.set(o, t);
    });
  } catch {
    // a value that cannot be computed here simply stays unknown
  }
}

/**
 * Infers the types of one node's outputs and stores them.
 * @param known values propagated during inference (optional)
 */
export function inferNode(g: Graph, node: Node, known?: ReadonlyMap<ValueId, Tensor>): TensorType[] {
  const def = opOf(node, g);
  const opset = opsetOf(node, g);
  const present = explicitInputs(node).length;
  if (present < def.arity[0] || present > def.arity[1]) {
    throw invalid(`${node.op} takes ${def.arity[0]}..${def.arity[1] === Infinity ? 'n' : def.arity[1]} inputs, got ${present}`,
      { node: node.name, op: node.op, opset });
  }
  let types: TensorType[];
  try {
    const a = parseAttrs(def, node, opset);
    types = def.infer(inferCtxOf(g, node, known), a);
  } catch (e) {
    if (e instanceof EdgecError) throw e.withContext({ node: node.name, op: node.op, opset });
    throw invalid(`${node.op}: ${(e as Error).message}`, { node: node.name, op: node.op, opset });
  }
  node.outputs.forEach((o, k) => {
    const t = types[k];
    if (!t) return;
    const v = g.value(o);
    v.type = mergeTypes(v.type, t);
  });
  return types;
}

/** Prefers inferred information, filling symbolic dims from the declared type where it knows more. */
function mergeTypes(declared: TensorType, inferred: TensorType): TensorType {
  if (!declared || declared.kind !== inferred.kind || declared.shape.length !== inferred.shape.length) return inferred;
  const shape = inferred.shape.map((d, i) => (typeof d === 'number' ? d : typeof declared.shape[i] === 'number' ? declared.shape[i]! : d));
  return { ...inferred, shape };
}
