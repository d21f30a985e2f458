/**
 * The last step of lowering every arena-based target shares (wasm, webgpu): resolving aliases
 * (Reshape-like ops, in-place reuse) to buffer roots, giving graph outputs that would share a
 * buffer with a constant, a graph input or an earlier output a copy of their own, and computing
 * each runtime buffer's live range [first, last] in step indices for the memory planner.
 */
import { Graph, Node, ValueId } from '../../compiler/ir/graph.js';
import type { Tensor } from '../../compiler/ir/tensor.js';
import type { MemoryPlan } from '../wasm/memory-plan.js';

/** A runtime buffer (root of an alias class) and its live range in step indices. */
export interface RuntimeBuffer {
  bytes: number;
  first: number;
  last: number;
}

/** A graph input or output of the lowered program: its buffer id (a value or a temporary) and type. */
export interface IoBuffer {
  id: number;
  name: string;
  shape: number[];
  dtype: string;
}

/**
 * Result of lowering for an arena-based target: its steps and constant blobs, the runtime buffers
 * with their arena offsets, and the model's I/O.
 * @typeParam S the target's step (kernel call or dispatch)
 * @typeParam B the target's constant blob storage
 * @typeParam C the target's blob codec (how a blob is stored in the weights file)
 */
export interface ArenaLowered<S, B, C> {
  steps: S[];
  /** Constant blobs (weights, tables). */
  blobs: B[];
  /** Storage of each blob (parallel to `blobs`), expanded when the model is created; undefined: as is. */
  codecs: (C | undefined)[];
  /** Buffer id (root) of every runtime value id and temporary. */
  rootOf: (id: number) => number;
  buffers: Map<number, RuntimeBuffer>;
  /** Byte offsets of buffer roots in the arena. */
  plan: MemoryPlan;
  inputs: IoBuffer[];
  outputs: IoBuffer[];
  /** Nodes that were lowered to kernel calls, in order (profiling layer names). */
  layers: Node[];
}

/** What the helpers read from a target's lowering context. */
export interface FinishCtx {
  readonly g: Graph;
  readonly consts: Map<ValueId, Tensor>;
  node: Node;
  shape(id: ValueId): number[];
  /** Checks that a graph input or output has a dtype the target holds. */
  checkIo(id: number): void;
}

/**
 * The alias-root function of a parent map (value -> the value whose buffer it shares).
 * @param parent alias edges
 */
export function aliasRoots(parent: ReadonlyMap<number, number>): (id: number) => number {
  return (id: number): number => {
    let r = id;
    while (parent.has(r)) r = parent.get(r)!;
    return r;
  };
}

/**
 * The graph outputs as runtime buffers, each checked (`c.checkIo`) with `c.node` set to an Identity
 * node named after the output. An output whose root is a constant, a graph input or the buffer of
 * an earlier output gets a copy: `copy(o, r)` emits it and returns the buffer id of the copy.
 * @param c lowering context
 * @param rootOf alias roots
 * @param copy emits the copy of output `o` (root `r`) and returns its buffer id
 */
export function outputBuffers(c: FinishCtx, rootOf: (id: number) => number, copy: (o: ValueId, r: number) => number): IoBuffer[] {
  const g = c.g;
  const outputs: IoBuffer[] = [];
  const seenRoots = new Set<number>();
  const inputSet = new Set(g.inputs);
  for (const o of g.outputs) {
    const v = g.value(o);
    const shape = c.shape(o);
    let id: number = o;
    const r = rootOf(o);
    c.node = { id: -1, op: 'Identity', domain: '', inputs: [o], outputs: [o], attrs: {}, name: v.name };
    c.checkIo(o);
    if (c.consts.has(r) || c.consts.has(o) || inputSet.has(r) || seenRoots.has(r)) id = copy(o, r);
    seenRoots.add(rootOf(id));
    outputs.push({ id, name: v.name, shape, dtype: v.type.dtype });
  }
  return outputs;
}

/**
 * Runtime buffers (by root) with their sizes and live ranges: graph inputs live from step -1,
 * outputs to the end (step `steps.length`); constants have no runtime buffer.
 * @param c lowering context
 * @param rootOf alias roots
 * @param steps the lowered steps' reads and writes (value ids or temporaries)
 * @param outputs the graph outputs' buffers
 * @param bytesOf bytes of a root buffer
 */
export function liveBuffers(c: FinishCtx, rootOf: (id: number) => number, steps: readonly { reads: readonly number[]; writes: readonly number[] }[],
  outputs: readonly IoBuffer[], bytesOf: (id: number) => number): Map<number, RuntimeBuffer> {
  const buffers = new Map<number, RuntimeBuffer>();
  const touch = (id: number, i: number) => {
    const r = rootOf(id);
    if (r >= 0 && c.consts.has(r)) return;
    const b = buffers.get(r);
    if (b) {
      b.first = Math.min(b.first, i);
      b.last = Math.max(b.last, i);
    } else buffers.set(r, { bytes: bytesOf(r), first: i, last: i });
  };
  for (const x of c.g.inputs) touch(x, -1);
  steps.forEach((s, i) => {
    s.reads.forEach((x) => touch(x, i));
    s.writes.forEach((x) => touch(x, i));
  });
  for (const o of outputs) touch(o.id, steps.length);
  return buffers;
}

/**
 * The graph inputs as runtime buffers (each checked to be a value the target can hold).
 * @param c lowering context
 */
export function inputBuffers(c: FinishCtx): IoBuffer[] {
  return c.g.inputs.map((id) => {
    const v = c.g.value(id);
    c.checkIo(id);
    return { id, name: v.name, shape: c.shape(id), dtype: v.type.dtype };
  });
}
