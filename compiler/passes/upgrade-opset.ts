/**
 * upgrade-opset: a version converter for the default ONNX domain (like onnx.version_converter).
 *
 * `upgradeOpset(g, target)` walks the opset versions from the graph's opset + 1 up to `target`
 * one at a time. At each version v it runs the adapters registered for v on every node of the op
 * they name; an adapter rewrites a node from its opset v-1 form into the equivalent opset v form
 * (attributes that became inputs, renamed or removed attributes, changed defaults and semantics).
 * Nodes an adapter creates are in the version-v form and are adapted further by later versions.
 * Finally the graph's default-domain opset is set to `target` and shapes are re-inferred.
 *
 * Ops whose schema changed only in compatible ways (new optional attributes or inputs whose
 * defaults keep the old behaviour, new types, negative axes allowed) need no adapter: Conv,
 * ConvTranspose, MaxPool/AveragePool (storage_order, ceil_mode, dilations, count_include_pad),
 * LpPool (pads), Gemm-11 (optional C), Flatten, Gather, Concat (negative axis), ArgMax/ArgMin
 * (select_last_index), TopK-11 (largest/sorted), Reshape-14 (allowzero), Shape-15 (start/end),
 * Size, Mod, Expand, Where, Tile-13, DepthToSpace-11 (mode DCR), OneHot, Sum/Max/Min/Mean (-8
 * broadcasting), Resize-18/19 (antialias, axes, policy), ScatterElements-16/18 (reduction),
 * QuantizeLinear/DequantizeLinear-19/21, Pad-18/19, Cast-13/19/21, Constant, Identity, ...
 *
 * Semantics that cannot be expressed at the target throw an 'unsupported' EdgecError naming the
 * op, the node and the versions: Resize-11/12 tf_half_pixel_for_nn (removed in 13), nearest
 * Resize-10 with scales unknown before running, BatchNormalization-7 spatial=0 with per-activation
 * statistics, used BatchNormalization training outputs (gone in 14), Split-1 / Tile-1 with
 * non-constant split / tiles inputs, non-integer LpPool-1 p, and nodes with subgraphs.
 *
 * Used by quantize/qdq.ts (int8 needs opset 13) and quantize/int4.ts (opset 21).
 */
import { AttrValue, Graph, Node, ValueId } from '../ir/graph.js';
import { requireTensorType } from '../ir/value.js';
import { Dim, Tensor, TensorType } from '../ir/tensor.js';
import { DType, ONNX_DTYPE, ONNX_DTYPE_NAMES, isFloat } from '../ir/dtype.js';
import { inferCtxOf, inferNode, inferShapes } from '../interp/interp.js';
import { normDomain, opOf, opsetOf, parseAttrs } from '../ops/registry.js';
import { EdgecError, invalid, unsupported } from '../errors.js';

/** Highest default-domain opset the converter (and edgec's op definitions) know. */
export const MAX_UPGRADE_OPSET = 21;

/** What an upgrade did. */
export interface UpgradeResult {
  /** Opset before and after. */
  from: number;
  to: number;
  /** Number of adapter applications (node rewrites). */
  rewrites: number;
}

/** State shared by the adapters of one upgrade. */
interface Ctx {
  g: Graph;
  /** Version the node is being adapted to (its previous form is v - 1). */
  v: number;
  /** Values known before running: constants and small propagated values (Shape chains...). */
  known: Map<ValueId, Tensor>;
}

/** Rewrites node `n` from its opset v-1 form into its opset v form, in place or by new nodes. */
type AdaptFn = (n: Node, c: Ctx) => void;

interface Adapter {
  ops: readonly string[];
  /** The version this adapter produces. */
  at: number;
  adapt: AdaptFn;
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const I64_MAX = (1n << 63n) - 1n;
const I64_MIN = -(1n << 63n);

/** An int64 constant (values outside the int64 range, e.g. an imported INT64_MAX, are clamped). */
function i64Const(g: Graph, name: string, vals: readonly number[], shape: number[] = [vals.length]): ValueId {
  const big = vals.map((x) => {
    if (!Number.isFinite(x)) return x > 0 ? I64_MAX : I64_MIN;
    const b = BigInt(Math.trunc(x));
    return b > I64_MAX ? I64_MAX : b < I64_MIN ? I64_MIN : b;
  });
  return g.addConst(name, Tensor.from('i64', shape, big)).id;
}

/** A scalar constant of `dtype` (float values round to the dtype). */
function scalarConst(g: Graph, name: string, dtype: DType, v: number): ValueId {
  if (dtype === 'string') throw unsupported(`cannot make a string constant for "${name}"`);
  return g.addConst(name, Tensor.from(dtype, [], [dtype === 'i64' || dtype === 'u64' ? BigInt(Math.trunc(v)) : v])).id;
}

/** Constant or propagated value of an input, if known. */
function valueOf(c: Ctx, id: ValueId | null | undefined): Tensor | undefined {
  if (id === null || id === undefined) return undefined;
  return c.g.consts.get(id) ?? c.known.get(id);
}

function attrsWithout(n: Node, ...names: string[]): Record<string, AttrValue> {
  const a = { ...n.attrs };
  for (const k of names) delete a[k];
  return a;
}

function intList(n: Node, name: string): number[] | undefined {
  const v = n.attrs[name];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number')) throw invalid(`attribute "${name}" must be a list of integers`, where(n));
  return v as number[];
}

function floatAttr(n: Node, name: string): number | undefined {
  const v = n.attrs[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'number') throw invalid(`attribute "${name}" must be a number`, where(n));
  return v;
}

function where(n: Node, opset?: number): { node: string; op: string; opset?: number; pass: string } {
  return opset === undefined ? { node: n.name, op: n.op, pass: 'upgrade-opset' } : { node: n.name, op: n.op, opset, pass: 'upgrade-opset' };
}

/** The 'unsupported' error for a node whose opset v-1 semantics have no opset v equivalent. */
function cannot(n: Node, c: Ctx, why: string): EdgecError {
  return unsupported(`cannot upgrade ${n.op} from opset ${c.v - 1} to ${c.v}: ${why}`, where(n, c.v - 1));
}

/** Drops trailing omitted (null) inputs. */
function trimInputs(ins: (ValueId | null)[]): (ValueId | null)[] {
  const out = [...ins];
  while (out.length && out[out.length - 1] === null) out.pop();
  return out;
}

function typeOf(c: Ctx, id: ValueId | null | undefined, n: Node): TensorType {
  if (id === null || id === undefined) throw invalid(`${n.op}: a required input is missing`, where(n));
  return c.g.typeOf(id);
}

let symCounter = 0;
/** A symbolic dim for a placeholder type (re-inferred at the end of the upgrade). */
function sym(hint: string): Dim {
  return `${hint}_${symCounter++}`;
}

function product(dims: readonly Dim[], hint: string): Dim {
  let p = 1;
  for (const d of dims) {
    if (typeof d !== 'number') return sym(hint);
    p *= d;
  }
  return p;
}

// ---------------------------------------------------------------------------------------------
// Adapters, by the version they produce
// ---------------------------------------------------------------------------------------------

/** Ops that lost `consumed_inputs` (a legacy in-place hint without semantics) at opset 6. */
const CONSUMED_INPUTS_6 = ['Abs', 'Add', 'BatchNormalization', 'Ceil', 'Clip', 'Div', 'Dropout', 'Elu', 'Exp', 'Floor',
  'HardSigmoid', 'InstanceNormalization', 'LeakyRelu', 'Log', 'Max', 'Mean', 'Min', 'Mul', 'Neg', 'PRelu', 'Reciprocal',
  'Relu', 'Selu', 'Sigmoid', 'Sqrt', 'Sub', 'Sum', 'Tanh'];

/** Binary ops with legacy `broadcast`/`axis` attributes before opset 7. */
const LEGACY_BROADCAST_7 = ['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Equal', 'Greater', 'Less', 'And', 'Or', 'Xor'];

/** Reduce ops whose `axes` attribute became an input at opset 18 (ReduceSum: 13). */
const REDUCE_18 = ['ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum',
  'ReduceLogSumExp', 'ReduceSumSquare'];

// Pad-1 `paddings` -> Pad-2 `pads` (same layout: all begins, then all ends)
function padRename2(n: Node): void {
  if (n.attrs['paddings'] === undefined) return;
  const a = attrsWithout(n, 'paddings');
  if (a['pads'] === undefined) a['pads'] = n.attrs['paddings']!;
  n.attrs = a;
}

// Split-1(x, split?) with a constant split input -> Split-2(x) with the `split` attribute
function splitInputToAttr2(n: Node, c: Ctx): void {
  const s = n.inputs[1];
  if (s === null || s === undefined) return;
  const t = valueOf(c, s);
  if (!t) throw cannot(n, c, 'the split input is not constant (Split-2 takes split sizes as an attribute)');
  n.attrs = { ...n.attrs, split: t.toNumbers() };
  n.inputs = [n.inputs[0]!];
}

// LpPool-1 p (float) -> LpPool-2 p (int): exact only for integral p
function lpIntP2(n: Node, c: Ctx): void {
  const p = floatAttr(n, 'p');
  if (p !== undefined && !Number.isInteger(p)) throw cannot(n, c, `p=${p} is not an integer (p is an int from opset 2)`);
}

// Concat-1 default axis 1 -> Concat-4 required axis
function concatAxis4(n: Node): void {
  if (n.attrs['axis'] === undefined) n.attrs = { ...n.attrs, axis: 1 };
}

// Reshape-1 `shape` attribute -> Reshape-5 shape input (int64)
function reshapeShape5(n: Node, c: Ctx): void {
  const s = intList(n, 'shape');
  n.attrs = attrsWithout(n, 'shape', 'consumed_inputs');
  if (!s) return;
  n.inputs = [n.inputs[0]!, i64Const(c.g, `${n.name}.shape`, s)];
}

function dropConsumedInputs6(n: Node): void {
  if (n.attrs['consumed_inputs'] !== undefined) n.attrs = attrsWithout(n, 'consumed_inputs');
}

// Cast-1 to="FLOAT" (string) -> Cast-6 to=1 (TensorProto.DataType)
function castTo6(n: Node, c: Ctx): void {
  const to = n.attrs['to'];
  if (typeof to !== 'string') return;
  const entry = Object.entries(ONNX_DTYPE_NAMES).find(([, name]) => name === to.toUpperCase());
  if (!entry) throw cannot(n, c, `unknown data type "${to}"`);
  n.attrs = { ...n.attrs, to: Number(entry[0]) };
}

// Tile-1(x, tiles, axis) -> Tile-6(x, repeats) with repeats[axis] = tiles, 1 elsewhere
function tileRepeats6(n: Node, c: Ctx): void {
  if (n.inputs.length < 3 || n.inputs[2] === null) return;
  const tiles = valueOf(c, n.inputs[1]);
  const axisT = valueOf(c, n.inputs[2]);
  if (!tiles || !axisT) throw cannot(n, c, 'tiles and axis must be constant to build the repeats input');
  const rank = typeOf(c, n.inputs[0], n).shape.length;
  let ax = axisT.get(0);
  if (ax < 0) ax += rank;
  if (!(ax >= 0 && ax < rank)) throw invalid(`Tile: axis ${axisT.get(0)} is out of range for rank ${rank}`, where(n));
  const reps = new Array<number>(rank).fill(1);
  reps[ax] = tiles.get(0);
  n.inputs = [n.inputs[0]!, i64Const(c.g, `${n.name}.repeats`, reps)];
}

// Op-6(A, B, broadcast=1, axis=k) -> Op-7(A, B') with numpy broadcasting: B' = B with trailing unit
// dims so that B's dims line up with A's dims starting at k
function numpyBroadcast7(n: Node, c: Ctx): void {
  const bc = n.attrs['broadcast'];
  const axis = n.attrs['axis'];
  if (bc === undefined && axis === undefined) return;
  n.attrs = attrsWithout(n, 'broadcast', 'axis');
  if (bc !== 1 || typeof axis !== 'number') return; // broadcast=0: equal shapes; no axis: suffix alignment = numpy
  const a = typeOf(c, n.inputs[0], n);
  const bId = n.inputs[1]!;
  const b = typeOf(c, bId, n);
  const ax = axis < 0 ? axis + a.shape.length : axis;
  const trail = a.shape.length - ax - b.shape.length;
  if (ax < 0 || trail < 0) throw invalid(`legacy broadcast axis ${axis} does not fit shapes`, where(n));
  if (trail === 0) return;
  const newShape = [...b.shape, ...new Array<number>(trail).fill(1)];
  const bc0 = c.g.consts.get(bId);
  if (bc0) {
    n.inputs[1] = c.g.addConst(`${n.name}.b_aligned`, bc0.reshape(newShape as number[])).id;
    return;
  }
  const out = c.g.addValue(`${n.name}.b_aligned`, { dtype: b.dtype, shape: newShape });
  const axes = Array.from({ length: trail }, (_, i) => b.shape.length + i);
  c.g.addNode({ op: 'Unsqueeze', inputs: [bId], outputs: [out.id], attrs: { axes }, name: `${n.name}.b_align` }, n.id);
  n.inputs[1] = out.id;
}

function dropIsTest7(n: Node): void {
  if (n.attrs['is_test'] !== undefined) n.attrs = attrsWithout(n, 'is_test');
}

function dropBroadcast7(n: Node): void {
  if (n.attrs['broadcast'] !== undefined) n.attrs = attrsWithout(n, 'broadcast');
}

// BatchNormalization-7 spatial=1 (per-channel statistics) is BatchNormalization-9; spatial=0 with
// per-activation [C, D1, ...] statistics has no opset-9 form
function bnSpatial9(n: Node, c: Ctx): void {
  const spatial = n.attrs['spatial'];
  if (spatial === undefined) return;
  if (spatial === 0) {
    const C = typeOf(c, n.inputs[0], n).shape[1];
    const perChannel = n.inputs.slice(1, 5).every((id) => {
      const s = typeOf(c, id, n).shape;
      return s.length === 1 && s[0] === C;
    });
    if (!perChannel) throw cannot(n, c, 'spatial=0 with per-activation statistics was removed');
  }
  n.attrs = attrsWithout(n, 'spatial');
}

// Upsample-7 `scales` attribute -> Upsample-9 scales input (float)
function upsampleScales9(n: Node, c: Ctx): void {
  const s = n.attrs['scales'];
  if (!Array.isArray(s)) return;
  n.attrs = attrsWithout(n, 'scales');
  n.inputs = [n.inputs[0]!, c.g.addConst(`${n.name}.scales`, Tensor.from('f32', [s.length], s as number[])).id];
}

/** Resize nodes converted from Upsample, whose scales are >= 1 by Upsample's definition. */
const FROM_UPSAMPLE = new WeakSet<Node>();

// Upsample-9(X, scales) (deprecated at 10) -> Resize-10(X, scales): the same asymmetric sampling
function upsampleToResize10(n: Node): void {
  let mode = n.attrs['mode'];
  if (mode === 'bilinear') mode = 'linear';
  n.op = 'Resize';
  n.attrs = mode === undefined ? {} : { mode };
  FROM_UPSAMPLE.add(n);
}

// Upsample-10 (deprecated; gone from opset 11) -> Resize-11, through Resize-10
function upsampleToResize11(n: Node, c: Ctx): void {
  upsampleToResize10(n);
  resize11(n, c);
}

// Slice-1 starts/ends/axes attributes -> Slice-10 inputs (int64)
function sliceInputs10(n: Node, c: Ctx): void {
  const starts = intList(n, 'starts');
  const ends = intList(n, 'ends');
  if (!starts || !ends) return;
  const axes = intList(n, 'axes');
  const ins: ValueId[] = [n.inputs[0]!, i64Const(c.g, `${n.name}.starts`, starts), i64Const(c.g, `${n.name}.ends`, ends)];
  if (axes) ins.push(i64Const(c.g, `${n.name}.axes`, axes));
  n.inputs = ins;
  n.attrs = attrsWithout(n, 'starts', 'ends', 'axes');
}

// TopK-1 `k` attribute -> TopK-10 K input (int64 [1])
function topkInput10(n: Node, c: Ctx): void {
  const k = n.attrs['k'];
  if (typeof k !== 'number') return;
  n.attrs = attrsWithout(n, 'k');
  n.inputs = [n.inputs[0]!, i64Const(c.g, `${n.name}.k`, [k])];
}

// Dropout-7 mask (dtype of x) -> Dropout-10 mask (bool): mask_old = Cast(mask_new, to=dtype(x))
function dropoutMask10(n: Node, c: Ctx): void {
  const m = n.outputs[1];
  if (m === undefined) return;
  const x = typeOf(c, n.inputs[0], n);
  const mt = c.g.typeOf(m);
  if (c.g.useCount(m) === 0) {
    c.g.value(m).type = { dtype: 'bool', shape: mt.shape };
    return;
  }
  const nm = c.g.addValue(`${c.g.value(m).name}.bool`, { dtype: 'bool', shape: mt.shape });
  n.outputs[1] = nm.id;
  nm.producer = n.id;
  c.g.addNode({ op: 'Cast', inputs: [nm.id], outputs: [m], attrs: { to: ONNX_DTYPE[x.dtype] }, name: `${n.name}.mask_cast` });
}

// Pad-2 pads/value attributes -> Pad-11 pads (int64) and constant_value inputs
function padInputs11(n: Node, c: Ctx): void {
  const pads = intList(n, 'pads');
  if (!pads) return;
  const value = floatAttr(n, 'value') ?? 0;
  const x = typeOf(c, n.inputs[0], n);
  const ins: ValueId[] = [n.inputs[0]!, i64Const(c.g, `${n.name}.pads`, pads)];
  const mode = n.attrs['mode'] ?? 'constant';
  if (value !== 0 && mode === 'constant') ins.push(scalarConst(c.g, `${n.name}.value`, x.dtype, value));
  n.inputs = ins;
  n.attrs = attrsWithout(n, 'pads', 'value');
}

// Clip-6 min/max attributes -> Clip-11 optional min/max inputs (scalars of x's dtype)
function clipInputs11(n: Node, c: Ctx): void {
  const lo = floatAttr(n, 'min');
  const hi = floatAttr(n, 'max');
  n.attrs = attrsWithout(n, 'min', 'max');
  if (lo === undefined && hi === undefined) return;
  const dt = typeOf(c, n.inputs[0], n).dtype;
  const ins: (ValueId | null)[] = [n.inputs[0]!, null, null];
  if (lo !== undefined) ins[1] = scalarConst(c.g, `${n.name}.min`, dt, lo);
  if (hi !== undefined) ins[2] = scalarConst(c.g, `${n.name}.max`, dt, hi);
  n.inputs = trimInputs(ins);
}

/**
 * Resize-10(X, scales) -> Resize-11(X, roi='', scales), coordinate_transformation_mode=asymmetric.
 * Resize-10 nearest rounds down when an axis upsamples and up when it downsamples; Resize-11 has one
 * nearest_mode per node, so a node whose axes do both becomes two Resizes (nearest is separable).
 */
function resize11(n: Node, c: Ctx): void {
  const mode = (n.attrs['mode'] as string | undefined) ?? 'nearest';
  const x = n.inputs[0]!;
  const scalesId = n.inputs[1]!;
  const roi = c.g.addConst(`${n.name}.roi`, Tensor.zeros('f32', [0])).id;
  const base = { ...n.attrs, coordinate_transformation_mode: 'asymmetric' };
  if (mode !== 'nearest') {
    n.attrs = base;
    n.inputs = [x, roi, scalesId];
    return;
  }
  const st = valueOf(c, scalesId);
  if (!st) {
    // Upsample only upsamples (scales >= 1): its nearest rule is floor
    if (FROM_UPSAMPLE.has(n)) {
      n.attrs = { ...base, nearest_mode: 'floor' };
      n.inputs = [x, roi, scalesId];
      return;
    }
    throw cannot(n, c, 'nearest Resize-10 with non-constant scales (its rounding depends on whether each axis up- or downsamples)');
  }
  const s = st.toNumbers();
  const up = s.map((v) => (v >= 1 ? v : 1));
  const down = s.map((v) => (v < 1 ? v : 1));
  const hasUp = s.some((v) => v > 1);
  const hasDown = s.some((v) => v < 1);
  if (!(hasUp && hasDown)) {
    n.attrs = { ...base, nearest_mode: hasDown ? 'ceil' : 'floor' };
    n.inputs = [x, roi, scalesId];
    return;
  }
  // upsampled axes first (floor), then the downsampled ones (ceil)
  const xt = typeOf(c, x, n);
  const midShape = xt.shape.map((d, i) => (typeof d === 'number' ? Math.floor(d * up[i]!) : up[i] === 1 ? d : sym('resize')));
  const mid = c.g.addValue(`${n.name}.up`, { dtype: xt.dtype, shape: midShape });
  const upS = c.g.addConst(`${n.name}.scales_up`, Tensor.from('f32', [up.length], up)).id;
  c.g.addNode({ op: 'Resize', inputs: [x, roi, upS], outputs: [mid.id], attrs: { ...base, nearest_mode: 'floor' }, name: `${n.name}.up` }, n.id);
  n.attrs = { ...base, nearest_mode: 'ceil' };
  n.inputs = [mid.id, roi, c.g.addConst(`${n.name}.scales_down`, Tensor.from('f32', [down.length], down)).id];
}

// Scatter-9/11 (deprecated) -> ScatterElements-11: the same op under its new name
function scatterRename11(n: Node): void {
  n.op = 'ScatterElements';
}

// Dropout-10 `ratio` attribute -> Dropout-12 ratio input (scalar)
function dropoutRatio12(n: Node, c: Ctx): void {
  const r = floatAttr(n, 'ratio');
  if (r === undefined) return;
  n.attrs = attrsWithout(n, 'ratio');
  const dt = typeOf(c, n.inputs[0], n).dtype;
  n.inputs = [n.inputs[0]!, scalarConst(c.g, `${n.name}.ratio`, isFloat(dt) ? dt : 'f32', r)];
}

// Squeeze/Unsqueeze-11 `axes` attribute -> opset-13 axes input (int64)
function axesToInput(n: Node, c: Ctx): void {
  const axes = intList(n, 'axes');
  if (axes === undefined) return;
  n.attrs = attrsWithout(n, 'axes');
  n.inputs = [n.inputs[0]!, i64Const(c.g, `${n.name}.axes`, axes)];
}

// Reduce*-x `axes` attribute -> axes input; an empty list (reduce everything) becomes no input
function reduceAxesToInput(n: Node, c: Ctx): void {
  const axes = intList(n, 'axes');
  if (axes === undefined) return;
  n.attrs = attrsWithout(n, 'axes');
  n.inputs = axes.length ? [n.inputs[0]!, i64Const(c.g, `${n.name}.axes`, axes)] : [n.inputs[0]!];
}

// Split-11 `split` attribute -> Split-13 split input (int64)
function splitToInput13(n: Node, c: Ctx): void {
  const s = intList(n, 'split');
  if (s === undefined) return;
  n.attrs = attrsWithout(n, 'split');
  n.inputs = [n.inputs[0]!, i64Const(c.g, `${n.name}.split`, s)];
}

/**
 * Softmax-11(x, axis=k) works on x coerced to 2-D [prod(d<k), prod(d>=k)]; Softmax-13 works along one
 * axis. Equal when every dim after k is 1 (k is the last real axis); otherwise
 * Softmax-11(x, k) = Reshape(Softmax-13(Flatten(x, k), axis=1), Shape(x)).
 */
function softmax13(n: Node, c: Ctx): void {
  const xId = n.inputs[0]!;
  const xt = typeOf(c, xId, n);
  const rank = xt.shape.length;
  const axisAttr = n.attrs['axis'];
  const axis0 = typeof axisAttr === 'number' ? axisAttr : 1;
  if (rank === 0) {
    n.attrs = { ...n.attrs, axis: -1 };
    return;
  }
  const k = axis0 < 0 ? axis0 + rank : axis0;
  if (k < 0 || k >= rank) throw invalid(`axis ${axis0} is out of range for rank ${rank}`, where(n));
  if (xt.shape.slice(k + 1).every((d) => d === 1)) {
    n.attrs = { ...n.attrs, axis: k };
    return;
  }
  const flat = c.g.addValue(`${n.name}.2d`, { dtype: xt.dtype, shape: [product(xt.shape.slice(0, k), 'outer'), product(xt.shape.slice(k), 'inner')] });
  c.g.addNode({ op: 'Flatten', inputs: [xId], outputs: [flat.id], attrs: { axis: k }, name: `${n.name}.flatten` }, n.id);
  const y = n.outputs[0]!;
  const y2 = c.g.addValue(`${n.name}.2d_out`, c.g.value(flat.id).type);
  n.inputs = [flat.id];
  n.outputs = [y2.id];
  y2.producer = n.id;
  n.attrs = { ...n.attrs, axis: 1 };
  let shapeId: ValueId;
  if (xt.shape.every((d) => typeof d === 'number')) shapeId = i64Const(c.g, `${n.name}.shape`, xt.shape as number[]);
  else {
    shapeId = c.g.addValue(`${n.name}.shape`, { dtype: 'i64', shape: [rank] }).id;
    c.g.addNode({ op: 'Shape', inputs: [xId], outputs: [shapeId], name: `${n.name}.shape` });
  }
  c.g.addNode({ op: 'Reshape', inputs: [y2.id, shapeId], outputs: [y], name: `${n.name}.reshape` });
}

/**
 * Resize-12 -> Resize-13: roi and scales became optional (empty constants become omitted inputs);
 * tf_half_pixel_for_nn was removed.
 */
function resize13(n: Node, c: Ctx): void {
  if (n.attrs['coordinate_transformation_mode'] === 'tf_half_pixel_for_nn') {
    throw cannot(n, c, 'coordinate_transformation_mode "tf_half_pixel_for_nn" was removed in opset 13');
  }
  const ins = [...n.inputs];
  const empty = (id: ValueId | null | undefined) => {
    if (id === null || id === undefined) return false;
    const t = c.g.consts.get(id);
    return t !== undefined && t.size === 0;
  };
  if (empty(ins[1])) ins[1] = null;
  if (empty(ins[2]) && ins[3] !== undefined && ins[3] !== null) ins[2] = null;
  n.inputs = trimInputs(ins);
}

// QuantizeLinear/DequantizeLinear-10 one-element [1] scale/zero point -> scalars (a 1-D scale is
// per-axis from opset 13)
function qdqScalar13(n: Node, c: Ctx): void {
  for (const i of [1, 2]) {
    const id = n.inputs[i];
    const t = id === null || id === undefined ? undefined : c.g.consts.get(id);
    if (t && t.shape.length === 1 && t.size === 1) n.inputs[i] = c.g.addConst(`${c.g.value(id!).name}.scalar`, t.reshape([])).id;
    else if (id !== null && id !== undefined && !t && c.g.typeOf(id).shape.length === 1) {
      throw cannot(n, c, 'a non-constant 1-D scale or zero point would become per-axis');
    }
  }
}

// BatchNormalization-9..13 training-only outputs (mean, var, saved_mean, saved_var) -> BN-14
// (inference form: one output); used ones cannot be converted
function bnOutputs14(n: Node, c: Ctx): void {
  if (n.outputs.length <= 1) return;
  const extra = n.outputs.slice(1);
  if (extra.some((o) => c.g.useCount(o) > 0)) throw cannot(n, c, 'its training-only statistics outputs are used');
  for (const o of extra) c.g.values.delete(o);
  n.outputs = [n.outputs[0]!];
}

// Split-13 without a split input (equal parts) -> Split-18 num_outputs = number of outputs
function splitNumOutputs18(n: Node): void {
  const s = n.inputs[1];
  if ((s === null || s === undefined) && n.attrs['num_outputs'] === undefined) n.attrs = { ...n.attrs, num_outputs: n.outputs.length };
}

// GridSample-16 modes bilinear/bicubic -> GridSample-20 linear/cubic (same interpolation)
function gridSampleModes20(n: Node): void {
  const m = n.attrs['mode'];
  if (m === 'bilinear' || m === undefined) n.attrs = { ...n.attrs, mode: 'linear' };
  else if (m === 'bicubic') n.attrs = { ...n.attrs, mode: 'cubic' };
}

// GroupNormalization-18 scale/bias per group [G] -> GroupNormalization-21 per channel [C]
// (each group's value repeated for its C/G channels)
function groupNormPerChannel21(n: Node, c: Ctx): void {
  const groups = n.attrs['num_groups'];
  if (typeof groups !== 'number') return;
  const C = typeOf(c, n.inputs[0], n).shape[1];
  for (const i of [1, 2]) {
    const id = n.inputs[i];
    if (id === null || id === undefined) continue;
    const t = valueOf(c, id);
    const size = typeOf(c, id, n).shape.reduce<number>((p, d) => p * (typeof d === 'number' ? d : NaN), 1);
    if (size !== groups || C === groups) continue;
    if (!t || typeof C !== 'number') throw cannot(n, c, 'per-group scale/bias must be constant with a known channel count');
    const per = C / groups;
    const vals: number[] = [];
    for (let ch = 0; ch < C; ch++) vals.push(t.get(Math.floor(ch / per)));
    n.inputs[i] = c.g.addConst(`${c.g.value(id).name}.per_channel`, Tensor.from(t.dtype, [C], vals)).id;
  }
}

const ADAPTERS: readonly Adapter[] = [
  { ops: ['Pad'], at: 2, adapt: padRename2 },
  { ops: ['Split'], at: 2, adapt: splitInputToAttr2 },
  { ops: ['LpPool', 'GlobalLpPool'], at: 2, adapt: lpIntP2 },
  { ops: ['Concat'], at: 4, adapt: concatAxis4 },
  { ops: ['Reshape'], at: 5, adapt: reshapeShape5 },
  { ops: CONSUMED_INPUTS_6, at: 6, adapt: dropConsumedInputs6 },
  { ops: ['Cast'], at: 6, adapt: castTo6 },
  { ops: ['Tile'], at: 6, adapt: tileRepeats6 },
  { ops: LEGACY_BROADCAST_7, at: 7, adapt: numpyBroadcast7 },
  { ops: ['BatchNormalization', 'Dropout'], at: 7, adapt: dropIsTest7 },
  { ops: ['Gemm'], at: 7, adapt: dropBroadcast7 },
  { ops: ['BatchNormalization'], at: 9, adapt: bnSpatial9 },
  { ops: ['Upsample'], at: 9, adapt: upsampleScales9 },
  { ops: ['Upsample'], at: 10, adapt: upsampleToResize10 },
  { ops: ['Slice'], at: 10, adapt: sliceInputs10 },
  { ops: ['TopK'], at: 10, adapt: topkInput10 },
  { ops: ['Dropout'], at: 10, adapt: dropoutMask10 },
  { ops: ['Pad'], at: 11, adapt: padInputs11 },
  { ops: ['Clip'], at: 11, adapt: clipInputs11 },
  { ops: ['Resize'], at: 11, adapt: resize11 },
  { ops: ['Upsample'], at: 11, adapt: upsampleToResize11 },
  { ops: ['Scatter'], at: 11, adapt: scatterRename11 },
  { ops: ['Dropout'], at: 12, adapt: dropoutRatio12 },
  { ops: ['Squeeze', 'Unsqueeze'], at: 13, adapt: axesToInput },
  { ops: ['ReduceSum'], at: 13, adapt: reduceAxesToInput },
  { ops: ['Split'], at: 13, adapt: splitToInput13 },
  { ops: ['Softmax', 'LogSoftmax', 'Hardmax'], at: 13, adapt: softmax13 },
  { ops: ['Resize'], at: 13, adapt: resize13 },
  { ops: ['QuantizeLinear', 'DequantizeLinear'], at: 13, adapt: qdqScalar13 },
  { ops: ['BatchNormalization'], at: 14, adapt: bnOutputs14 },
  { ops: REDUCE_18, at: 18, adapt: reduceAxesToInput },
  { ops: ['Split'], at: 18, adapt: splitNumOutputs18 },
  { ops: ['GridSample'], at: 20, adapt: gridSampleModes20 },
  { ops: ['GroupNormalization'], at: 21, adapt: groupNormPerChannel21 },
];

/** Adapters per version, in table order. */
function adaptersAt(v: number): Map<string, AdaptFn[]> {
  const m = new Map<string, AdaptFn[]>();
  for (const a of ADAPTERS) {
    if (a.at !== v) continue;
    for (const op of a.ops) {
      let l = m.get(op);
      if (!l) m.set(op, (l = []));
      l.push(a.adapt);
    }
  }
  return m;
}

/**
 * Shapes of the graph at its current opset, plus small values computable before running (Shape ->
 * Gather -> Concat chains feeding Upsample scales, Tile inputs...).
 */
function inferWithValues(g: Graph): Map<ValueId, Tensor> {
  const known = new Map<ValueId, Tensor>();
  for (const node of g.orderedNodes()) {
    const types = inferNode(g, node, known);
    if (!types.every((t) => t.shape.every((d) => typeof d === 'number'))) continue;
    if (types.some((t) => (t.shape as number[]).reduce((p, d) => p * d, 1) > 4096)) continue;
    if (node.op.startsWith('Random') || node.op === 'Dropout' || node.op === 'Multinomial' || node.op === 'Bernoulli') continue;
    try {
      const def = opOf(node, g);
      const opset = opsetOf(node, g);
      const a = parseAttrs(def, node, opset);
      let outs: (Tensor | undefined)[] | undefined;
      if (def.value) outs = def.value(inferCtxOf(g, node, known), a, types);
      if (!outs || outs.some((t) => t === undefined)) {
        const ins: (Tensor | null)[] = [];
        let ok = node.inputs.length > 0;
        for (const x of node.inputs) {
          const t = x === null ? null : g.consts.get(x) ?? known.get(x);
          if (t === undefined || (t !== null && t.size > 4096)) ok = false;
          ins.push(t ?? null);
        }
        if (ok) outs = def.ref(ins, a, { opset, node });
      }
      node.outputs.forEach((o, k) => {
        const t = outs?.[k];
        if (t) known.set(o, t);
      });
    } catch {
      // a value that cannot be computed before running stays unknown
    }
  }
  return known;
}

/**
 * Rewrites every default-domain node into its equivalent at opset `target` and sets the graph's
 * default-domain opset to `target` (a version converter, like onnx.version_converter).
 * @param g graph, edited in place (shapes are re-inferred at the new opset)
 * @param target opset to reach: from the graph's opset up to MAX_UPGRADE_OPSET
 * @returns the versions and the number of node rewrites
 * @throws EdgecError 'unsupported' for a downgrade, a target past MAX_UPGRADE_OPSET or a node whose
 *   semantics have no equivalent at the target
 */
export function upgradeOpset(g: Graph, target: number): UpgradeResult {
  const from = g.opset;
  if (!Number.isInteger(target)) throw invalid(`opset ${target} is not an integer`, { pass: 'upgrade-opset' });
  if (target < from) throw unsupported(`cannot convert opset ${from} down to ${target} (only upgrades are supported)`, { pass: 'upgrade-opset', opset: from });
  if (target === from) return { from, to: target, rewrites: 0 };
  if (target > MAX_UPGRADE_OPSET) {
    throw unsupported(`cannot upgrade to opset ${target}: edgec knows the ONNX operators up to opset ${MAX_UPGRADE_OPSET}`, { pass: 'upgrade-opset', opset: from });
  }
  for (const n of g.nodes.values()) {
    if (normDomain(n.domain) !== '') continue;
    if (Object.values(n.attrs).some((v) => v instanceof Graph)) {
      throw unsupported(`cannot upgrade ${n.op} from opset ${from}: nodes with subgraphs are not supported`, where(n, from));
    }
    for (const o of n.outputs) requireTensorType(g.typeOf(o), 'upgrade-opset');
    // Scatter (opset 9-10) has no edgec definition; it is ScatterElements under its old name
    if (n.op === 'Scatter' && target >= 11) n.op = 'ScatterElements';
  }
  g.toposort();
  const known = inferWithValues(g);
  let rewrites = 0;
  for (let v = from + 1; v <= target; v++) {
    const table = adaptersAt(v);
    if (table.size === 0) continue;
    const c: Ctx = { g, v, known };
    for (const n of [...g.orderedNodes()]) {
      if (normDomain(n.domain) !== '') continue;
      const fns = table.get(n.op);
      if (!fns) continue;
      const before = JSON.stringify([n.op, n.inputs, n.outputs, Object.keys(n.attrs).sort(), attrsSig(n)]);
      for (const f of fns) f(n, c);
      if (JSON.stringify([n.op, n.inputs, n.outputs, Object.keys(n.attrs).sort(), attrsSig(n)]) !== before) rewrites++;
    }
  }
  g.opsets[''] = target;
  g.toposort();
  try {
    inferShapes(g);
  } catch (e) {
    if (e instanceof EdgecError) throw e.withContext({ pass: 'upgrade-opset', opset: target });
    throw e;
  }
  return { from, to: target, rewrites };
}

/** A comparable summary of a node's scalar and list attributes (tensors and graphs by identity). */
function attrsSig(n: Node): string {
  return JSON.stringify(Object.entries(n.attrs).map(([k, v]) => [k, v instanceof Tensor || v instanceof Graph ? '#' : v]));
}
