/**
 * Sequences and optionals whose structure is decided per call, on dynamic-shape wasm artifacts.
 *
 * A static compile flattens sequences of compile-time structure into tensors
 * (targets/common/sequences.ts). When the structure depends on the call (how many elements a
 * sequence input holds and their shapes, a Loop growing a sequence over a trip count that is an
 * input, a SequenceInsert / SequenceAt / SequenceErase position or a SplitToSequence split given as
 * an input), the artifact keeps the graph with its sequence values and model.mjs plans each call:
 * the small integer / bool inputs that decide structure ("structure inputs") become constants, the
 * sequence inputs' element shapes are those given, the same flattening runs, and the flat graph is
 * lowered like any dynamic-shape call. The plan is kept while the structure key (input shapes,
 * element shapes, structure-input values) stays the same; a new key re-plans. Everything stays in
 * model.wasm's kernels; only the planning runs on the host.
 */
import { Graph, Node, ValueId, subgraphsOf } from '../../../compiler/ir/graph.js';
import { Tensor, TypedArray } from '../../../compiler/ir/tensor.js';
import { invalid } from '../../../compiler/errors.js';
import { splitImplicit } from '../../../compiler/ops/control-flow.js';
import { IoGroup, SequenceShapes, flattenSequences, hasNonTensorValues } from '../../common/sequences.js';

/** A tensor crossing the model.mjs boundary (as relower.ts HostTensor). */
interface HostTensorLike {
  data: TypedArray;
  shape: number[];
}

/** A value crossing the model.mjs boundary: a tensor, a sequence (array of tensors) or an empty optional (null). */
export type HostValue = HostTensorLike | HostTensorLike[] | null;

/** Largest input (elements) read as a structure input: its values become constants of the plan. */
const STRUCTURE_INPUT_MAX = 64;

/** Inputs of `n` (an op on sequences) whose values decide a sequence's structure. */
function structureParams(g: Graph, n: Node): (ValueId | null | undefined)[] {
  if (n.domain !== '' && n.domain !== 'ai.onnx') return [];
  switch (n.op) {
    case 'SequenceAt': case 'SequenceErase': case 'SplitToSequence': return [n.inputs[1]];
    case 'SequenceInsert': return [n.inputs[2]];
    case 'Loop': case 'If': case 'SequenceMap': {
      // a node over sequences: its trip count / condition, and every outer value its bodies read
      if (!subgraphsOf(n).some(hasNonTensorValues) && ![...n.inputs, ...n.outputs].some((x) => x !== null && g.typeOf(x).kind !== undefined)) return [];
      const [ex, caps] = splitImplicit(n, n.inputs);
      return [...(n.op === 'SequenceMap' ? [] : ex.slice(0, n.op === 'Loop' ? 2 : 1)), ...caps];
    }
    default: return [];
  }
}

/**
 * The graph inputs whose values decide sequence structure: integer / bool tensor inputs from which
 * a structure parameter (see `structureParams`) is computed. A call's value of one becomes a
 * constant of the plan when it has at most STRUCTURE_INPUT_MAX elements.
 * @param g a graph with sequence / optional values
 */
export function structureInputs(g: Graph): ValueId[] {
  const seen = new Set<ValueId>();
  const stack: ValueId[] = [];
  const push = (x: ValueId | null | undefined): void => {
    if (x === null || x === undefined || seen.has(x) || g.consts.has(x)) return;
    seen.add(x);
    stack.push(x);
  };
  for (const n of g.orderedNodes()) for (const x of structureParams(g, n)) push(x);
  while (stack.length > 0) {
    const p = g.producerOf(stack.pop()!);
    if (p) for (const x of p.inputs) push(x);
  }
  return g.inputs.filter((id) => {
    const t = g.typeOf(id);
    return seen.has(id) && t.kind === undefined && /^(i|u)(8|16|32|64)$|^bool$/.test(t.dtype);
  });
}

/** Whether a call's value of a structure input is baked into the plan (small enough to be a plan constant). */
const baked = (v: HostTensorLike): boolean => v.data.length <= STRUCTURE_INPUT_MAX;

/**
 * Structure parameters computed from data in the graph (a trip count read from a tensor's values):
 * the tensor-only nodes that compute them, in order, and the parameter values. The runner runs
 * these nodes first (in wasm, like any graph) and plans the call with their results as constants.
 * Empty when every parameter follows from constants and structure inputs, or when a parameter
 * depends on sequence values (flattening then reports it).
 * @param g a graph with sequence / optional values
 * @param structural its structure inputs
 */
export function computedStructure(g: Graph, structural: ReadonlySet<ValueId>): { nodes: Node[]; params: ValueId[] } {
  const targets = new Set<ValueId>();
  for (const n of g.orderedNodes()) for (const x of structureParams(g, n)) if (x !== null && x !== undefined && !g.consts.has(x) && g.producerOf(x)) targets.add(x);
  const need = new Set<Node>();
  let fromData = false;
  const stack = [...targets];
  const seen = new Set<ValueId>(stack);
  while (stack.length > 0) {
    const v = stack.pop()!;
    const p = g.producerOf(v);
    if (!p) {
      if (g.inputs.includes(v) && !structural.has(v)) fromData = true;
      continue;
    }
    need.add(p);
    for (const x of p.inputs) if (x !== null && !g.consts.has(x) && !seen.has(x)) { seen.add(x); stack.push(x); }
  }
  const nodes = g.orderedNodes().filter((n) => need.has(n));
  const plain = nodes.every((n) => subgraphsOf(n).length === 0 && [...n.inputs, ...n.outputs].every((x) => x === null || g.typeOf(x).kind === undefined));
  if (!fromData || !plain) return { nodes: [], params: [] };
  return { nodes, params: [...targets] };
}

/** The plan key of a call: input shapes, element shapes, and the values of structure inputs. */
export function structureKey(g: Graph, structural: ReadonlySet<ValueId>, inputs: Readonly<Record<string, HostValue>>): string {
  return JSON.stringify(g.inputs.map((id) => {
    const v = inputs[g.value(id).name];
    if (v === null || v === undefined) return null;
    if (Array.isArray(v)) return v.map((t) => t.shape);
    return structural.has(id) && baked(v) ? [v.shape, Array.from(v.data as ArrayLike<number>, String)] : v.shape;
  }));
}

/** A flat graph planned for one structure, and how its tensors map back to the model's values. */
export interface StructuredGraph {
  /** Every value a tensor; inputs: tensor inputs, then sequence elements as `name[i]`. */
  graph: Graph;
  inputs: IoGroup[];
  outputs: IoGroup[];
}

/**
 * Fixes the structure of a call: structure inputs become constants (their values from `inputs`),
 * sequence / optional inputs get the given elements' shapes, then the graph is flattened
 * (targets/common/sequences.ts). Shapes of tensor inputs are bound by the caller afterwards.
 * @param base the artifact's graph (with sequence values)
 * @param structural structure inputs (`structureInputs`)
 * @param inputs the call's values by input name
 * @param constOf the tensor of a host value of a dtype
 * @param computed values of structure parameters computed from data (`computedStructure`)
 */
export function bindStructure(base: Graph, structural: ReadonlySet<ValueId>, inputs: Readonly<Record<string, HostValue>>,
  constOf: (dtype: string, v: HostTensorLike) => Tensor, computed: ReadonlyMap<ValueId, Tensor> = new Map()): StructuredGraph {
  const g = base.clone();
  // parameters computed from data by an earlier run: constants where nodes read them
  for (const [p, t] of computed) {
    const c = g.addConst(`${g.value(p).name}.planned`, t).id;
    for (const n of g.nodes.values()) n.inputs = n.inputs.map((x) => (x === p ? c : x));
  }
  const shapes: { sequences: Record<string, number[][]>; emptyOptionals: string[] } = { sequences: {}, emptyOptionals: [] };
  for (const id of [...g.inputs]) {
    const v = g.value(id);
    const x = inputs[v.name];
    if (x === undefined) throw invalid(`missing input "${v.name}"`);
    const kind = v.type.kind;
    if (kind === undefined) {
      if (x === null || Array.isArray(x)) throw invalid(`input "${v.name}" is a tensor, got ${x === null ? 'null' : 'an array'}`);
      if (structural.has(id) && baked(x)) {
        // its value decides structure: a constant of this plan
        g.consts.set(id, constOf(v.type.dtype, x));
        g.inputs.splice(g.inputs.indexOf(id), 1);
      }
      continue;
    }
    if (x === null) {
      if (kind === 'sequence') throw invalid(`input "${v.name}" is a sequence, got null`);
      shapes.emptyOptionals.push(v.name);
    } else if (Array.isArray(x)) {
      shapes.sequences[v.name] = x.map((t) => [...t.shape]);
    } else {
      if (kind === 'sequence') throw invalid(`input "${v.name}" is a sequence: pass an array of { data, shape }`);
      // an optional tensor holding a value: its declared shape must match (checked by the plan's sizes)
      v.type = { ...v.type, shape: [...x.shape] };
    }
  }
  const groups = flattenSequences(g, shapes as SequenceShapes);
  return { graph: g, ...groups };
}
