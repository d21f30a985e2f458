/**
 * --fp16: weights and activations stored as IEEE half. Graph rewrite on a copy:
 * - float32 constants become float16 constants (values rounded to nearest even);
 * - each float32 graph input gets Cast(to=FLOAT16) behind it, each float output Cast(to=FLOAT)
 *   in front of it, so the model's interface stays float32;
 * - Cast nodes inside the graph that produce float32 produce float16 instead.
 * Every op then computes in f16: the reference rounds each op's output to f16 (per-op rounding).
 * Constants an op requires in float32 (Resize roi/scales) stay float32.
 */
import { Graph, Node, ValueId } from '../compiler/ir/graph.js';
import { Tensor } from '../compiler/ir/tensor.js';
import { ONNX_DTYPE } from '../compiler/ir/dtype.js';
import { inferShapes } from '../compiler/interp/interp.js';
import { EdgecError, unsupported } from '../compiler/errors.js';
import type { LayerInfo } from './qdq.js';

/** Inputs (by op) that must stay float32. */
const KEEP_F32: Readonly<Record<string, readonly number[]>> = { Resize: [1, 2], Upsample: [1] };

export interface RewriteResult {
  graph: Graph;
  layers: LayerInfo[];
  floatIslands: { node: string; op: string }[];
}

/**
 * Converts a float32 graph to float16 storage and compute.
 * @param src prepared float graph (not modified)
 */
export function toFp16(src: Graph): RewriteResult {
  const g = src.clone();
  const uses = g.uses();
  const keep = new Set<ValueId>();
  for (const n of g.nodes.values()) {
    const k = KEEP_F32[n.op];
    if (k) for (const i of k) if (n.inputs[i] != null) keep.add(n.inputs[i]!);
  }
  for (const [id, t] of [...g.consts]) {
    if (t.dtype !== 'f32' || keep.has(id)) continue;
    const h = Tensor.from('f16', t.shape, t.data as Float32Array);
    g.consts.set(id, h);
    g.value(id).type = h.type;
  }
  for (const n of g.nodes.values()) {
    if (n.op === 'Cast' && n.domain === '' && n.attrs['to'] === ONNX_DTYPE.f32) n.attrs = { ...n.attrs, to: ONNX_DTYPE.f16 };
  }
  const first = g.order[0];
  for (const x of g.inputs) {
    if (g.typeOf(x).dtype !== 'f32') continue;
    const h = g.addValue(`${g.value(x).name}_fp16`, { dtype: 'f16', shape: g.typeOf(x).shape }).id;
    for (const n of uses.get(x) ?? []) n.inputs = n.inputs.map((v) => (v === x ? h : v));
    g.addNode({ op: 'Cast', inputs: [x], outputs: [h], attrs: { to: ONNX_DTYPE.f16 }, name: `${g.value(x).name}.to_fp16` }, first);
  }
  g.toposort();
  try {
    inferShapes(g);
  } catch (e) {
    if (e instanceof EdgecError) throw unsupported(`--fp16: the model does not type-check in float16: ${e.message}`, e.ctx);
    throw e;
  }
  g.outputs = g.outputs.map((o) => {
    if (g.typeOf(o).dtype !== 'f16') return o;
    const name = g.value(o).name;
    const f = g.addValue(name, { dtype: 'f32', shape: g.typeOf(o).shape }).id;
    g.value(o).name = `${name}_fp16`;
    g.addNode({ op: 'Cast', inputs: [o], outputs: [f], attrs: { to: ONNX_DTYPE.f32 }, name: `${name}.to_fp32` });
    return f;
  });
  g.toposort();
  inferShapes(g);
  const layers: LayerInfo[] = g.orderedNodes().filter((n: Node) => n.op !== 'Cast').map((n) => ({ node: n.name, op: n.op, mode: 'float' as const }));
  return { graph: g, layers, floatIslands: [] };
}
