/**
 * WebGPU lowerings of the shape / data-movement family (compiler/ops/shape.ts): strided copies
 * (Transpose, Concat, Split, Slice, Expand, Tile, DepthToSpace/SpaceToDepth), Pad, Gather.
 * Reshape-like ops are aliases handled by the driver (lower.ts). GatherElements and Trilu of any
 * webgpu dtype (indices / diagonal offset constant or runtime) move words or packed elements.
 */
import { Node, ValueId } from '../../../compiler/ir/graph.js';
import { numel } from '../../../compiler/ir/tensor.js';
import { internal } from '../../../compiler/errors.js';
import {
  broadcastStrides, depthSpaceView, gatherLayout, padSpec, partOffsets, sliceView, tileView, transposeView,
} from '../../common/params.js';
import { stridesOf } from '../wgsl/shader.js';
import { normAxis } from '../../../compiler/ops/registry.js';
import { opAttrs } from '../../common/params.js';
import { storeElem } from '../wgsl/qshader.js';
import { LowerCtx, LowerFn, Operand, copyView, qelem, qop, val, viewCopy } from '../ctx.js';

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
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const v = sliceView(c, n, c.shape(x));
  const ys = c.shape(y);
  if (v.dims.some((d, i) => d !== ys[i])) throw internal(`Slice: computed shape [${v.dims.join(',')}] differs from inferred [${ys.join(',')}]`);
  viewCopy(c, y, x, v);
}

function lowerPad(c: LowerCtx, n: Node): void {
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
  viewCopy(c, n.outputs[0]!, x, tileView(c.shape(x), c.constNums(n.inputs[1], 'Tile repeats')!));
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
