/**
 * Wasm lowerings of the shape / data-movement family (compiler/ops/shape.ts): strided copies (Transpose,
 * Concat, Split, Slice, Expand, Tile, DepthToSpace/SpaceToDepth, CenterCropPad), Pad, Gather, EyeLike (a
 * constant), ReverseSequence, TensorScatter. Reshape-like ops are
 * aliases handled by the driver (lower.ts).
 */
import { Node, ValueId } from '../../../compiler/ir/graph.js';
import { Tensor, isConcrete, numel } from '../../../compiler/ir/tensor.js';
import { internal, invalid } from '../../../compiler/errors.js';
import {
  broadcastStrides, contiguous, depthSpaceView, gatherLayout, padSpec, partOffsets, sliceView, tileView, transposeView,
} from '../../common/params.js';
import { numberToBf16Bits, numberToF16Bits } from '../../../compiler/ir/dtype.js';
import { normAxis } from '../../../compiler/ops/registry.js';
import { DTYPE, MAX_DIMS, SCATTER_REDUCTION } from '../kernels.js';
import { LowerCtx, LowerFn, NULL, Word, coalesce, i32, copyView, moveSize } from '../ctx.js';

function lowerTranspose(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const v = transposeView(c, n, c.shape(x));
  const es = moveSize(c, n, x);
  copyView(c, c.vaddr(y), contiguous(v.dims), c.vaddr(x, v.offset), v.strides, v.dims, { reads: [x], writes: [y] }, es);
}

function lowerConcat(c: LowerCtx, n: Node): void {
  const y = n.outputs[0]!;
  const ys = c.shape(y);
  const ins = n.inputs.filter((x): x is ValueId => x !== null);
  const shapes = ins.map((x) => c.shape(x));
  const { offsets } = partOffsets(c, n, ys, shapes);
  const yst = contiguous(ys);
  ins.forEach((x, k) => {
    const xs = shapes[k]!;
    const es = moveSize(c, n, x);
    copyView(c, c.vaddr(y, offsets[k]!), yst, c.vaddr(x), contiguous(xs), xs, { reads: [x], writes: [y] }, es);
  });
}

function lowerSplit(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const xs = c.shape(x);
  const shapes = n.outputs.map((o) => c.shape(o));
  const { offsets } = partOffsets(c, n, xs, shapes);
  const xst = contiguous(xs);
  const es = moveSize(c, n, x);
  n.outputs.forEach((o, k) => {
    const os = shapes[k]!;
    copyView(c, c.vaddr(o), contiguous(os), c.vaddr(x, offsets[k]!), xst, os, { reads: [x], writes: [o] }, es);
  });
}

/**
 * Slice whose starts/ends/axes/steps are (partly) runtime values and whose output shape is static
 * (a Loop body slicing at the iteration number): slice_rt resolves the parameters when it runs,
 * with the reference's clamping rules, and traps when they give a shape other than the compiled one.
 */
function lowerSliceRuntime(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const xs = c.shape(x);
  const ys = c.shape(y);
  const r = xs.length;
  if (r > MAX_DIMS) throw c.unsupported(`Slice of rank ${r} with runtime starts/ends`);
  if (ys.length !== r) throw internal(`Slice: output rank ${ys.length} differs from input rank ${r}`);
  const names = ['starts', 'ends', 'axes', 'steps'] as const;
  const params = [1, 2, 3, 4].map((i) => n.inputs[i] ?? null);
  if (params[0] === null || params[1] === null) throw invalid('Slice: inputs "starts" and "ends" are required', { node: n.name, op: n.op });
  const kinds = params.map((id) => (id === null ? -1 : indexKind(c, id)));
  const lens = params.map((id) => (id === null ? -1 : numel(c.shape(id))));
  const m = lens[0]!;
  lens.forEach((l, k) => {
    if (l >= 0 && l !== m) throw invalid(`Slice: starts has ${m} entries, ${names[k]} has ${l}`, { node: n.name, op: n.op });
  });
  if (m > r) throw invalid(`Slice: starts has ${m} entries but the input has rank ${r}`, { node: n.name, op: n.op });
  const lp = (v: number[]) => [...new Array<number>(MAX_DIMS - r).fill(1), ...v];
  const words: Word[] = [
    c.vaddr(x), c.vaddr(y), ...params.map((id) => (id === null ? NULL : c.vaddr(id))), i32(m), ...kinds.map(i32),
    i32(r), i32(moveSize(c, n, x)), ...lp(xs).map(i32), ...lp(ys).map(i32),
  ];
  c.emit('slice_rt', words, { reads: [x, ...params], writes: [y], anyDtype: true });
}

function lowerSlice(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  if (c.opset >= 10 && n.inputs.slice(1).some((id) => id !== null && !c.isConst(id)) && isConcrete(c.g.typeOf(y).shape)) {
    lowerSliceRuntime(c, n);
    return;
  }
  if (c.opset >= 10 && n.inputs.slice(1).some((id) => id !== null && !c.isConst(id))) {
    throw c.unsupported(`Slice with runtime starts/ends/axes/steps needs a static output shape; "${c.g.value(y).name}" has shape [${c.g.typeOf(y).shape.join(',')}]`);
  }
  const v = sliceView(c, n, c.shape(x));
  const ys = c.shape(y);
  if (v.dims.some((d, i) => d !== ys[i])) throw internal(`Slice: computed shape [${v.dims.join(',')}] differs from inferred [${ys.join(',')}]`);
  copyView(c, c.vaddr(y), contiguous(ys), c.vaddr(x, v.offset), v.strides, ys, { reads: [x], writes: [y] }, moveSize(c, n, x));
}

/** Pad mode codes of pad_f32 / pad_u8 (constant is a fill and a copy). */
const PAD_MODES = { reflect: 1, edge: 2, wrap: 3 } as const;

function lowerPad(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const xs = c.shape(x);
  const ys = c.shape(y);
  const r = xs.length;
  const { mode, begin, end, value } = padSpec(c, n, r);
  const es = moveSize(c, n, x);
  const xdt = c.g.typeOf(x).dtype;
  if (mode === 'constant') {
    if (xdt === 'f32') {
      const v = new Float32Array([value]);
      c.emit('fill_f32', [c.addr(y), i32(numel(ys)), i32(new Int32Array(v.buffer)[0]!)], { writes: [y] });
    } else if (es === 1 || es === 4) {
      // integer pad value: the ONNX value is already of the input's dtype
      c.emit(es === 1 ? 'fill_u8' : 'fill_f32', [c.vaddr(y), i32(numel(ys)), i32(fillBits(xdt, value)[0])], { writes: [y], anyDtype: true });
    } else {
      const [lo, hi] = fillBits(xdt, value);
      c.emit('fill_es', [c.vaddr(y), i32(numel(ys)), i32(lo), i32(hi), i32(es)], { writes: [y], anyDtype: true });
    }
    // copy the overlap of the input window into the output
    const ins = xs.map((d, i) => Math.max(0, -begin[i]!));
    const outs = xs.map((d, i) => Math.max(0, begin[i]!));
    const dims = xs.map((d, i) => Math.max(0, Math.min(d - ins[i]!, ys[i]! - outs[i]!)));
    const xst = contiguous(xs);
    const yst = contiguous(ys);
    const xo = ins.reduce((a, b, i) => a + b * xst[i]!, 0);
    const yo = outs.reduce((a, b, i) => a + b * yst[i]!, 0);
    copyView(c, c.vaddr(y, yo), yst, c.vaddr(x, xo), xst, dims, { reads: [x, y], writes: [y] }, es);
    return;
  }
  const m = PAD_MODES[mode];
  if ([...begin, ...end].some((p) => p < 0)) throw c.unsupported(`Pad mode "${mode}" with negative pads`);
  if (r > MAX_DIMS) throw c.unsupported(`Pad of rank ${r}`);
  const lp = (v: number[], fill: number) => [...new Array<number>(MAX_DIMS - r).fill(fill), ...v];
  const words = [c.vaddr(x), c.vaddr(y), i32(m), ...lp(ys, 1).map(i32), ...lp(xs, 1).map(i32), ...lp(begin, 0).map(i32)];
  if (es === 1 || es === 4) c.emit(es === 1 ? 'pad_u8' : 'pad_f32', words, { reads: [x], writes: [y], anyDtype: true });
  else c.emit('pad_es', [...words, i32(es)], { reads: [x], writes: [y], anyDtype: true });
}

function lowerExpand(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const ys = c.shape(y);
  copyView(c, c.vaddr(y), contiguous(ys), c.vaddr(x), broadcastStrides(c.shape(x), ys), ys, { reads: [x], writes: [y] }, moveSize(c, n, x));
}

/**
 * Tile repeats: the constant input, or, when it is a runtime value and the output shape is static,
 * the repeats that shape implies (y = x * repeats per axis), checked at run time by check_ints
 * (a trap when the runtime repeats differ; an axis of x of size 0 takes any non-negative repeat).
 */
function tileRepeats(c: LowerCtx, n: Node): number[] {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const r = n.inputs[1];
  if (r === null || r === undefined || c.isConst(r) || !isConcrete(c.g.typeOf(y).shape)) return c.constNums(r, 'Tile repeats')!;
  const xs = c.shape(x);
  const ys = c.shape(y);
  const kind = indexKind(c, r);
  if (numel(c.shape(r)) !== xs.length || ys.length !== xs.length) {
    throw invalid(`Tile: repeats has ${numel(c.shape(r))} entries but the input has rank ${xs.length}`, { node: n.name, op: n.op });
  }
  const reps = xs.map((d, i) => {
    if (d === 0) return -1;
    if (ys[i]! % d !== 0) throw invalid(`Tile: output dim ${ys[i]} is not a multiple of input dim ${d}`, { node: n.name, op: n.op });
    return ys[i]! / d;
  });
  c.emit('check_ints', [c.vaddr(r), c.blob(Int32Array.from(reps)), i32(reps.length), i32(kind)], { reads: [r], writes: [] });
  return reps.map((k) => Math.max(k, 0));
}

function lowerTile(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const v = tileView(c.shape(x), tileRepeats(c, n));
  copyPeeled(c, y, 0, contiguous(v.dims), x, v.offset, v.strides, v.dims, moveSize(c, n, x));
}

/** Most strided copies one op may split into (copyPeeled). */
const MAX_PEELED_COPIES = 4096;

/**
 * copyView of value `x` (from element `xo`) into value `y` (from element `yo`); a view of more
 * dims than the strided kernels take (a Tile of rank > 3 views 2 dims per axis) is split along its
 * leading dims into several copies, up to MAX_PEELED_COPIES.
 */
function copyPeeled(c: LowerCtx, y: ValueId, yo: number, yst: number[], x: ValueId, xo: number, xst: number[], dims: number[], es: 1 | 2 | 4 | 8): void {
  const io = { reads: [x], writes: [y] };
  if (dims.some((d) => d === 0) || coalesce(dims, [xst, yst])) {
    copyView(c, c.vaddr(y, yo), yst, c.vaddr(x, xo), xst, dims, io, es);
    return;
  }
  let k = 0;
  let copies = 1;
  while (k < dims.length && !coalesce(dims.slice(k), [xst.slice(k), yst.slice(k)])) copies *= dims[k++]!;
  if (copies > MAX_PEELED_COPIES) throw c.unsupported(`a copy over ${dims.length} non-contiguous dims needs ${copies} strided copies (more than ${MAX_PEELED_COPIES})`);
  const lead = dims.slice(0, k);
  const idx = new Array<number>(k).fill(0);
  for (let i = 0; i < copies; i++) {
    const xoff = idx.reduce((a, j, d) => a + j * xst[d]!, xo);
    const yoff = idx.reduce((a, j, d) => a + j * yst[d]!, yo);
    copyView(c, c.vaddr(y, yoff), yst.slice(k), c.vaddr(x, xoff), xst.slice(k), dims.slice(k), io, es);
    for (let d = k - 1; d >= 0; d--) {
      if (++idx[d]! < lead[d]!) break;
      idx[d] = 0;
    }
  }
}

/** Gather kernel of an element size: the 1- and 4-byte originals, the size-generic one otherwise. */
function emitGather(c: LowerCtx, words: Word[], es: 1 | 2 | 4 | 8, io: { reads: (number | null)[]; writes: number[] }): void {
  if (es === 1 || es === 4) c.emit(es === 1 ? 'gather_u8' : 'gather_f32', words, { ...io, anyDtype: true });
  else c.emit('gather_es', [...words, i32(es)], { ...io, anyDtype: true });
}

function lowerGather(c: LowerCtx, n: Node): void {
  const [x, idx] = n.inputs;
  const y = n.outputs[0]!;
  const xs = c.shape(x!);
  const es = moveSize(c, n, x!);
  const it = c.consts.get(idx!);
  if (it) {
    const { outer, axisLen, inner, indices } = gatherLayout(c, n, xs, it.toNumbers());
    emitGather(c, [c.vaddr(x!), c.blob(indices), c.vaddr(y), i32(outer), i32(axisLen), i32(indices.length), i32(inner), i32(0)], es,
      { reads: [x!], writes: [y] });
    return;
  }
  // runtime indices (i32 / i64): the kernel normalizes negative ones and clamps out-of-range ones
  const { outer, axisLen, inner } = gatherLayout(c, n, xs, []);
  const nI = numel(c.shape(idx!));
  if (numel(c.shape(y)) === 0) return;
  if (axisLen === 0) throw c.unsupported('Gather from an empty axis (every index is out of range)');
  emitGather(c, [c.vaddr(x!), c.vaddr(idx!), c.vaddr(y), i32(outer), i32(axisLen), i32(nI), i32(inner), i32(indexKind(c, idx!))], es,
    { reads: [x!, idx!], writes: [y] });
}

function lowerDepthSpace(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const v = depthSpaceView(c, n, c.shape(x));
  copyView(c, c.vaddr(y), contiguous(v.dims), c.vaddr(x, v.offset), v.strides, v.dims, { reads: [x], writes: [y] }, moveSize(c, n, x));
}

/**
 * The two 32-bit words of a fill value of dtype `dt` (low, high): its bits as a runtime buffer holds
 * them (f16/bf16 encodings, f64 / i64 as 64-bit little-endian).
 */
function fillBits(dt: string, v: number): [number, number] {
  switch (dt) {
    case 'f32': return [new Int32Array(new Float32Array([v]).buffer)[0]!, 0];
    case 'f64': { const w = new Int32Array(new Float64Array([v]).buffer); return [w[0]!, w[1]!]; }
    case 'f16': return [numberToF16Bits(v), 0];
    case 'bf16': return [numberToBf16Bits(v), 0];
    case 'bool': return [v ? 1 : 0, 0];
    case 'i64': case 'u64': {
      const b = BigInt.asUintN(64, BigInt(Math.trunc(v)));
      return [Number(b & 0xffffffffn) | 0, Number(b >> 32n) | 0];
    }
    default: return [Math.trunc(v) | 0, 0];
  }
}

/** Index kind word of an index tensor: 0 for i32, 1 for i64 ('unsupported' otherwise). */
export function indexKind(c: LowerCtx, id: ValueId): 0 | 1 {
  const dt = c.g.typeOf(id).dtype;
  if (dt === 'i32') return 0;
  if (dt === 'i64') return 1;
  throw c.unsupported(`indices "${c.g.value(id).name}" have dtype ${dt}; expected int32 or int64`);
}

/**
 * DTYPE code of a value for the dtype-generic kernels; `arith` (kernels that compare or combine
 * values) rejects the 16-bit floats, which those kernels only move.
 */
export function dtypeCode(c: LowerCtx, id: ValueId, arith: boolean): number {
  c.checkRuntime(id);
  const dt = c.g.typeOf(id).dtype;
  const code = (DTYPE as Record<string, number>)[dt];
  if (code === undefined || (arith && (dt === 'f16' || dt === 'bf16'))) {
    throw c.unsupported(`value "${c.g.value(id).name}" has dtype ${dt}; this wasm kernel takes f32, f64, 8..64-bit integers and bool`);
  }
  return code;
}

/** Left-pads a list to MAX_DIMS entries with `fill` ('unsupported' above MAX_DIMS). */
function pad6(c: LowerCtx, v: readonly number[], fill: number): number[] {
  if (v.length > MAX_DIMS) throw c.unsupported(`rank ${v.length} exceeds the ${MAX_DIMS}-dim kernel`);
  return [...new Array<number>(MAX_DIMS - v.length).fill(fill), ...v];
}

/** Reduction code of a ScatterElements / ScatterND node (opset 16+ attribute; 'none' before). */
function scatterReduction(c: LowerCtx): number {
  const r = c.attrs<{ reduction?: keyof typeof SCATTER_REDUCTION }>().reduction ?? 'none';
  return SCATTER_REDUCTION[r];
}

/**
 * Parameter words of the GatherElements / ScatterElements element walk (words 5..18): axis stride,
 * axis length, index dims and data strides (0 on the axis), all padded to MAX_DIMS.
 */
function elementsWords(c: LowerCtx, xs: number[], is: number[], axis: number): Word[] {
  if (is.length !== xs.length) throw c.unsupported(`indices rank ${is.length} differs from data rank ${xs.length}`);
  if (xs[axis] === 0) throw c.unsupported('indices into an empty axis (every index is out of range)');
  if (is.some((d, i) => i !== axis && d > xs[i]!)) throw c.unsupported(`indices shape [${is.join(',')}] exceeds data shape [${xs.join(',')}]`);
  const st = contiguous(xs);
  const ds = st.map((s, i) => (i === axis ? 0 : s));
  return [i32(st[axis]!), i32(xs[axis]!), ...pad6(c, is, 1).map(i32), ...pad6(c, ds, 0).map(i32)];
}

// GatherElements: y[i..] = x[i.. with the axis coordinate replaced by indices[i..]]
function lowerGatherElements(c: LowerCtx, n: Node): void {
  const [x, idx] = n.inputs as [ValueId, ValueId];
  const y = n.outputs[0]!;
  const xs = c.shape(x);
  const is = c.shape(idx);
  moveSize(c, n, x);
  if (numel(is) === 0) return;
  const axis = normAxis(c.attrs<{ axis: number }>().axis, xs.length);
  c.emit('gather_elements', [c.vaddr(x), c.vaddr(idx), c.vaddr(y), i32(dtypeCode(c, x, false)), i32(indexKind(c, idx)),
    ...elementsWords(c, xs, is, axis), i32(0)], { reads: [x, idx], writes: [y], dtype: 'any' });
}

// ScatterElements / Scatter: y = copy of data; y[.. indices[i..] on axis ..] = red(y[..], updates[i..]) in index order
function lowerScatterElements(c: LowerCtx, n: Node): void {
  const [x, idx, upd] = n.inputs as [ValueId, ValueId, ValueId];
  const y = n.outputs[0]!;
  const xs = c.shape(x);
  const is = c.shape(idx);
  const es = moveSize(c, n, x);
  const red = n.op === 'Scatter' ? 0 : scatterReduction(c);
  const dt = dtypeCode(c, x, red !== 0);
  copyView(c, c.vaddr(y), contiguous(xs), c.vaddr(x), contiguous(xs), xs, { reads: [x], writes: [y] }, es);
  if (numel(is) === 0) return;
  if (numel(c.shape(upd)) !== numel(is)) throw c.unsupported(`${n.op} updates shape differs from indices shape`);
  const axis = normAxis(c.attrs<{ axis: number }>().axis, xs.length);
  c.emit('scatter_elements', [c.vaddr(y), c.vaddr(idx), c.vaddr(upd), i32(dt), i32(indexKind(c, idx)), ...elementsWords(c, xs, is, axis), i32(red)],
    { reads: [y, idx, upd], writes: [y], dtype: 'any' });
}

/**
 * Parameter words 5..21 of the GatherND / ScatterND tuple walk: tuple count, tuple length, slice
 * size, tuples per batch, batch stride, and the sizes / strides of the indexed dims.
 */
function ndWords(c: LowerCtx, xs: number[], is: number[], batch: number): Word[] | undefined {
  const k = is[is.length - 1]!;
  if (k < 1 || k > xs.length - batch) throw c.unsupported(`indices last dim ${k} must be in [1, ${xs.length - batch}]`);
  if (k > MAX_DIMS) throw c.unsupported(`index tuples of ${k} coordinates exceed the ${MAX_DIMS}-dim kernel`);
  const tuples = numel(is) / k;
  if (tuples === 0) return undefined;
  const st = contiguous(xs);
  const batchSize = numel(xs.slice(0, batch));
  const perBatch = batch > 0 ? tuples / batchSize : 0;
  const dims = xs.slice(batch, batch + k);
  if (dims.includes(0)) throw c.unsupported('index tuples into an empty dim (every index is out of range)');
  if (is.slice(0, batch).some((d, i) => d !== xs[i])) throw c.unsupported('batch dims of data and indices differ');
  const strides = st.slice(batch, batch + k);
  const fill = (v: number[], f: number) => [...v, ...new Array<number>(MAX_DIMS - v.length).fill(f)];
  return [i32(tuples), i32(k), i32(numel(xs.slice(batch + k))), i32(perBatch), i32(batch > 0 ? st[batch - 1]! : 0),
    ...fill(dims, 1).map(i32), ...fill(strides, 0).map(i32)];
}

// GatherND: y[t, :] = x[b, indices[t, :], :] for tuple t of batch b
function lowerGatherND(c: LowerCtx, n: Node): void {
  const [x, idx] = n.inputs as [ValueId, ValueId];
  const y = n.outputs[0]!;
  moveSize(c, n, x);
  const batch = c.attrs<{ batchDims: number }>().batchDims;
  const w = ndWords(c, c.shape(x), c.shape(idx), batch);
  if (!w || numel(c.shape(y)) === 0) return;
  c.emit('gather_nd', [c.vaddr(x), c.vaddr(idx), c.vaddr(y), i32(dtypeCode(c, x, false)), i32(indexKind(c, idx)), ...w, i32(0)],
    { reads: [x, idx], writes: [y], dtype: 'any' });
}

// ScatterND: y = copy of data; y[indices[t, :], :] = red(y[..], updates[t, :]) in tuple order
function lowerScatterND(c: LowerCtx, n: Node): void {
  const [x, idx, upd] = n.inputs as [ValueId, ValueId, ValueId];
  const y = n.outputs[0]!;
  const xs = c.shape(x);
  const es = moveSize(c, n, x);
  const red = scatterReduction(c);
  const dt = dtypeCode(c, x, red !== 0);
  copyView(c, c.vaddr(y), contiguous(xs), c.vaddr(x), contiguous(xs), xs, { reads: [x], writes: [y] }, es);
  const is = c.shape(idx);
  const w = ndWords(c, xs, is, 0);
  if (!w || numel(xs) === 0) return;
  const k = is[is.length - 1]!;
  if (numel(c.shape(upd)) !== (numel(is) / k) * numel(xs.slice(k))) throw c.unsupported('ScatterND updates shape does not match indices and data');
  c.emit('scatter_nd', [c.vaddr(y), c.vaddr(idx), c.vaddr(upd), i32(dt), i32(indexKind(c, idx)), ...w, i32(red)],
    { reads: [y, idx, upd], writes: [y], dtype: 'any' });
}

// OneHot: y[o, d, i] = d == trunc(indices[o, i]) (negative + depth) ? values[1] : values[0]; depth constant
function lowerOneHot(c: LowerCtx, n: Node): void {
  const [idx, , vals] = n.inputs as [ValueId, ValueId, ValueId];
  const y = n.outputs[0]!;
  const is = c.shape(idx);
  const ys = c.shape(y);
  if (numel(c.shape(vals)) !== 2) throw c.unsupported('OneHot values must have 2 elements');
  const axis = normAxis(c.attrs<{ axis: number }>().axis, is.length + 1);
  const depth = ys[axis]!;
  if (numel(ys) === 0) return;
  c.emit('onehot', [c.vaddr(idx), c.vaddr(vals), c.vaddr(y), i32(dtypeCode(c, vals, false)), i32(dtypeCode(c, idx, true)),
    i32(numel(is.slice(0, axis))), i32(depth), i32(numel(is.slice(axis)))], { reads: [idx, vals], writes: [y], dtype: 'any' });
}

// Trilu: keeps the upper (j - i >= k) or lower (j - i <= k) triangle of the last two dims, zeroes the rest
function lowerTrilu(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const kin = n.inputs[1] ?? null;
  const y = n.outputs[0]!;
  const xs = c.shape(x);
  const es = moveSize(c, n, x);
  const rows = xs[xs.length - 2]!;
  const cols = xs[xs.length - 1]!;
  if (numel(xs) === 0) return;
  const kc = kin === null ? [0] : c.isConst(kin) ? c.constNums(kin, 'Trilu k') : undefined;
  if (kin !== null && !kc && c.g.typeOf(kin).dtype !== 'i64') throw c.unsupported('Trilu k must be int64');
  const k = kc ? Math.max(-(rows + cols + 1), Math.min(rows + cols + 1, kc[0]!)) : 0;
  c.emit('trilu', [c.vaddr(x), c.vaddr(y), i32(es), i32(numel(xs) / (rows * cols)), i32(rows), i32(cols), i32(k),
    kc ? NULL : c.vaddr(kin!), i32(c.attrs<{ upper: boolean }>().upper ? 1 : 0)],
    { reads: [x, kc ? null : kin], writes: [y], dtype: 'any', inplace: [x, y] });
}

/** Fills a value's buffer with zero bits (any runtime dtype). */
function zeroFill(c: LowerCtx, y: ValueId, es: 1 | 2 | 4 | 8): void {
  const cnt = numel(c.shape(y));
  if (es === 1 || es === 4) c.emit(es === 1 ? 'fill_u8' : 'fill_f32', [c.vaddr(y), i32(cnt), i32(0)], { writes: [y], anyDtype: true });
  else c.emit('fill_es', [c.vaddr(y), i32(cnt), i32(0), i32(0), i32(es)], { writes: [y], anyDtype: true });
}

// CenterCropPad(x, shape, axes): each axis becomes the output's size, cropped around its center
// (input start floor((d - s) / 2)) or zero-padded around it (output offset floor((s - d) / 2)); the
// sizes are the compiled output shape (a run-time shape input must agree, as for Reshape)
function lowerCenterCropPad(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const xs = c.shape(x);
  const ys = c.shape(y);
  if (xs.length !== ys.length) throw internal('CenterCropPad: output rank differs from the input rank');
  const es = moveSize(c, n, x);
  if (numel(ys) === 0) return;
  if (ys.some((d, i) => d > xs[i]!)) zeroFill(c, y, es);
  const ins = xs.map((d, i) => (d >= ys[i]! ? Math.floor((d - ys[i]!) / 2) : 0));
  const outs = xs.map((d, i) => (d >= ys[i]! ? 0 : Math.floor((ys[i]! - d) / 2)));
  const dims = xs.map((d, i) => Math.min(d, ys[i]!));
  const xst = contiguous(xs);
  const yst = contiguous(ys);
  const xo = ins.reduce((a, b, i) => a + b * xst[i]!, 0);
  const yo = outs.reduce((a, b, i) => a + b * yst[i]!, 0);
  copyView(c, c.vaddr(y, yo), yst, c.vaddr(x, xo), xst, dims, { reads: [x, y], writes: [y] }, es);
}

// EyeLike(x): y[i, j] = (j - i == k), a function of x's shape only: a compile-time constant
function lowerEyeLike(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const [rows, cols] = c.shape(x) as [number, number];
  const { k } = c.attrs<{ k: number }>();
  const eye = Tensor.zeros(c.g.typeOf(y).dtype, [rows, cols]);
  for (let i = 0; i < rows; i++) if (i + k >= 0 && i + k < cols) eye.set(i * cols + i + k, 1);
  c.consts.set(y, eye);
}

// ReverseSequence(x, lens): y[b, t] = x[b, lens[b] - 1 - t] for t < lens[b], else x[b, t]
function lowerReverseSequence(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const lens = n.inputs[1]!;
  const y = n.outputs[0]!;
  const xs = c.shape(x);
  const a = c.attrs<{ batchAxis: number; timeAxis: number }>();
  const es = moveSize(c, n, x);
  if (numel(xs) === 0) return;
  const st = contiguous(xs);
  const B = xs[a.batchAxis]!;
  if (numel(c.shape(lens)) !== B) throw c.unsupported(`ReverseSequence sequence_lens must have ${B} values`);
  c.emit('reverse_sequence', [c.vaddr(x), c.vaddr(y), c.vaddr(lens), i32(indexKind(c, lens)), i32(es), i32(B), i32(xs[a.timeAxis]!),
    i32(st[a.batchAxis]!), i32(st[a.timeAxis]!), i32(numel(xs.slice(2)))], { reads: [x, lens], writes: [y], dtype: 'any' });
}

// TensorScatter(past, update, write_indices): y = past with update's rows written at
// write_indices[b] + s along the axis (mod the axis length when circular)
function lowerTensorScatter(c: LowerCtx, n: Node): void {
  const past = n.inputs[0]!;
  const upd = n.inputs[1]!;
  const idx = n.inputs[2] ?? null;
  const y = n.outputs[0]!;
  const ps = c.shape(past);
  const us = c.shape(upd);
  const a = c.attrs<{ circular: boolean; axis: number }>();
  const rank = ps.length;
  const axis = a.axis < 0 ? a.axis + rank : a.axis;
  if (axis < 1 || axis >= rank) throw c.unsupported(`TensorScatter axis ${a.axis} for rank ${rank}`);
  if (c.g.typeOf(upd).dtype !== c.g.typeOf(past).dtype || us.length !== rank || us.some((d, i) => (i === axis ? d > ps[i]! : d !== ps[i]))) {
    throw c.unsupported('TensorScatter update does not fit past_cache');
  }
  const es = moveSize(c, n, past);
  if (numel(ps) === 0) return;
  const B = ps[0]!;
  if (idx !== null && numel(c.shape(idx)) !== B) throw c.unsupported(`TensorScatter write_indices must have ${B} values`);
  c.emit('tensor_scatter', [c.vaddr(past), c.vaddr(upd), c.vaddr(y), idx === null ? NULL : c.vaddr(idx), i32(idx === null ? 0 : indexKind(c, idx)),
    i32(es), i32(B), i32(numel(ps.slice(0, axis)) / B), i32(ps[axis]!), i32(us[axis]!), i32(numel(ps.slice(axis + 1))), i32(a.circular ? 1 : 0)],
  { reads: [past, upd, idx], writes: [y], dtype: 'any', inplace: [past, y] });
}

/** Shape-family lowerings by qualified op name. */
export const SHAPE_LOWERINGS: Readonly<Record<string, LowerFn>> = {
  CenterCropPad: lowerCenterCropPad, EyeLike: lowerEyeLike, ReverseSequence: lowerReverseSequence, TensorScatter: lowerTensorScatter,
  Transpose: lowerTranspose, Concat: lowerConcat, Split: lowerSplit, Slice: lowerSlice, Pad: lowerPad,
  Expand: lowerExpand, Tile: lowerTile, Gather: lowerGather, DepthToSpace: lowerDepthSpace, SpaceToDepth: lowerDepthSpace,
  GatherElements: lowerGatherElements, ScatterElements: lowerScatterElements, Scatter: lowerScatterElements,
  GatherND: lowerGatherND, ScatterND: lowerScatterND, OneHot: lowerOneHot, Trilu: lowerTrilu,
};
