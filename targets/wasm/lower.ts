/**
 * Lowering of an optimized graph (concrete shapes) to a list of kernel calls on one linear memory.
 *
 * Each node becomes zero or more steps: a call of a runtime-wasm kernel with the address of a
 * parameter block (kernels.ts lists the layouts). Parameter words refer to runtime buffers
 * (planned into the arena by memory-plan.ts), to constant blobs (weights, tables: placed in the
 * module's data segment) or to a per-step scratch buffer. Reshape-like ops are aliases (no copy);
 * elementwise ops may run in place. Nodes whose inputs are all constant are evaluated at compile
 * time with the reference kernels. An op, attribute combination or dtype without a wasm lowering
 * is an 'unsupported' EdgecError naming the op and node, never a silent fallback.
 *
 * This file is the driver: each op family's lowerings live in ops/<family>.ts (mirroring
 * compiler/ops/<family>.ts), the shared lowering context and helpers in ctx.ts.
 */
import { Graph, Node, ValueId } from '../../compiler/ir/graph.js';
import { Tensor, numel } from '../../compiler/ir/tensor.js';
import { contiguous } from '../common/params.js';
import { BufferReq, extendOverLoops, loopRanges, planMemory } from './memory-plan.js';
import { aliasRoots, inputBuffers, liveBuffers, outputBuffers } from '../common/lowered.js';
import { LowerCtx, LowerFn, LowerOptions, Lowered, copyView } from './ctx.js';
import { ACTIVATION_LOWERINGS } from './ops/activation.js';
import { CONTROL_LOWERINGS } from './ops/control.js';
import { CONV_LOWERINGS } from './ops/conv.js';
import { ELEMENTWISE_LOWERINGS } from './ops/elementwise.js';
import { F16_LOWERINGS } from './ops/f16.js';
import { IMAGE_LOWERINGS } from './ops/image.js';
import { MATMUL_LOWERINGS } from './ops/matmul.js';
import { NORM_LOWERINGS } from './ops/norm.js';
import { POOL_LOWERINGS } from './ops/pool.js';
import { INT8_LOWERINGS, wrap4Outputs } from './ops/qint.js';
import { REDUCE_LOWERINGS } from './ops/reduce.js';
import { SHAPE_LOWERINGS } from './ops/shape.js';
import { RNN_LOWERINGS } from './ops/rnn.js';
import { DETECTION_LOWERINGS } from './ops/detection.js';
import { SIGNAL_LOWERINGS } from './ops/signal.js';
import { ML_LOWERINGS } from './ops/ml.js';
import { ATTENTION_LOWERINGS } from './ops/attention.js';

export type { LowerOptions, Lowered, RuntimeBuffer, Step, Word } from './ctx.js';
export { LowerCtx, coalesce } from './ctx.js';
export { depthwiseScratchBytes, packRows4, winogradScratchBytes, winogradWeights } from './ops/conv.js';
export { packB } from './ops/matmul.js';

/** Ops whose output is the input's bytes under another shape. */
export const ALIAS_OPS: ReadonlySet<string> = new Set(['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Identity', 'Dropout']);

/** Lowering functions by qualified op name ('edgec.X' for the edgec domain), one table per op family. */
export const LOWERINGS: Readonly<Record<string, LowerFn>> = {
  ...CONV_LOWERINGS, ...MATMUL_LOWERINGS, ...NORM_LOWERINGS, ...ELEMENTWISE_LOWERINGS, ...ACTIVATION_LOWERINGS,
  ...REDUCE_LOWERINGS, ...POOL_LOWERINGS, ...SHAPE_LOWERINGS, ...IMAGE_LOWERINGS, ...CONTROL_LOWERINGS, ...F16_LOWERINGS,
  ...INT8_LOWERINGS,
  ...RNN_LOWERINGS,
  ...DETECTION_LOWERINGS,
  ...SIGNAL_LOWERINGS,
  ...ML_LOWERINGS,
  ...ATTENTION_LOWERINGS,
};

/** A constant of ones with a value's dtype and shape (Dropout's inference mask). */
function onesLike(c: LowerCtx, id: ValueId): Tensor {
  const t = Tensor.zeros(c.g.typeOf(id).dtype, c.shape(id));
  for (let i = 0; i < t.size; i++) t.set(i, 1);
  return t;
}

/** Qualified op name of a node for the lowering table. */
export function qualified(n: Node): string {
  return n.domain === '' || n.domain === 'ai.onnx' ? n.op : `${n.domain}.${n.op}`;
}

/**
 * Lowers an optimized graph to kernel steps and a memory plan.
 * @param g graph with concrete shapes (after the wasm pipeline)
 */
export function lowerGraph(g: Graph, opts: LowerOptions = {}): Lowered {
  const c = new LowerCtx(g, opts);
  const lowerOne = (n: Node): void => {
    if (ALIAS_OPS.has(n.op) && n.domain === '') {
      // inference Dropout (the reference's only mode: training with ratio > 0 is unsupported there): mask all true
      if (n.op === 'Dropout' && c.opset >= 12 && c.isConst(n.inputs[2]) && c.constOf(n.inputs[2], 'training_mode').get(0) !== 0
        && (n.inputs[1] === null || n.inputs[1] === undefined || !c.isConst(n.inputs[1]) || c.constOf(n.inputs[1], 'ratio').get(0) > 0)) {
        throw c.unsupported('Dropout in training mode (random masks)');
      }
      if (n.op === 'Dropout' && n.outputs.length > 1 && g.useCount(n.outputs[1]!) > 0) c.consts.set(n.outputs[1]!, onesLike(c, n.outputs[1]!));
      if (c.g.typeOf(n.inputs[0]!).dtype !== c.g.typeOf(n.outputs[0]!).dtype) throw c.unsupported(`${n.op} changes the dtype`);
      c.esize(n.inputs[0]!);
      c.parent.set(n.outputs[0]!, n.inputs[0]!);
      return;
    }
    const fn = LOWERINGS[qualified(n)];
    if (!fn) throw c.unsupported(`no wasm lowering for op ${qualified(n)}`);
    fn(c, n);
    wrap4Outputs(c, n);
  };
  // If/Loop/Scan bodies (ops/control.ts) lower their nodes through the same function
  c.lowerHook = lowerOne;
  const layers = c.lowerNodes(() => c.steps.length, lowerOne);
  return finish(c, [...layers, ...c.bodyLayers]);
}

/**
 * Resolves aliases, decides in-place reuse, computes live ranges and plans the arena. Alias roots,
 * output copies and live ranges are the arena targets' shared steps (targets/common/lowered.ts);
 * in-place reuse, loops (control steps) and per-step scratch buffers are wasm's own.
 */
function finish(c: LowerCtx, layers: Node[]): Lowered {
  const g = c.g;
  const parent = c.parent;
  const rootOf = aliasRoots(parent);
  const steps = c.steps;
  // graph outputs that are constants, graph inputs, or share a buffer with an earlier output get a copy
  const outputs = outputBuffers(c, rootOf, (o, r) => {
    const shape = c.shape(o);
    // a raw copy of the value's bytes, whatever its dtype (element size from the data-movement table)
    const id = c.temp(c.valueBytes(o));
    const src = c.consts.has(o) ? c.vaddr(o) : c.vaddr(r);
    copyView(c, { k: 'buf', id, off: 0 }, contiguous(shape), src, contiguous(shape), shape, { reads: [o], writes: [id] }, c.esize(o));
    return numel(shape) === 0 ? o : id;
  });
  const bytesOf = (id: number): number => (id < 0 ? c.temps.get(id)! : c.valueBytes(id));
  // live ranges before in-place reuse; loops (control steps): a buffer used inside a loop and
  // outside it lives over the whole loop
  const loops = loopRanges(steps);
  const lastUse = new Map<number, number>();
  const crossing = new Set<number>();
  for (const [r, b] of liveBuffers(c, rootOf, steps, outputs, bytesOf)) {
    const [f2, l2] = extendOverLoops(b.first, b.last, loops);
    if (f2 !== b.first || l2 !== b.last) crossing.add(r);
    lastUse.set(r, l2);
  }
  // in-place: the output takes the input's buffer when the input dies at this step
  const inputSet = new Set(g.inputs);
  const outRoots = new Set(outputs.map((o) => rootOf(o.id)));
  steps.forEach((s, i) => {
    if (!s.inplace) return;
    const [x, y] = s.inplace;
    const rx = rootOf(x);
    const ry = rootOf(y);
    if (rx === ry || inputSet.has(rx) || c.consts.has(rx) || outRoots.has(rx) || parent.has(y) || crossing.has(rx) || crossing.has(ry)) return;
    if ((lastUse.get(rx) ?? -1) !== i || bytesOf(rx) !== bytesOf(ry)) return;
    const firstWrite = steps.findIndex((t) => t.writes.some((w) => rootOf(w) === ry));
    if (firstWrite !== i) return;
    parent.set(ry, rx);
    lastUse.set(rx, Math.max(lastUse.get(rx)!, lastUse.get(ry) ?? i));
    if (outRoots.has(ry)) outRoots.add(rx);
  });
  // buffers (after in-place reuse)
  const buffers = liveBuffers(c, rootOf, steps, outputs, bytesOf);
  for (const b of buffers.values()) [b.first, b.last] = extendOverLoops(b.first, b.last, loops);
  const reqs: BufferReq[] = [...buffers].map(([key, b]) => ({ key, bytes: b.bytes, first: b.first, last: b.last }));
  const scratchKey = new Map<number, number>();
  let sk = Math.min(-1, ...c.temps.keys()) - 1;
  steps.forEach((s, i) => {
    if (s.scratchBytes > 0) {
      scratchKey.set(i, sk);
      reqs.push({ key: sk, bytes: s.scratchBytes, first: i, last: i });
      sk--;
    }
  });
  const plan = planMemory(reqs, 16);
  return { steps, blobs: c.blobs, codecs: c.codecs, rootOf, buffers, plan, scratchKey, inputs: inputBuffers(c), outputs, layers };
}

