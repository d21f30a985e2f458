/**
 * Runs an --fp16 graph (quantize/fp16.ts: f16 constants and values, Cast at the interface) on a
 * target that computes in f32: every f16 value becomes an f32 value holding the same number, and
 * every place where the f16 graph creates a new f16 value rounds it with `edgec.RoundF16`
 * (compiler/ops/f16.ts), so the f32 graph computes what the reference computes for the f16 graph
 * (per-op rounding to f16) up to the f32-vs-f64 accumulation inside each op.
 *
 *   f16 const c                 -> f32 const c (same values; targets store them as f16, see compress.ts)
 *   f16 graph input x           -> f32 input x, RoundF16(x) for its uses
 *   Cast(x: f32 -> f16)         -> RoundF16(x)
 *   Cast(x: f16 -> f32 | f16)   -> Identity(x)            (x already holds an f16 number)
 *   Cast(x: int -> f16)         -> RoundF16(Cast(x -> f32))
 *   y: f16 = Op(...)            -> RoundF16(Op(...)): f32, unless Op only moves or selects f16
 *                                  values (Relu, MaxPool, Reshape, Concat, ...: already exact)
 */
import { Graph, Node, ValueId } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { ONNX_DTYPE, roundF16 } from '../../compiler/ir/dtype.js';
import { inferShapes } from '../../compiler/interp/interp.js';
import { unsupported } from '../../compiler/errors.js';
import '../../compiler/ops/index.js';

/**
 * ONNX ops whose outputs are f16 numbers whenever their float inputs are: they move, select or
 * negate input values (min/max, sign changes) without arithmetic that could leave the f16 grid.
 */
const EXACT_OPS = new Set([
  'Relu', 'MaxPool', 'GlobalMaxPool', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Identity', 'Dropout', 'Transpose',
  'Concat', 'Split', 'Slice', 'Gather', 'Expand', 'Tile', 'DepthToSpace', 'SpaceToDepth', 'Max', 'Min', 'Neg', 'Abs',
  'ReduceMax', 'ReduceMin', 'Floor', 'Ceil', 'Round', 'Sign',
]);

/** Pad and Clip are exact when their constant attributes (old opsets) are f16 numbers. */
function exactNode(n: Node): boolean {
  if (n.domain !== '') return false;
  if (EXACT_OPS.has(n.op)) return true;
  if (n.op === 'Pad' || n.op === 'Clip') {
    return ['value', 'min', 'max'].every((k) => {
      const v = n.attrs[k];
      return typeof v !== 'number' || roundF16(v) === v;
    });
  }
  return false;
}

/** True when the graph holds f16 values (an --fp16 graph). */
export function hasF16(g: Graph): boolean {
  for (const v of g.values.values()) if (v.type.dtype === 'f16') return true;
  return false;
}

/**
 * The f32 form of an f16 graph (see the module comment). Returns a new graph; `src` is unchanged.
 * @param src graph with f16 values (concrete shapes)
 */
export function emulateF16(src: Graph): Graph {
  const g = src.clone();
  const wasF16 = new Set<ValueId>();
  for (const v of g.values.values()) {
    if (v.type.dtype !== 'f16') continue;
    wasF16.add(v.id);
    v.type = { ...v.type, dtype: 'f32' };
  }
  for (const [id, t] of [...g.consts]) {
    if (t.dtype !== 'f16') continue;
    g.consts.set(id, new Tensor('f32', t.shape, Float32Array.from(t.data as Float32Array)));
  }
  const first = g.order[0];
  for (const x of g.inputs) {
    if (!wasF16.has(x) || g.useCount(x) === 0) continue;
    const v = g.value(x);
    const r = g.addValue(`${v.name}.f16`, { dtype: 'f32', shape: v.type.shape }).id;
    g.replaceAllUses(x, r);
    g.addNode({ op: 'RoundF16', domain: 'edgec', inputs: [x], outputs: [r], name: `${v.name}.round_f16` }, first);
  }
  for (const n of g.orderedNodes()) {
    if (n.op === 'Cast' && n.domain === '') {
      const x = n.inputs[0]!;
      const y = n.outputs[0]!;
      if (!wasF16.has(y)) continue;
      if (wasF16.has(x)) {
        n.op = 'Identity';
        n.attrs = {};
      } else if (g.typeOf(x).dtype === 'f32') {
        n.op = 'RoundF16';
        n.domain = 'edgec';
        n.attrs = {};
      } else {
        n.attrs = { ...n.attrs, to: ONNX_DTYPE.f32 };
        roundAfter(g, n, y);
      }
      continue;
    }
    if (exactNode(n)) continue;
    for (const y of n.outputs) if (wasF16.has(y) && g.useCount(y) > 0) roundAfter(g, n, y);
  }
  g.toposort();
  inferShapes(g);
  for (const v of g.values.values()) {
    if (v.type.dtype === 'f16') throw unsupported(`--fp16: value "${v.name}" stays f16 after the f32 rewrite (producer ${v.producer !== undefined ? g.node(v.producer).op : 'none'})`);
  }
  return g;
}

/** Inserts y' = RoundF16(y) after node n and moves every use of y (and graph outputs) to y'. */
function roundAfter(g: Graph, n: Node, y: ValueId): void {
  const v = g.value(y);
  const r = g.addValue(`${v.name}.f16`, { dtype: 'f32', shape: v.type.shape }).id;
  g.replaceAllUses(y, r);
  const idx = g.order.indexOf(n.id);
  const next = g.order[idx + 1];
  g.addNode({ op: 'RoundF16', domain: 'edgec', inputs: [y], outputs: [r], name: `${n.name}.round_f16` }, next);
}
