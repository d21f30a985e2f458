/**
 * Wasm lowerings of the conv family (compiler/ops/conv.ts): Conv and edgec.FusedConv on the im2col/GEMM,
 * depthwise and Winograd F(2x2,3x3) kernels of runtime-wasm/assembly/conv.ts and winograd.ts.
 */
import { Node } from '../../../compiler/ir/graph.js';
import { numel } from '../../../compiler/ir/tensor.js';
import { ConvTransposeParams, convTransposeBeginPads, windowParams } from '../../../compiler/ops/conv.js';
import { contiguous, conv2dGeom } from '../../common/params.js';
import { copyView } from '../ctx.js';
import { gemmCall } from './matmul.js';
import { sparseConv1x1, sparseStored } from './sparse.js';
import { LowerCtx, LowerFn, Word, f32, i32, NULL, SCRATCH, fusedAct, asF32, asI8 } from '../ctx.js';
import { Int4Blob, Int4Weight } from '../../common/compress.js';

function lowerConv(c: LowerCtx, n: Node): void {
  const [xId, wId, bId] = n.inputs;
  const y = n.outputs[0]!;
  const { xs, ws, geo, group } = conv2dGeom(c, n, 'wasm');
  const [N, C] = [xs[0]!, xs[1]!];
  const K = ws[0]!;
  const H = geo.I[1], W = geo.I[2], OH = geo.O[1], OW = geo.O[2];
  const KH = geo.K[1], KW = geo.K[2];
  const act = fusedAct(n);
  const Cg = C / group;
  const depthwise = group === C && group === K;
  const direct = KH === 1 && KW === 1 && geo.S[1] === 1 && geo.S[2] === 1 && geo.P[1] === 0 && geo.P[2] === 0 && OH === H && OW === W;
  const scratch = depthwise ? depthwiseScratchBytes(H, W, OH, OW, KH, KW, geo.S[1], geo.S[2], geo.P[1], geo.P[2])
    : (direct ? 0 : Cg * KH * KW * OH * OW * 4) + Cg * KH * KW * 32;
  const wt0 = c.consts.get(wId!);
  if (wt0 && !c.compressed(wId!) && useWinograd(C, K, OH, OW, KH, KW, group, geo)) {
    const w = c.f32Data(wt0);
    const U = winogradWeights(w, K, C);
    const scr = winogradScratchBytes(C, K, OH, OW);
    // stored as the 3x3 weights (16/9 smaller), transformed at instantiation by wino_pack_f32
    const uw = c.packedBlob(new Uint8Array(U.buffer, U.byteOffset, U.byteLength),
      { kernel: 'wino_pack_f32', src: new Uint8Array(w.buffer.slice(w.byteOffset, w.byteOffset + w.byteLength)), words: [i32(K), i32(C)] });
    c.emit('conv3x3_wino_f32', [
      c.addr(xId!), uw, bId != null ? c.addr(bId) : NULL, c.addr(y), SCRATCH,
      i32(N), i32(C), i32(H), i32(W), i32(K), i32(OH), i32(OW), i32(geo.P[1]), i32(geo.P[2]),
      f32(act.lo), f32(act.hi), i32(act.code), f32(act.a0), f32(act.a1),
    ], { reads: [xId!, bId ?? null], writes: [y], scratch: scr });
    return;
  }
  // sparse 1x1 weights (pruned, any pattern): SpMM over the pixels when the cost model says it pays
  if (wt0 && direct && group === 1 && !c.int4.has(wId!) && wt0.dtype === 'f32'
    && sparseConv1x1(c, c.addr(xId!), c.f32Data(wt0), bId != null ? c.addr(bId) : NULL, c.addr(y), N, C, K, H * W, act,
      { reads: [xId!, bId ?? null], writes: [y] })) return;
  // constant weights of GEMM-path convs are packed in 4-row groups (one pointer in the microkernel);
  // pruned ones are stored as a bitmap + nonzeros (sparseStored)
  const Kg = K / group;
  const wt = c.consts.get(wId!);
  const packA = !depthwise && Kg >= 4 && OH * OW >= 8 && wt !== undefined;
  // int4 weights blocked along the input channels (quantize/int4.ts) are repacked compressed
  const q4 = c.int4.get(wId!)?.axis === 1 ? c.int4.get(wId!) : undefined;
  const wWord = !packA ? c.addr(wId!)
    : q4 ? c.int4Blob(int4PackRows4(q4, group, Kg, Cg, KH * KW))
      : sparseStored(c, packRows4(c.f32Data(wt), group, Kg, Cg * KH * KW));
  c.emit('conv2d_f32', [
    c.addr(xId!), wWord, bId != null ? c.addr(bId) : NULL, c.addr(y), SCRATCH,
    i32(N), i32(C), i32(H), i32(W), i32(K), i32(OH), i32(OW), i32(KH), i32(KW),
    i32(geo.S[1]), i32(geo.S[2]), i32(geo.D[1]), i32(geo.D[2]), i32(geo.P[1]), i32(geo.P[2]), i32(group),
    f32(act.lo), f32(act.hi), i32(act.code), f32(act.a0), f32(act.a1), i32(packA ? 1 : 0),
  ], { reads: [xId!, wId!, bId ?? null], writes: [y], scratch });
}

/** Scratch of conv3x3_wino_f32 (mirrors winogradScratchBytes in runtime-wasm/assembly/winograd.ts). */
export function winogradScratchBytes(C: number, K: number, OH: number, OW: number): number {
  const Th = Math.ceil(OH / 2);
  const Tw4 = Math.ceil(Math.ceil(OW / 2) / 4) * 4;
  const T = Th * Tw4;
  return (C * (2 * Th + 2) * (2 * Tw4 + 10) + 16 * C * T + 16 * K * T + C * 8) * 4 + 16 + 64;
}

/** Largest scratch a Winograd conv may use; bigger layers keep im2col. */
const WINOGRAD_MAX_SCRATCH = 8 << 20;

/**
 * Winograd F(2x2, 3x3) for 3x3 stride-1 undilated ungrouped convs with enough channels and tiles
 * for its 16 GEMMs to run well (2.25x fewer multiplies than im2col + GEMM).
 */
function useWinograd(C: number, K: number, OH: number, OW: number, KH: number, KW: number, group: number,
  geo: { S: number[]; D: number[] }): boolean {
  if (KH !== 3 || KW !== 3 || group !== 1 || geo.S[1] !== 1 || geo.S[2] !== 1 || geo.D[1] !== 1 || geo.D[2] !== 1) return false;
  const T = Math.ceil(OH / 2) * Math.ceil(Math.ceil(OW / 2) / 4) * 4;
  // below ~32 channels the tile transforms cost more than the multiplies saved (measured on resnet8)
  return C >= 32 && K >= 8 && T >= 16 && winogradScratchBytes(C, K, OH, OW) <= WINOGRAD_MAX_SCRATCH;
}

/**
 * Filter transform U = G g G^T (G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]) of OIHW 3x3 weights,
 * as 16 matrices K x C (xi = 4 i + j), each packed in 4-row groups (packRows4), xi-major.
 */
export function winogradWeights(w: Float32Array, K: number, C: number): Float32Array {
  const G = [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]];
  const U = Array.from({ length: 16 }, () => new Float32Array(K * C));
  for (let k = 0; k < K; k++) {
    for (let ci = 0; ci < C; ci++) {
      const g = (r: number, s: number) => w[((k * C + ci) * 3 + r) * 3 + s]!;
      for (let i = 0; i < 4; i++) {
        for (let j = 0; j < 4; j++) {
          let v = 0;
          for (let r = 0; r < 3; r++) for (let s = 0; s < 3; s++) v += G[i]![r]! * g(r, s) * G[j]![s]!;
          U[i * 4 + j]![k * C + ci] = v;
        }
      }
    }
  }
  const parts = U.map((u) => packRows4(u, 1, K, C));
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Scratch of a depthwise conv: the zero-padded input plane (mirrors depthwiseScratchBytes in
 * runtime-wasm/assembly/conv.ts).
 */
export function depthwiseScratchBytes(H: number, W: number, OH: number, OW: number, KH: number, KW: number, sh: number, sw: number, ph: number, pw: number): number {
  const needW = Math.ceil(OW / 4) * 4 * sw + KW + 8;
  const Wp = Math.ceil(Math.max(W + pw, needW) / 4) * 4;
  const Hp = Math.max(H + ph, (OH - 1) * sh + KH);
  return Hp * Wp * 4 + 64;
}

/**
 * Packs constant conv weights [G * rows, kdim] (rows >= 4 per group) into 4-row groups [kdim][4]
 * per conv group: rows 0-3, 4-7, ... and, when rows % 4 != 0, rows rows-4..rows-1 (the overlapping
 * last tile of gemm_f32).
 */
export function packRows4(w: Float32Array, groups: number, rows: number, kdim: number): Float32Array {
  const starts: number[] = [];
  for (let m = 0; m < rows;) {
    const mm = rows - m >= 4 ? m : rows - 4;
    starts.push(mm);
    m = mm + 4;
  }
  const out = new Float32Array(groups * starts.length * kdim * 4);
  let o = 0;
  for (let g = 0; g < groups; g++) {
    for (const m0 of starts) {
      for (let k = 0; k < kdim; k++) for (let i = 0; i < 4; i++) out[o++] = w[(g * rows + m0 + i) * kdim + k]!;
    }
  }
  return out;
}

/**
 * packRows4 of int4 conv weights [G * rows, Cg, khw] (blocks along Cg): the packed blob
 * [G * S][Cg][khw * 4] takes scales packed the same way from [G * rows, ceil(Cg/block) * khw].
 */
function int4PackRows4(w: Int4Weight, groups: number, rows: number, Cg: number, khw: number): Int4Blob {
  const q = asI8(packRows4(asF32(w.q), groups, rows, Cg * khw));
  const scale = packRows4(w.scale, groups, rows, Math.ceil(Cg / w.block) * khw);
  return { kind: 'int4', q, scale, outer: q.length / (Cg * khw * 4), D: Cg, inner: khw * 4, block: w.block };
}

// ConvTranspose (1-D / 2-D / 3-D, f32): Y = col2im(W^T X) + B. Per group g, one batched GEMM
// computes the columns cols[n, g*Mg + m, k..., :] = sum_c W[g*Cg + c, m, k...] * X[n, g*Cg + c, :];
// the col2im kernel sums, for every output position, the columns of the taps that land on it
// (o = i*s - p + k*d per spatial dim), and adds the bias (convt_col2im_f32 for 1-D/2-D,
// col2im_nd_f32 for 3-D).
function lowerConvTranspose(c: LowerCtx, n: Node): void {
  const [xId, wId, bId] = n.inputs;
  const x = xId!;
  const w = wId!;
  const y = n.outputs[0]!;
  const xs = c.shape(x);
  const ws = c.shape(w);
  const ys = c.shape(y);
  const nd = xs.length - 2;
  if (nd < 1 || nd > 3) throw c.unsupported(`${nd}-D ConvTranspose is not supported on wasm (1-D to 3-D only)`);
  const a = c.attrs<ConvTransposeParams>();
  const p = windowParams(a, nd, ws.slice(2), n.op);
  const pb = convTransposeBeginPads(xs.slice(2), p, a);
  const lift = (v: number[], fill: number): number[] => [...new Array<number>(3 - nd).fill(fill), ...v];
  const I = lift(xs.slice(2), 1), O = lift(ys.slice(2), 1), Kd = lift(p.kernel, 1);
  const S = lift(p.strides, 1), D = lift(p.dilations, 1), P = lift(pb, 0);
  const [N, C] = [xs[0]!, xs[1]!];
  const G = a.group;
  const Cg = C / G;
  const Mg = ws[1]!;
  const M = Mg * G;
  const K = numel(Kd);
  const plane = numel(I);
  if (numel(ys) === 0) return;
  // weights as [G, Mg*K, Cg] (each group's GEMM A operand): transposed at compile time, or by a copy
  const rows = Mg * K;
  const wAt = (g: number): Word => (wtId === null ? { ...wtBlob!, off: g * rows * Cg * 4 } : { k: 'buf', id: wtId, off: g * rows * Cg * 4 });
  let wtBlob: { k: 'blob'; id: number; off: number } | undefined;
  let wtId: number | null = null;
  const wc = c.consts.get(w);
  if (wc) {
    const src = c.f32Data(wc);
    const t = new Float32Array(G * rows * Cg);
    for (let g = 0; g < G; g++) for (let r = 0; r < rows; r++) for (let ci = 0; ci < Cg; ci++) t[(g * rows + r) * Cg + ci] = src[(g * Cg + ci) * rows + r]!;
    wtBlob = c.blob(t) as { k: 'blob'; id: number; off: number };
  } else {
    wtId = c.temp(G * rows * Cg * 4);
    copyView(c, { k: 'buf', id: wtId, off: 0 }, contiguous([G, rows, Cg]), c.addr(w), [Cg * rows, 1, rows], [G, rows, Cg], { reads: [w], writes: [wtId] });
  }
  const cols = c.temp(N * M * K * plane * 4);
  const colsAt = (off: number): Word => ({ k: 'buf', id: cols, off: off * 4 });
  const noAct = { lo: -Infinity, hi: Infinity, code: 0, a0: 0, a1: 0 };
  for (let g = 0; g < G; g++) {
    gemmCall(c, wAt(g), c.addr(x, g * Cg * plane), colsAt(g * rows * plane), NULL, 0, rows, plane, Cg, Cg, plane, 1, noAct,
      N, 0, C * plane, M * K * plane, 0, { reads: [x, wtId], writes: [cols] });
  }
  const bias = bId != null ? c.addr(bId) : NULL;
  if (nd === 3) {
    c.emit('col2im_nd_f32', [colsAt(0), c.addr(y), bias, i32(N), i32(M), ...Kd.map(i32), ...I.map(i32), ...O.map(i32), ...S.map(i32),
      ...D.map(i32), ...P.map(i32)], { reads: [cols, bId ?? null], writes: [y] });
    return;
  }
  c.emit('convt_col2im_f32', [colsAt(0), c.addr(y), bias, i32(N), i32(M), i32(Kd[1]!), i32(Kd[2]!), i32(I[1]!), i32(I[2]!),
    i32(O[1]!), i32(O[2]!), i32(S[1]!), i32(S[2]!), i32(D[1]!), i32(D[2]!), i32(P[1]!), i32(P[2]!)], { reads: [cols, bId ?? null], writes: [y] });
}

// Col2Im(X[N, C*prod(block), L], image_shape, block_shape) -> Y[N, C, *image]: X is the column
// tensor [N, C, *block, *blocks] of col2im_nd_f32, Y[n, c, p*s - pad + q*d] += X[n, c, q, p]
function lowerCol2Im(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const xs = c.shape(x);
  const ys = c.shape(y);
  const img = c.constNums(n.inputs[1], 'Col2Im image_shape')!;
  const blk = c.constNums(n.inputs[2], 'Col2Im block_shape')!;
  const nd = img.length;
  if (nd < 1 || nd > 3) throw c.unsupported(`Col2Im on ${nd} spatial dims is not supported on wasm (1..3)`);
  if (blk.length !== nd || xs.length !== 3) throw c.unsupported('Col2Im: image_shape and block_shape lengths differ, or the input is not 3-D');
  const a = c.attrs<{ dilations?: number[]; pads?: number[]; strides?: number[] }>();
  const dil = a.dilations ?? new Array<number>(nd).fill(1);
  const str = a.strides ?? new Array<number>(nd).fill(1);
  const pads = a.pads ?? new Array<number>(2 * nd).fill(0);
  if (dil.length !== nd || str.length !== nd || pads.length !== 2 * nd) throw c.unsupported(`Col2Im: dilations, strides and pads must match ${nd} spatial dims`);
  const blocks = img.map((v, i) => Math.floor((v + pads[i]! + pads[i + nd]! - (dil[i]! * (blk[i]! - 1) + 1)) / str[i]!) + 1);
  const K = numel(blk);
  if (blocks.some((b) => b < 1) || numel(blocks) !== xs[2] || xs[1]! % K !== 0) {
    throw c.unsupported(`Col2Im: input [${xs.join(',')}] does not match image [${img.join(',')}] / block [${blk.join(',')}] geometry`);
  }
  if (numel(ys) === 0) return;
  const lift = (v: number[], fill: number): number[] => [...new Array<number>(3 - nd).fill(fill), ...v];
  c.emit('col2im_nd_f32', [c.addr(x), c.addr(y), NULL, i32(xs[0]!), i32(xs[1]! / K), ...lift(blk, 1).map(i32), ...lift(blocks, 1).map(i32),
    ...lift(img, 1).map(i32), ...lift(str, 1).map(i32), ...lift(dil, 1).map(i32), ...lift(pads.slice(0, nd), 0).map(i32)], { reads: [x], writes: [y] });
}

/** Conv-family lowerings by qualified op name. */
export const CONV_LOWERINGS: Readonly<Record<string, LowerFn>> = {
  Conv: lowerConv, 'edgec.FusedConv': lowerConv, ConvTranspose: lowerConvTranspose, Col2Im: lowerCol2Im,
};
