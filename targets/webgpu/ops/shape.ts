/**
 * WebGPU lowerings of the shape / data-movement family (compiler/ops/shape.ts): strided copies
 * (Transpose, Concat, Split, Slice, Expand, Tile, DepthToSpace/SpaceToDepth), Pad, Gather.
 * Reshape-like ops are aliases handled by the driver (lower.ts). GatherElements and Trilu of any
 * webgpu dtype (indices / diagonal offset constant or runtime) move words or packed elements.
 * The index ops (GatherND, ScatterElements / Scatter / ScatterND, OneHot, Compress,
 * TensorScatter, ReverseSequence, CenterCropPad, Range, ArrayFeatureExtractor) and Slice / Pad /
 * Tile with runtime parameters run on kernels/index-ops.ts for every webgpu dtype (INDEX_LOWERINGS);
 * EyeLike, whose values depend only on the input's shape, becomes a compile-time constant.
 */
import { Node, ValueId } from '../../../compiler/ir/graph.js';
import { Tensor, numel } from '../../../compiler/ir/tensor.js';
import type { DType } from '../../../compiler/ir/dtype.js';
import { opOf, parseAttrs } from '../../../compiler/ops/registry.js';
import { internal } from '../../../compiler/errors.js';
import {
  PadSpec, broadcastStrides, depthSpaceView, gatherLayout, padSpec, partOffsets, sliceView, tileView, transposeView,
} from '../../common/params.js';
import { stridesOf } from '../wgsl/shader.js';
import { normAxis } from '../../../compiler/ops/registry.js';
import { opAttrs } from '../../common/params.js';
import { QElem, StoreElem, storeElem } from '../wgsl/qshader.js';
import { LowerCtx, LowerFn, Operand, copyView, loadElem, qelem, qop, scalarOf, val, viewCopy } from '../ctx.js';
import type { Scalar } from '../kernels/typed.js';
import type { ScatterRed } from '../kernels/index-ops.js';

function lowerTranspose(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  viewCopy(c, n.outputs[0]!, x, transposeView(c, n, c.shape(x)));
}

function lowerConcat(c: LowerCtx, n: Node): void {
  const y = n.outputs[0]!;
  const ys = c.shape(y);
  const ins = n.inputs.filter((x): x is ValueId => x !== null);
  const { offsets } = partOffsets(c, n, ys, ins.map((x) => c.shape(x)));
  ins.forEach((x, k) => {
    const xs = c.shape(x);
    copyView(c, val(y), numel(ys), stridesOf(ys), offsets[k]!, c.op(x), numel(xs), stridesOf(xs), 0, xs);
  });
}

function lowerSplit(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const xs = c.shape(x);
  const xst = stridesOf(xs);
  const { offsets } = partOffsets(c, n, xs, n.outputs.map((o) => c.shape(o)));
  n.outputs.forEach((o, k) => {
    const os = c.shape(o);
    copyView(c, val(o), numel(os), stridesOf(os), 0, c.op(x), numel(xs), xst, offsets[k]!, os);
  });
}

function lowerSlice(c: LowerCtx, n: Node): void {
  if (hasRuntimeParams(c, n)) return lowerSliceRuntime(c, n);
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const v = sliceView(c, n, c.shape(x));
  const ys = c.shape(y);
  if (v.dims.some((d, i) => d !== ys[i])) throw internal(`Slice: computed shape [${v.dims.join(',')}] differs from inferred [${ys.join(',')}]`);
  viewCopy(c, y, x, v);
}

function lowerPad(c: LowerCtx, n: Node): void {
  if (hasRuntimeParams(c, n)) return lowerPadRuntime(c, n);
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const xs = c.shape(x);
  const ys = c.shape(y);
  const p = padSpec(c, n, xs.length);
  if (p.mode !== 'constant' && [...p.begin, ...p.end].some((v) => v < 0)) throw c.unsupported(`Pad mode "${p.mode}" with negative pads`);
  if (numel(ys) === 0) return;
  c.emit('pad_f32', { mode: p.mode, xs, ys, begin: p.begin, value: p.value }, { x: c.op(x), y: val(y) });
}

function lowerExpand(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const ys = c.shape(y);
  const xs = c.shape(x);
  copyView(c, val(y), numel(ys), stridesOf(ys), 0, c.op(x), numel(xs), broadcastStrides(xs, ys), 0, ys);
}

function lowerTile(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  viewCopy(c, n.outputs[0]!, x, tileView(c.shape(x), tileRepeats(c, n)));
}

function lowerGather(c: LowerCtx, n: Node): void {
  const [x, idx] = n.inputs;
  const y = n.outputs[0]!;
  const it = c.consts.get(idx!);
  if (!it) throw c.unsupported('Gather with runtime indices is not supported on webgpu (indices must be constant)');
  c.checkRuntime(y);
  const g = gatherLayout(c, n, c.shape(x!), it.toNumbers());
  if (numel(c.shape(y)) === 0) return;
  c.emit('gather_f32', { outer: g.outer, axisLen: g.axisLen, nIdx: g.indices.length, inner: g.inner },
    { x: c.op(x!), idx: c.blob(g.indices), y: val(y) });
}

function lowerDepthSpace(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  viewCopy(c, n.outputs[0]!, x, depthSpaceView(c, n, c.shape(x)));
}

/** Shape-family lowerings by qualified op name. */
export const SHAPE_LOWERINGS: Readonly<Record<string, LowerFn>> = {
  Transpose: lowerTranspose, Concat: lowerConcat, Split: lowerSplit, Slice: lowerSlice, Pad: lowerPad,
  Expand: lowerExpand, Tile: lowerTile, Gather: lowerGather, DepthToSpace: lowerDepthSpace, SpaceToDepth: lowerDepthSpace,
};

/** GatherElements: y[i] = x[i with the axis coordinate replaced by indices[i]]. */
function lowerGatherElements(c: LowerCtx, n: Node): void {
  const [x, idx] = n.inputs;
  const y = n.outputs[0]!;
  const xs = c.shape(x!);
  const is = c.shape(idx!);
  c.checkStorable(x!);
  const idt = c.g.typeOf(idx!).dtype;
  if (idt !== 'i32' && idt !== 'i64') throw c.unsupported(`GatherElements indices of dtype ${idt}`);
  const axis = normAxis(opAttrs<{ axis: number }>(n, c.opset).axis, xs.length);
  if (numel(is) === 0) return;
  const el = storeElem(c.g.typeOf(x!).dtype);
  c.emit('qgather_elements_b', { el, xel: qelem(c, x!, el), idxel: 'i32', xs, is, axis }, { x: qop(c, x!), idx: qop(c, idx!), y: val(y) });
}

/** Trilu: keeps the upper (j - i >= k) or lower (j - i <= k) triangle of the last two dims, zeros elsewhere. */
function lowerTrilu(c: LowerCtx, n: Node): void {
  const [x, kId] = n.inputs;
  const y = n.outputs[0]!;
  const xs = c.shape(x!);
  c.checkStorable(x!);
  if (xs.length < 2) throw c.unsupported('Trilu input must have rank >= 2');
  const upper = opAttrs<{ upper: boolean }>(n, c.opset).upper;
  if (numel(xs) === 0) return;
  const el = storeElem(c.g.typeOf(x!).dtype);
  const ops: Record<string, Operand> = { x: qop(c, x!), y: val(y) };
  let k: number | undefined = 0;
  if (kId != null) {
    if (c.isConst(kId)) {
      const kv = c.consts.get(kId)!.toNumbers()[0] ?? 0;
      // |k| beyond the matrix keeps everything or nothing: clamp into the i32 range WGSL holds
      k = Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, kv));
    } else {
      k = undefined;
      ops['k'] = qop(c, kId);
    }
  }
  c.emit('qtrilu_b', {
    el, xel: qelem(c, x!, el), n: numel(xs.slice(0, -2)), rows: xs[xs.length - 2]!, cols: xs[xs.length - 1]!, upper, ...(k !== undefined ? { k } : {}),
  }, ops);
}

/** Shape-family lowerings for any webgpu dtype (f32 and integer / bool values), by qualified op name. */
export const SHAPE_TYPED_LOWERINGS: Readonly<Record<string, LowerFn>> = { GatherElements: lowerGatherElements, Trilu: lowerTrilu };

// ---------------------------------------------------------------------------------------------
// Index ops and runtime-parameter data movement (kernels/index-ops.ts), any webgpu dtype
// ---------------------------------------------------------------------------------------------

/**
 * True when a Slice / Pad takes a runtime parameter input: Slice starts / ends / axes / steps (the
 * runtime kernel reads starts, axes and steps; the ends only matter through the output shape),
 * Pad pads / constant_value / axes.
 * @param c lowering context
 * @param n the node
 */
export function hasRuntimeParams(c: LowerCtx, n: Node): boolean {
  return n.inputs.slice(1).some((id) => id != null && !c.isConst(id));
}

/** Indices dtype check: i32 or i64 (held as i32). */
function needIndexDtype(c: LowerCtx, id: ValueId, what: string): void {
  const d = c.g.typeOf(id).dtype;
  if (d !== 'i32' && d !== 'i64') throw c.unsupported(`${what} of dtype ${d}`);
}

/** Loader kind of a value read as its scalar type (f32: 'f32'; integers: storage kind or wide). */
function typedElem(c: LowerCtx, id: ValueId): QElem {
  return loadElem(c, id, c.g.typeOf(id).dtype);
}

/** GatherND: y[b, i..., r...] = x[b, indices[b, i...][0..q), r...] (negative indices wrap once). */
function lowerGatherND(c: LowerCtx, n: Node): void {
  const [x, idx] = n.inputs;
  const y = n.outputs[0]!;
  c.checkStorable(x!);
  needIndexDtype(c, idx!, 'GatherND indices');
  const batch = opAttrs<{ batchDims: number }>(n, c.opset).batchDims;
  const ys = c.shape(y);
  if (numel(ys) === 0) return;
  const el = storeElem(c.g.typeOf(x!).dtype);
  c.emit('gathernd_b', { el, xel: qelem(c, x!, el), xs: c.shape(x!), is: c.shape(idx!), ys, batch }, { x: qop(c, x!), idx: qop(c, idx!), y: val(y) });
}

/** Common part of the scatters: dtype checks and the typed loaders. */
function scatterParams(c: LowerCtx, n: Node, red: string): { el: StoreElem; xel: QElem; uel: QElem; st: Scalar; red: ScatterRed } {
  const [x, idx, upd] = n.inputs;
  c.checkStorable(x!);
  c.checkStorable(upd!);
  needIndexDtype(c, idx!, `${n.op} indices`);
  const xdt = c.g.typeOf(x!).dtype;
  if (c.g.typeOf(upd!).dtype !== xdt) throw c.unsupported(`${n.op} updates of dtype ${c.g.typeOf(upd!).dtype} for ${xdt} data`);
  if (red !== 'none' && red !== 'add' && red !== 'mul' && red !== 'max' && red !== 'min') throw c.unsupported(`${n.op} reduction "${red}"`);
  if (red !== 'none' && (xdt === 'bool' || xdt === 'i64')) throw c.unsupported(`${n.op} reduction "${red}" on ${xdt} is not supported on webgpu`);
  return { el: storeElem(xdt), xel: typedElem(c, x!), uel: typedElem(c, upd!), st: scalarOf(xdt), red };
}

/** ScatterElements / Scatter: y = x, then y[i with axis coord indices[i]] (op)= updates[i], in order. */
function lowerScatterElements(c: LowerCtx, n: Node): void {
  const [x, idx, upd] = n.inputs;
  const y = n.outputs[0]!;
  const a = opAttrs<{ axis: number; reduction?: string }>(n, c.opset);
  const p = scatterParams(c, n, a.reduction ?? 'none');
  const xs = c.shape(x!);
  const is = c.shape(idx!);
  const axis = normAxis(a.axis, xs.length);
  if (numel(xs) === 0) return;
  if (is.length !== xs.length) throw c.unsupported(`${n.op} indices rank ${is.length} differs from data rank ${xs.length}`);
  c.emit('scatter_elements_b', { ...p, xs, is, axis }, { x: qop(c, x!), idx: qop(c, idx!), upd: qop(c, upd!), y: val(y) });
}

/** ScatterND: y = x, then y[indices[u]] (op)= updates[u] slice by slice, in order. */
function lowerScatterND(c: LowerCtx, n: Node): void {
  const [x, idx, upd] = n.inputs;
  const y = n.outputs[0]!;
  const a = opAttrs<{ reduction?: string }>(n, c.opset);
  const p = scatterParams(c, n, a.reduction ?? 'none');
  const xs = c.shape(x!);
  const is = c.shape(idx!);
  if (numel(xs) === 0) return;
  if (is.length === 0 || is[is.length - 1]! > xs.length) throw c.unsupported(`ScatterND indices shape [${is.join(',')}] for data rank ${xs.length}`);
  c.emit('scatternd_b', { ...p, xs, is, axis: 0 }, { x: qop(c, x!), idx: qop(c, idx!), upd: qop(c, upd!), y: val(y) });
}

/** OneHot: y = values[1] where the (truncated, once-wrapped) index equals the new axis coordinate, else values[0]. */
function lowerOneHot(c: LowerCtx, n: Node): void {
  const [idx, , vals] = n.inputs;
  const y = n.outputs[0]!;
  c.checkStorable(idx!);
  c.checkStorable(vals!);
  const ys = c.shape(y);
  const axis = normAxis(opAttrs<{ axis: number }>(n, c.opset).axis, ys.length);
  if (numel(c.shape(vals!)) !== 2) throw c.unsupported('OneHot values must have 2 elements');
  if (numel(ys) === 0) return;
  const el = storeElem(c.g.typeOf(y).dtype);
  c.emit('onehot_b', { el, iel: typedElem(c, idx!), vel: qelem(c, vals!, el), ys, axis }, { idx: qop(c, idx!), vals: qop(c, vals!), y: val(y) });
}

/**
 * Slice with runtime starts (and optionally axes / steps): the kernel clamps the starts as the
 * reference does; the output shape (and with it the ends) is fixed at compile time.
 * @param c lowering context
 * @param n the Slice node (opset >= 10)
 */
export function lowerSliceRuntime(c: LowerCtx, n: Node): void {
  const [x, st, , ax, sp] = n.inputs;
  const y = n.outputs[0]!;
  c.checkStorable(x!);
  for (const id of [st, ax, sp]) if (id != null) needIndexDtype(c, id, 'Slice parameter');
  const ys = c.shape(y);
  if (numel(ys) === 0) return;
  const el = storeElem(c.g.typeOf(x!).dtype);
  const ops: Record<string, Operand> = { x: qop(c, x!), st: qop(c, st!), y: val(y) };
  if (ax != null) ops['ax'] = qop(c, ax);
  if (sp != null) ops['sp'] = qop(c, sp);
  c.emit('slice_rt_b', { el, xel: qelem(c, x!, el), xs: c.shape(x!), ys, n: numel(c.shape(st!)), axes: ax != null, steps: sp != null }, ops);
}

/**
 * Pad with runtime pads (and optionally a runtime constant value / axes): begin pads are read by
 * the kernel, the output shape (and with it the end pads) is fixed at compile time.
 * @param c lowering context
 * @param n the Pad node (opset >= 11)
 */
export function lowerPadRuntime(c: LowerCtx, n: Node): void {
  const [x, pads, cv, ax] = n.inputs;
  const y = n.outputs[0]!;
  c.checkStorable(x!);
  needIndexDtype(c, pads!, 'Pad pads');
  if (ax != null) needIndexDtype(c, ax, 'Pad axes');
  const mode = opAttrs<{ mode: PadSpec['mode'] }>(n, c.opset).mode;
  const ys = c.shape(y);
  if (numel(ys) === 0) return;
  const xdt = c.g.typeOf(x!).dtype;
  const el = storeElem(xdt);
  const ops: Record<string, Operand> = { x: qop(c, x!), pads: qop(c, pads!), y: val(y) };
  let value: number | null = 0;
  if (cv != null && c.isConst(cv)) {
    const v = c.consts.get(cv)!.toNumbers()[0] ?? 0;
    value = xdt === 'f32' ? new Uint32Array(new Float32Array([v]).buffer)[0]! : Math.trunc(v) | 0;
  } else if (cv != null) {
    if (c.g.typeOf(cv).dtype !== xdt) throw c.unsupported('Pad constant_value dtype differs from the data');
    value = null;
    ops['cv'] = qop(c, cv);
  }
  if (ax != null) ops['ax'] = qop(c, ax);
  const nAx = ax != null ? numel(c.shape(ax)) : c.shape(x!).length;
  c.emit('pad_rt_b', { el, xel: qelem(c, x!, el), mode, xs: c.shape(x!), ys, n: nAx, axes: ax != null, value }, ops);
}

/** Repeats of a Tile from its concrete shapes (ys = xs * repeats; a runtime repeats input must agree). */
export function tileRepeats(c: LowerCtx, n: Node): number[] {
  const xs = c.shape(n.inputs[0]!);
  const ys = c.shape(n.outputs[0]!);
  if (c.isConst(n.inputs[1])) return c.constNums(n.inputs[1], 'Tile repeats')!;
  return xs.map((d, k) => (d === 0 ? 0 : ys[k]! / d));
}

/** Index-op lowerings for any webgpu dtype, by qualified op name. */
export const INDEX_LOWERINGS: Readonly<Record<string, LowerFn>> = {
  GatherND: lowerGatherND, ScatterElements: lowerScatterElements, Scatter: lowerScatterElements, ScatterND: lowerScatterND, OneHot: lowerOneHot,
  EyeLike: lowerEyeLike, Range: lowerRange, CenterCropPad: lowerCenterCropPad, ReverseSequence: lowerReverseSequence,
  Compress: lowerCompress, TensorScatter: lowerTensorScatter, 'ai.onnx.ml.ArrayFeatureExtractor': lowerArrayFeatureExtractor,
};

/**
 * EyeLike: its output values depend only on the input's shape (fixed at compile time), so it is
 * evaluated with the reference kernel on zeros of that shape: a compile-time constant.
 */
function lowerEyeLike(c: LowerCtx, n: Node): void {
  const y = n.outputs[0]!;
  const ins = [Tensor.zeros(c.g.typeOf(n.inputs[0]!).dtype as DType, c.shape(n.inputs[0]!))];
  const def = opOf(n, c.g);
  const out = def.ref(ins, parseAttrs(def, n, c.opset), { opset: c.opset, node: n })[0]!;
  c.checkStorable(y);
  c.consts.set(y, out);
}

/** Range: y[i] = start + i * delta; the element count is the (compile-time) output length. */
function lowerRange(c: LowerCtx, n: Node): void {
  const [st, , dl] = n.inputs;
  const y = n.outputs[0]!;
  const ydt = c.g.typeOf(y).dtype;
  c.checkStorable(y);
  if (ydt === 'i64') throw c.unsupported('Range on i64 is not supported on webgpu (i64 values are held as i32 and the result could leave that range)');
  const len = numel(c.shape(y));
  if (len === 0) return;
  c.emit('range_b', { el: storeElem(ydt), sel: typedElem(c, st!), st: scalarOf(ydt), n: len }, { start: qop(c, st!), delta: qop(c, dl!), y: val(y) });
}

/** CenterCropPad: each listed axis cropped around its center or zero-padded around it: a constant-mode pad with negative (crop) begins. */
function lowerCenterCropPad(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  c.checkStorable(x);
  const xs = c.shape(x);
  const ys = c.shape(y);
  if (numel(ys) === 0) return;
  // crop: start floor((dim - s) / 2); pad: offset floor((s - dim) / 2) (compiler/ops/shape.ts centerSpan)
  const begin = xs.map((d, k) => (ys[k]! <= d ? -Math.floor((d - ys[k]!) / 2) : Math.floor((ys[k]! - d) / 2)));
  const el = storeElem(c.g.typeOf(x).dtype);
  c.emit('qpad_b', { el, xel: qelem(c, x, el), mode: 'constant', xs, ys, begin, value: 0 }, { x: qop(c, x), y: val(y) });
}

/** ReverseSequence: the first lens[b] steps along the time axis of each batch entry reversed. */
function lowerReverseSequence(c: LowerCtx, n: Node): void {
  const [x, lens] = n.inputs;
  const y = n.outputs[0]!;
  c.checkStorable(x!);
  needIndexDtype(c, lens!, 'ReverseSequence sequence_lens');
  const a = opAttrs<{ batchAxis: number; timeAxis: number }>(n, c.opset);
  const xs = c.shape(x!);
  if (numel(xs) === 0) return;
  const el = storeElem(c.g.typeOf(x!).dtype);
  c.emit('reverse_seq_b', { el, xel: qelem(c, x!, el), xs, batchAxis: a.batchAxis, timeAxis: a.timeAxis }, { x: qop(c, x!), lens: qop(c, lens!), y: val(y) });
}

/** Compress: the slices along `axis` (the flattened input without one) whose condition entry is true. */
function lowerCompress(c: LowerCtx, n: Node): void {
  const [x, cond] = n.inputs;
  const y = n.outputs[0]!;
  c.checkStorable(x!);
  if (c.g.typeOf(cond!).dtype !== 'bool') throw c.unsupported('Compress condition must be bool');
  const axisAttr = opAttrs<{ axis?: number }>(n, c.opset).axis;
  const xs0 = c.shape(x!);
  const xs = axisAttr === undefined ? [numel(xs0)] : xs0;
  const axis = axisAttr === undefined ? 0 : normAxis(axisAttr, xs0.length);
  const ys = c.shape(y);
  if (numel(ys) === 0) return;
  const el = storeElem(c.g.typeOf(x!).dtype);
  c.emit('compress_b', { el, xel: qelem(c, x!, el), xs, ys: axisAttr === undefined ? [numel(ys)] : ys, axis, nc: numel(c.shape(cond!)) },
    { x: qop(c, x!), cond: qop(c, cond!), y: val(y) });
}

/** TensorScatter: past_cache with the update written along `axis` at each batch's write index (linear or circular). */
function lowerTensorScatter(c: LowerCtx, n: Node): void {
  const [past, upd, wi] = n.inputs;
  const y = n.outputs[0]!;
  c.checkStorable(past!);
  if (wi != null) needIndexDtype(c, wi, 'TensorScatter write_indices');
  const a = opAttrs<{ circular: boolean; axis: number }>(n, c.opset);
  const ps = c.shape(past!);
  const us = c.shape(upd!);
  const axis = normAxis(a.axis, ps.length);
  if (axis < 1) throw c.unsupported('TensorScatter on the batch axis');
  if (numel(ps) === 0) return;
  const outer = numel(ps.slice(0, axis));
  const el = storeElem(c.g.typeOf(past!).dtype);
  const ops: Record<string, Operand> = { x: qop(c, past!), upd: qop(c, upd!), y: val(y) };
  if (wi != null) ops['wi'] = qop(c, wi);
  c.emit('tensor_scatter_b', {
    el, xel: qelem(c, past!, el), uel: qelem(c, upd!, el), outer, L: ps[axis]!, Ls: us[axis]!, inner: numel(ps.slice(axis + 1)),
    perBatch: outer / ps[0]!, circular: a.circular, indices: wi != null,
  }, ops);
}

/** ai.onnx.ml ArrayFeatureExtractor: z[r, j] = x[r, idx[j]] along the last axis (runtime or constant indices). */
function lowerArrayFeatureExtractor(c: LowerCtx, n: Node): void {
  const [x, idx] = n.inputs;
  const y = n.outputs[0]!;
  c.checkStorable(x!);
  needIndexDtype(c, idx!, 'ArrayFeatureExtractor indices');
  const xs = c.shape(x!);
  if (xs.length === 0) throw c.unsupported('ArrayFeatureExtractor of a scalar');
  const last = xs[xs.length - 1]!;
  const k = numel(c.shape(idx!));
  if (numel(c.shape(y)) === 0) return;
  const el = storeElem(c.g.typeOf(x!).dtype);
  c.emit('qgather_b', { el, xel: qelem(c, x!, el), outer: numel(xs.slice(0, -1)), axisLen: last, nIdx: k, inner: 1, idxel: 'i32' },
    { x: qop(c, x!), idx: qop(c, idx!), y: val(y) });
}
