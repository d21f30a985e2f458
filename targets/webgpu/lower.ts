/**
 * Lowering of an optimized graph (concrete shapes) to WebGPU dispatches.
 *
 * Each node becomes zero or more steps: a kernel id (kernels/index.ts) with JSON parameters (every
 * attribute and shape the WGSL depends on) and named operands that are runtime values or constant
 * blobs. Runtime values live in one storage-buffer arena laid out by the wasm target's greedy
 * memory planner (targets/wasm/memory-plan.ts); constants (weights, precomputed index tables) live
 * in a read-only weights buffer uploaded once at create(). Reshape-like ops are aliases (no copy);
 * nodes whose inputs are all constant are evaluated at compile time with the reference kernels.
 * An op, attribute combination or dtype without a WebGPU lowering is an 'unsupported' EdgecError
 * naming the op and node.
 *
 * This file is the driver: each op family's lowerings live in ops/<family>.ts (mirroring
 * compiler/ops/<family>.ts), the shared lowering context and helpers in ctx.ts.
 */
import { Graph, Node } from '../../compiler/ir/graph.js';
import { numel } from '../../compiler/ir/tensor.js';
import { planMemory } from '../wasm/memory-plan.js';
import { aliasRoots, inputBuffers, liveBuffers, outputBuffers } from '../common/lowered.js';
import { stridesOf } from './wgsl/shader.js';
import { LowerCtx, LowerFn, Lowered, copyView, isWide, qelem, qop, val, valueBytes } from './ctx.js';
import { storeElem, wordsOf } from './wgsl/qshader.js';
import { ACTIVATION_LOWERINGS } from './ops/activation.js';
import { CONTROL_LOWERINGS, lowerDropoutMask } from './ops/control.js';
import { CONV_INT_LOWERINGS, CONV_LOWERINGS } from './ops/conv.js';
import { ELEMENTWISE_INT_LOWERINGS, ELEMENTWISE_LOWERINGS } from './ops/elementwise.js';
import { F16_LOWERINGS } from './ops/f16.js';
import { IMAGE_INT_LOWERINGS, IMAGE_LOWERINGS } from './ops/image.js';
import { MATMUL_INT_LOWERINGS, MATMUL_LOWERINGS } from './ops/matmul.js';
import { NORM_LOWERINGS } from './ops/norm.js';
import { POOL_INT_LOWERINGS, POOL_LOWERINGS } from './ops/pool.js';
import { INT8_LOWERINGS, isIntNode } from './ops/qint.js';
import { REDUCE_INT_LOWERINGS, REDUCE_LOWERINGS } from './ops/reduce.js';
import { RNN_INT_LOWERINGS } from './ops/rnn.js';
import { INDEX_LOWERINGS, SHAPE_LOWERINGS, SHAPE_TYPED_LOWERINGS } from './ops/shape.js';
import { SIGNAL_INT_LOWERINGS, SIGNAL_LOWERINGS } from './ops/signal.js';

export type { Lowered, Operand, RuntimeBuffer, Step } from './ctx.js';
export { LowerCtx } from './ctx.js';

/** Ops whose output is the input's bytes under another shape. */
const ALIAS_OPS = new Set(['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Identity', 'Dropout']);

/** Lowering functions by qualified op name ('edgec.X' for the edgec domain), one table per op family. */
export const LOWERINGS: Readonly<Record<string, LowerFn>> = {
  ...CONV_LOWERINGS, ...MATMUL_LOWERINGS, ...NORM_LOWERINGS, ...ELEMENTWISE_LOWERINGS, ...ACTIVATION_LOWERINGS,
  ...REDUCE_LOWERINGS, ...POOL_LOWERINGS, ...SHAPE_LOWERINGS, ...IMAGE_LOWERINGS, ...CONTROL_LOWERINGS, ...F16_LOWERINGS,
  ...SIGNAL_LOWERINGS,
};

/**
 * Lowerings of nodes with integer / bool runtime values (ops/qint.ts isIntNode), by qualified op
 * name: the integer ops and integer data movement, integer / bool elementwise ops, casts, ArgMax.
 */
export const INT_LOWERINGS: Readonly<Record<string, LowerFn>> = {
  ...ELEMENTWISE_INT_LOWERINGS, ...REDUCE_INT_LOWERINGS, ...SHAPE_TYPED_LOWERINGS, ...CONTROL_LOWERINGS, ...INT8_LOWERINGS, ...INDEX_LOWERINGS, ...MATMUL_INT_LOWERINGS,
  ...IMAGE_INT_LOWERINGS, ...SIGNAL_INT_LOWERINGS, ...CONV_INT_LOWERINGS, ...POOL_INT_LOWERINGS, ...RNN_INT_LOWERINGS,
};

/** Qualified op name of a node for the lowering table. */
function qualified(n: Node): string {
  return n.domain === '' || n.domain === 'ai.onnx' ? n.op : `${n.domain}.${n.op}`;
}

/**
 * Lowers an optimized graph to dispatch steps and an arena plan.
 * @param g graph with concrete shapes (after the webgpu pipeline)
 * @param opts f16Weights: store f32 blobs whose values are all f16 numbers as f16 (--fp16)
 */
export function lowerGraph(g: Graph, opts: { f16Weights?: boolean } = {}): Lowered {
  const c = new LowerCtx(g, opts.f16Weights ?? false);
  const layers = c.lowerNodes(() => c.steps.length, (n) => {
    const int = isIntNode(c, n);
    if (ALIAS_OPS.has(n.op) && n.domain === '') {
      if (n.op === 'Dropout') lowerDropoutMask(c, n);
      if (g.typeOf(n.inputs[0]!).dtype !== g.typeOf(n.outputs[0]!).dtype) throw c.unsupported(`${n.op} changes the dtype`);
      c.checkStorable(n.inputs[0]!);
      c.parent.set(n.outputs[0]!, n.inputs[0]!);
      return;
    }
    if (int) {
      const fn = INT_LOWERINGS[qualified(n)];
      if (!fn) {
        const dts = [...new Set([...n.inputs.filter((x) => x !== null), ...n.outputs].map((id) => g.typeOf(id!).dtype))].join('/');
        throw c.unsupported(`no webgpu lowering for op ${qualified(n)} on ${dts} tensors`);
      }
      fn(c, n);
      return;
    }
    // Where, IsNaN / IsInf, GatherElements, Trilu on f32 values (constant conditions / indices): the typed lowerings
    const fn = LOWERINGS[qualified(n)] ?? INT_LOWERINGS[qualified(n)];
    if (!fn) throw c.unsupported(`no webgpu lowering for op ${qualified(n)}`);
    if (!(qualified(n) in LOWERINGS)) {
      for (const id of [...n.inputs, ...n.outputs]) if (id != null) c.checkStorable(id);
      fn(c, n);
      return;
    }
    for (const o of n.outputs) if (g.useCount(o) > 0 || g.outputs.includes(o)) c.checkRuntime(o);
    fn(c, n);
  });
  return finish(c, layers);
}

/** Resolves aliases, adds output copies, computes live ranges and plans the arena. */
function finish(c: LowerCtx, layers: Node[]): Lowered {
  const rootOf = aliasRoots(c.parent);
  const outputs = outputBuffers(c, rootOf, (o, r) => {
    const shape = c.shape(o);
    const dt = c.g.typeOf(o).dtype;
    const id = c.temp(wordsOf(dt, numel(shape)) * 4);
    const srcId = c.consts.has(o) ? o : r;
    if (dt === 'f32') {
      const src = c.consts.has(srcId) ? c.op(srcId) : val(srcId);
      copyView(c, val(id), numel(shape), stridesOf(shape), 0, src, numel(shape), stridesOf(shape), 0, shape);
    } else if (numel(shape) > 0) {
      // integer outputs: packed copy (an input stored wide is read with the i32 loader)
      const el = storeElem(dt);
      c.emit('qview_b', { el, xel: srcId >= 0 ? qelem(c, srcId, el) : el, dims: shape, strides: stridesOf(shape), offset: 0 }, { x: qop(c, srcId), y: val(id) });
    }
    return id;
  });
  // 8-bit outputs stored wide (one word per element) are packed for the host
  for (const o of outputs) {
    if (o.id < 0 || !isWide(c, o.id) || numel(o.shape) === 0) continue;
    const el = storeElem(o.dtype);
    const id = c.temp(wordsOf(o.dtype, numel(o.shape)) * 4);
    c.node = { id: -1, op: 'Identity', domain: '', inputs: [o.id], outputs: [o.id], attrs: {}, name: o.name };
    c.emit('qview_b', { el, xel: 'i32', dims: o.shape, strides: stridesOf(o.shape), offset: 0 }, { x: val(o.id), y: val(id) });
    o.id = id;
  }
  const bytesOf = (id: number): number => (id < 0 ? c.temps.get(id)! : valueBytes(c, id));
  const buffers = liveBuffers(c, rootOf, c.steps, outputs, bytesOf);
  const plan = planMemory([...buffers].map(([key, b]) => ({ key, bytes: b.bytes, first: b.first, last: b.last })), 16);
  return { steps: c.steps, blobs: c.blobs, codecs: c.codecs, rootOf, buffers, plan, inputs: inputBuffers(c), outputs, layers };
}
