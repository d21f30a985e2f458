import { AttrValue, Attrs, Graph, Node, ValueId } from '../ir/graph.js';
import { Dim, Shape, Tensor, TensorType } from '../ir/tensor.js';
import { DType } from '../ir/dtype.js';
import { EdgecError, invalid, unsupported } from '../errors.js';
import type { RtValue } from '../ir/value.js';

/** Context given to attribute parsing, inference and reference kernels. */
export interface OpCtx {
  /** Opset version of the node's domain. */
  opset: number;
  node: Node;
}

/** Context for shape/dtype inference. */
export interface InferCtx extends OpCtx {
  /** Input types (null for omitted optional inputs). */
  inputs: (TensorType | null)[];
  /** Constant values of inputs where known (initializers, folded constants). */
  consts: (Tensor | undefined)[];
  /** Returns a fresh symbolic dim for a size that cannot be known before running. */
  freshDim(hint?: string): Dim;
  /**
   * Infers a subgraph's output types given its input and capture types (set by the interpreter's
   * inference; ops with subgraph attributes need it). `captureConsts`: the captured values known at
   * compile time (Unsqueeze axes, Reshape shapes read from the outer graph), undefined where unknown.
   */
  inferSubgraph?: (body: Graph, inputs: readonly TensorType[], captures: readonly TensorType[], captureConsts?: readonly (Tensor | undefined)[]) => TensorType[];
}

/** Context of `run` (ops on sequences/optionals and ops with subgraphs). */
export interface RunCtx extends OpCtx {
  /** Runs a subgraph on the reference interpreter with its inputs and captured outer values. */
  runSubgraph: (body: Graph, inputs: readonly RtValue[], captures: readonly RtValue[]) => RtValue[];
}

/** Compute cost of one node (feeds inspect, the profiler and reports). */
export interface Cost {
  /** Multiply-accumulates (Conv/ConvTranspose/Gemm/MatMul and quantized forms). */
  macs: number;
  /** Other arithmetic operations (approximate). */
  flops: number;
}

/** Tolerance for comparing a target against the reference. */
export interface Tolerance {
  atol: number;
  rtol: number;
}

/** Lowering hook result: data naming a kernel, never code. */
export interface Lowering {
  kernel: string;
  params: Record<string, unknown>;
}

export type TargetName = 'wasm' | 'webgpu' | 'hls';

/**
 * What an op's `decompose` hook builds with: nodes added to the enclosing graph just before the
 * node being expanded (compiler/passes/decompose.ts implements it). Emitted nodes use the graph's
 * opset, so hooks spell opset-dependent forms (reduction axes) through `reduce`.
 */
export interface DecomposeBuilder {
  /** The node being expanded and the opset of its domain. */
  readonly node: Node;
  readonly opset: number;
  /** The node's input types (null for omitted optional inputs) and constant values where known. */
  readonly inputs: readonly (TensorType | null)[];
  readonly consts: readonly (Tensor | undefined)[];
  /** The node's input value ids (null for omitted optional inputs). */
  readonly ids: readonly (ValueId | null)[];
  /**
   * Adds a node (types inferred) and returns its outputs.
   * @param op ONNX op name @param inputs value ids (null: omitted) @param attrs attributes
   * @param outputs number of outputs (default 1) @param domain op domain (default '' = ai.onnx)
   */
  op(op: string, inputs: readonly (ValueId | null)[], attrs?: Record<string, AttrValue>, outputs?: number, domain?: string): ValueId[];
  /** `op` for a single-output node. */
  op1(op: string, inputs: readonly (ValueId | null)[], attrs?: Record<string, AttrValue>): ValueId;
  /** Adds a constant. */
  constant(t: Tensor): ValueId;
  /** A rank-0 constant of `dtype` holding `v`. */
  scalar(dtype: DType, v: number): ValueId;
  /** A rank-1 int64 constant (shapes, axes, slice bounds). */
  int64s(values: readonly number[]): ValueId;
  /**
   * A Reduce* node over `axes` in the form the graph's opset takes (attribute or input).
   * @param op e.g. 'ReduceMean' @param x input @param axes non-negative axes @param keepdims keep reduced dims as 1
   */
  reduce(op: string, x: ValueId, axes: readonly number[], keepdims?: boolean): ValueId;
  /** Type of a value (inputs of the node or values built so far). */
  typeOf(id: ValueId): TensorType;
  /**
   * Copies a subgraph's nodes in, its inputs bound to `inputs` and its captures to `captures`;
   * returns its outputs, or null when it holds nested subgraphs.
   */
  inline(body: Graph, inputs: readonly ValueId[], captures: readonly ValueId[]): ValueId[] | null;
}

/**
 * One op: schema, attribute parsing, shape inference, reference kernel and cost, in one place.
 * @typeParam A typed attributes produced by `attrs`
 */
export interface OpDef<A = unknown> {
  name: string;
  /** '' for ai.onnx, 'com.microsoft', 'edgec', ... */
  domain: string;
  /** Lowest opset version with these semantics handled (older versions are rejected). */
  since: number;
  /** Number of inputs accepted [min, max] (max Infinity for variadic). */
  arity: [number, number];
  /** Parses and validates attributes once (throw with `AttrReader` errors). */
  attrs: (r: AttrReader, ctx: OpCtx) => A;
  /** Output types from input types. */
  infer: (ctx: InferCtx, a: A) => TensorType[];
  /** Reference kernel: slow and obviously correct (float64 accumulation). */
  ref: (inputs: (Tensor | null)[], a: A, ctx: OpCtx) => Tensor[];
  /**
   * Reference kernel on any runtime value (sequences, optionals) and with subgraphs; the
   * interpreter calls it instead of `ref` when present. Inputs include a node's implicit inputs.
   */
  run?: (inputs: (RtValue | null)[], a: A, ctx: RunCtx) => RtValue[];
  /**
   * Output values known at inference time without running on input data (e.g. Shape of a static
   * shape). Undefined entries are unknown. Without this hook, inferShapes propagates small values
   * by running `ref` when every input value is known (ONNX-style data propagation).
   */
  value?: (ctx: InferCtx, a: A, outputs: TensorType[]) => (Tensor | undefined)[];
  /** Cost; defaults to zero MACs and one flop per output element. */
  cost?: (ctx: InferCtx, a: A, outputs: TensorType[]) => Cost;
  tolerance?: Partial<Record<DType, Tolerance>>;
  /** Target lowering hooks; filled in by target packages via registerLowering. */
  lower?: Partial<Record<TargetName, (node: Node, g: Graph, a: A) => Lowering | null>>;
  /**
   * Expresses the node through primitive ops, for targets without a kernel for it (the decompose
   * pass). Returns one value per node output (null for an output it does not build, allowed only
   * when that output is unused), or null when this node cannot be expanded (e.g. symbolic shapes).
   */
  decompose?: (b: DecomposeBuilder, a: A) => (ValueId | null)[] | null;
}

const REGISTRY = new Map<string, OpDef<any>>();

function key(domain: string, name: string): string {
  return `${normDomain(domain)}::${name}`;
}

/** '' and 'ai.onnx' are the same domain. */
export function normDomain(d: string): string {
  return d === 'ai.onnx' ? '' : d;
}

/** Defines and registers an op. One definition per op name and domain. */
export function defineOp<A>(def: OpDef<A>): OpDef<A> {
  const k = key(def.domain, def.name);
  if (REGISTRY.has(k)) throw new Error(`op ${k} defined twice`);
  REGISTRY.set(k, def as OpDef<any>);
  return def;
}

export function getOp(domain: string, name: string): OpDef<any> | undefined {
  return REGISTRY.get(key(domain, name));
}

/** All registered ops. */
export function allOps(): OpDef<any>[] {
  return [...REGISTRY.values()];
}

/** Looks up the op of a node or throws an 'unsupported' error naming op, node and opset. */
export function opOf(node: Node, g: Graph): OpDef<any> {
  const def = getOp(node.domain, node.op);
  const opset = g.opsets[normDomain(node.domain)] ?? g.opset;
  if (!def) {
    const dom = node.domain ? `${node.domain}.` : '';
    throw unsupported(`unsupported op ${dom}${node.op}`, { node: node.name, op: node.op, opset });
  }
  return def;
}

/** Opset version that applies to a node. */
export function opsetOf(node: Node, g: Graph): number {
  return g.opsets[normDomain(node.domain)] ?? (normDomain(node.domain) === '' ? g.opset : 1);
}

const attrCache = new WeakMap<Node, { attrs: Attrs; opset: number; parsed: unknown }>();

/** Parses a node's attributes with its op's schema (cached per node and attrs object). */
export function parseAttrs<A>(def: OpDef<A>, node: Node, opset: number): A {
  const c = attrCache.get(node);
  if (c && c.attrs === node.attrs && c.opset === opset) return c.parsed as A;
  const r = new AttrReader(node, opset);
  let parsed: A;
  try {
    parsed = def.attrs(r, { opset, node });
  } catch (e) {
    if (e instanceof EdgecError) throw e.withContext({ node: node.name, op: node.op, opset });
    throw e;
  }
  attrCache.set(node, { attrs: node.attrs, opset, parsed });
  return parsed;
}

/**
 * Typed access to a node's attributes with defaults and validation. Every getter throws an
 * 'invalid' EdgecError naming the attribute when the stored value has the wrong kind.
 */
export class AttrReader {
  constructor(readonly node: Node, readonly opset: number) {}

  has(name: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.node.attrs, name);
  }
  private raw(name: string): AttrValue | undefined {
    return this.has(name) ? this.node.attrs[name] : undefined;
  }
  private bad(name: string, want: string): EdgecError {
    return invalid(`attribute "${name}" must be ${want}`, { node: this.node.name, op: this.node.op, opset: this.opset });
  }
  /** An error about an attribute's value (for op-specific validation). */
  error(msg: string): EdgecError {
    return invalid(msg, { node: this.node.name, op: this.node.op, opset: this.opset });
  }
  unsupported(msg: string): EdgecError {
    return unsupported(msg, { node: this.node.name, op: this.node.op, opset: this.opset });
  }

  int(name: string, def: number): number;
  int(name: string): number | undefined;
  int(name: string, def?: number): number | undefined {
    const v = this.raw(name);
    if (v === undefined) return def;
    if (typeof v !== 'number' || !Number.isInteger(v)) throw this.bad(name, 'an integer');
    return v;
  }
  float(name: string, def: number): number;
  float(name: string): number | undefined;
  float(name: string, def?: number): number | undefined {
    const v = this.raw(name);
    if (v === undefined) return def;
    if (typeof v !== 'number') throw this.bad(name, 'a number');
    return v;
  }
  string(name: string, def: string): string;
  string(name: string): string | undefined;
  string(name: string, def?: string): string | undefined {
    const v = this.raw(name);
    if (v === undefined) return def;
    if (typeof v !== 'string') throw this.bad(name, 'a string');
    return v;
  }
  ints(name: string, def: number[]): number[];
  ints(name: string): number[] | undefined;
  ints(name: string, def?: number[]): number[] | undefined {
    const v = this.raw(name);
    if (v === undefined) return def;
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isInteger(x))) {
      throw this.bad(name, 'a list of integers');
    }
    return v as number[];
  }
  floats(name: string, def: number[]): number[];
  floats(name: string): number[] | undefined;
  floats(name: string, def?: number[]): number[] | undefined {
    const v = this.raw(name);
    if (v === undefined) return def;
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'number')) throw this.bad(name, 'a list of numbers');
    return v as number[];
  }
  strings(name: string): string[] | undefined {
    const v = this.raw(name);
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw this.bad(name, 'a list of strings');
    return v as string[];
  }
  tensor(name: string): Tensor | undefined {
    const v = this.raw(name);
    if (v === undefined) return undefined;
    if (!(v instanceof Tensor)) throw this.bad(name, 'a tensor');
    return v;
  }
  /** A subgraph attribute. */
  graph(name: string): Graph | undefined {
    const v = this.raw(name);
    if (v === undefined) return undefined;
    if (!(v instanceof Graph)) throw this.bad(name, 'a graph');
    return v;
  }
  /** Value must be one of `allowed`. */
  oneOf<T extends string>(name: string, def: T, allowed: readonly T[]): T {
    const v = this.string(name, def);
    if (!(allowed as readonly string[]).includes(v)) {
      throw this.error(`attribute "${name}" is "${v}", expected one of ${allowed.join(', ')}`);
    }
    return v as T;
  }
}

/** Normalizes a possibly negative axis against a rank, throwing a clear error when out of range. */
export function normAxis(axis: number, rank: number, what = 'axis'): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) {
    throw invalid(`${what} ${axis} is out of range for rank ${rank}`);
  }
  return a;
}

/** Numpy-style broadcast of several shapes (symbolic dims broadcast when equal or against 1). */
export function broadcastShapes(shapes: Shape[]): Dim[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let d: Dim = 1;
    for (const s of shapes) {
      const k = s.length - rank + i;
      if (k < 0) continue;
      const x = s[k]!;
      if (x === 1) continue;
      if (d === 1) d = x;
      else if (d !== x) {
        if (typeof d === 'string' || typeof x === 'string') {
          d = typeof d === 'number' ? d : x; // assume compatible; runtime will check
        } else {
          throw invalid(`shapes ${shapes.map((q) => `[${q.join(',')}]`).join(' and ')} cannot be broadcast`);
        }
      }
    }
    out.push(d);
  }
  return out;
}

/** Requires input i to be present, or throws an 'invalid' error. */
export function need<T>(x: T | null | undefined, i: number, op: string): T {
  if (x === null || x === undefined) throw invalid(`${op}: input ${i} is required`);
  return x;
}
