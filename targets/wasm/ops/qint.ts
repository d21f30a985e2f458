/**
 * Lowerings of the integer ops (compiler/ops/qint.ts, domain 'edgec') and of QuantizeLinear /
 * DequantizeLinear to the int8 kernels of runtime-wasm/assembly/int8.ts, with the compile-time
 * weight packing those kernels read. Results match the reference kernels bit for bit.
 *
 * Packing (see int8.ts for the layouts): weights are centered at compile time (w' = w - zw[m],
 * |w'| <= 383 fits i16) and the zero point of the input folds into a per-channel offset
 * off[m] = bias[m] - zx * sum_k w'[m][k] (int32, wrapping like the reference accumulator), so the
 * inner loops are plain dot products. Accumulators wrap modulo 2^32 exactly as the specification's
 * int32 accumulator does; no K makes the kernels and the reference disagree.
 *
 * Int8/int32 runtime values are sized by their dtype in the memory plan (1 byte per int8/uint8
 * element, 4 per int32); steps are appended directly so the f32-only check of LowerCtx.emit does
 * not reject int8 outputs. Data movement on int8 values (aliases, Transpose, Slice, Concat, Pad,
 * Gather, Max/Min, ...) is lowered by lower.ts with the 1-byte kernels of bytes.ts; MaxPool on
 * int8 comes here through lower.ts's lowerPool.
 *
 * The ONNX integer ops whose operands may all be runtime values (MatMulInteger, QLinearMatMul,
 * ConvInteger, QLinearConv, DynamicQuantizeLinear: the importer's pre-quantized graphs reach here
 * only when quantize/ could not fold them into edgec ops) run on the scalar kernels of
 * runtime-wasm/assembly/qint4.ts. i4/u4 values are held unpacked, one byte per element
 * (ctx.ts DTYPE_BYTES), so every 1-byte kernel moves them; wrap4Outputs re-wraps what a cast wrote.
 */
import { Node, ValueId } from '../../../compiler/ir/graph.js';
import { Tensor, numel } from '../../../compiler/ir/tensor.js';
import { dtypeFromOnnx, intRange } from '../../../compiler/ir/dtype.js';
import { internal } from '../../../compiler/errors.js';
import { AttrReader, normAxis } from '../../../compiler/ops/registry.js';
import { geom3, readConvAttrs, readWindowAttrs, windowParams } from '../../../compiler/ops/conv.js';
import { stageLen } from '../../../compiler/ops/qint.js';
import type { OutStage, QAddAttrs, QAvgPoolAttrs, QConvAttrs, QLutAttrs, QMulAttrs, QReduceMeanAttrs, QSoftmaxAttrs, RequantizeAttrs, TflQuantizeAttrs } from '../../../compiler/ops/qint.js';
import { ANY_BINARY, ANY_UNARY, DTYPE, KERNELS, KernelId } from '../kernels.js';
import { Operand, blobOperand, emitBinaryAny, emitUnaryOperands, operand, tempOperand } from './elementwise.js';
import { avgPoolCountsMinus1, broadcastStrides, contiguous } from '../../common/params.js';
import { QConvGeom, attrsOf, int8Lowerings, needDtype, needSingleRounding, pick, qconvGeom, qgemmOperands } from '../../common/qint.js';
// type-only: lower.ts imports this module (a value import back would be an ESM cycle)
import type { LowerCtx, Step, Word } from '../ctx.js';

const i32 = (v: number): Word => ({ k: 'i', v });
const NULL: Word = { k: 'null' };
const SCRATCH: Word = { k: 'scratch' };

/** Flag bits of the int8 kernels (runtime-wasm/assembly/int8.ts). */
export const QFLAG = { xSigned: 1, ySigned: 2, yI32: 4, float: 8, bSigned: 16, w8: 32, gemmVec: 64, uniformShift: 128, noWrap: 256, tflite: 512 } as const;

/** Output pixels per tile of qconv_i8's GEMM path (TILE_PIXELS in int8.ts). */
const TILE_PIXELS = 256;

const align16 = (n: number): number => Math.ceil(n / 16) * 16;

/** Blob ids of constant int tensors already placed, per lowering. */
const constBlobs = new WeakMap<LowerCtx, Map<ValueId, number>>();

/** Raw bytes of a typed array. */
function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
}

/** Dtype of a value. */
function dt(c: LowerCtx, id: ValueId): string {
  return c.g.typeOf(id).dtype;
}

/** Address word of an int8/uint8/int32 operand: its constant blob (raw bytes) or runtime buffer. */
function qaddr(c: LowerCtx, id: ValueId): Word {
  const t = c.consts.get(id);
  if (!t) return { k: 'buf', id, off: 0 };
  let m = constBlobs.get(c);
  if (!m) constBlobs.set(c, (m = new Map()));
  let b = m.get(id);
  if (b === undefined) {
    if (!(t.data instanceof Int8Array || t.data instanceof Uint8Array || t.data instanceof Int32Array)) {
      throw c.unsupported(`constant "${c.g.value(id).name}" has dtype ${t.dtype}; expected an int8/uint8/int32 tensor`);
    }
    b = (c.blob(bytesOf(t.data)) as { id: number }).id;
    m.set(id, b);
  }
  return { k: 'blob', id: b, off: 0 };
}

/** qpack_i8 layouts (runtime-wasm/assembly/wpack.ts). */
const QPACK = { panels: 0, dwPairs: 1, dwNhwc: 2, winograd: 3, gemm: 4 } as const;

/**
 * A weight blob in an int8 kernel layout, stored in model.wasm as the raw weights `wt` (one byte a
 * weight) and packed by qpack_i8 at instantiation; `packed` is the same layout built here (what
 * dynamic artifacts store, and what qpack_i8 must reproduce byte for byte).
 * @param zw per-output-channel weight zero points (length 1: per tensor)
 * @param dims d0..d3 of the layout (wpack.ts)
 */
function packedWeights(c: LowerCtx, packed: ArrayBufferView, wt: Tensor, zw: readonly number[],
  mode: number, dims: readonly number[]): Word {
  const wd = wt.data as Int8Array | Uint8Array;
  const uniform = zw.every((z) => z === zw[0]);
  const zp = uniform ? NULL : c.blob(Int32Array.from(zw));
  const d = [...dims, 0, 0, 0, 0].slice(0, 4).map(i32);
  return c.packedBlob(bytesOf(packed), {
    kernel: 'qpack_i8', src: bytesOf(wd),
    words: [zp, i32(uniform ? zw[0] ?? 0 : 0), i32(mode), i32(wt.dtype === 'i8' ? 1 : 0), ...d],
  });
}

/** Appends a kernel call (like LowerCtx.emit, without its f32-only output check). */
function emitQ(c: LowerCtx, kernel: KernelId, words: Word[], opts: { reads: (number | null)[]; writes: number[]; scratch?: number }): void {
  if (words.length !== KERNELS[kernel].words) throw internal(`${kernel}: ${words.length} parameter words, expected ${KERNELS[kernel].words}`);
  const reads = opts.reads.filter((x): x is number => x !== null && !(x >= 0 && c.isConst(x)));
  const st: Step = { kernel, words, node: c.node, reads, writes: opts.writes, scratchBytes: opts.scratch ?? 0 };
  c.steps.push(st);
}

/** Wraps to int32. */
const wrap = (v: number): number => v | 0;

/**
 * Accumulator offset of channel m: bias - zx * sum(w'), modulo 2^32 (the reference's int32
 * accumulator wraps the same way), so the kernels sum x * w' on raw (uncentered) inputs.
 */
const offsetOf = (bias: Int32Array | null, zx: number, sumW: readonly number[], m: number): number =>
  wrap((bias ? bias[m]! : 0) - Math.imul(zx, wrap(sumW[m]!)));

/**
 * Channel blob: off[Mp], mult[Mp], shift[Mp] (Mp = M rounded up to 4) and, in float mode, the f64
 * scales; the 7 output-stage words of a parameter block.
 * @param sumW sum_k w'[m][k] per channel (exact integers)
 */
function stageWords(c: LowerCtx, out: OutStage, M: number, bias: Int32Array | null, zx: number, sumW: number[], flags: number, gemmVec = false): Word[] {
  const Mp = Math.ceil(M / 4) * 4;
  // qgemm_i8's vector output stage: fixed mode, 8-bit output, every shift >= 32 (high-word path)
  const shifts = Array.from({ length: M }, (_, m) => (out.mode === 'fixed' && out.shift.length > 0 ? pick(out.shift, m) : 0));
  const vec = gemmVec && out.yDtype !== 'i32' && out.mode === 'fixed' && M > 0 && shifts.every((n) => n >= 32);
  const chan = new Int32Array((vec ? 5 : 3) * Mp);
  if (vec) {
    // rnd[Mp] as i64 (low, high words): 2^(n-1), n in [32, 62]
    for (let m = 0; m < M; m++) {
      const n = shifts[m]!;
      chan[3 * Mp + 2 * m] = n === 32 ? -0x80000000 : 0;
      chan[3 * Mp + 2 * m + 1] = n === 32 ? 0 : 2 ** (n - 33);
    }
    flags |= QFLAG.gemmVec;
    if (shifts.every((n) => n === shifts[0])) flags |= QFLAG.uniformShift;
  }
  for (let m = 0; m < M; m++) {
    chan[m] = offsetOf(bias, zx, sumW, m);
    if (out.yDtype !== 'i32' && out.mode !== 'float') {
      chan[Mp + m] = pick(out.multiplier, m);
      chan[2 * Mp + m] = pick(out.shift, m);
    }
  }
  let f = flags;
  let scales: Word = NULL;
  if (out.yDtype === 'i32') f |= QFLAG.yI32;
  else if (out.mode === 'float') {
    f |= QFLAG.float;
    scales = c.blob(bytesOf(Float64Array.from({ length: M }, (_, m) => pick(out.scale, m))));
  } else if (out.mode === 'tflite') f |= QFLAG.tflite;
  if (out.yDtype === 'i8') f |= QFLAG.ySigned;
  return [c.blob(chan), scales, i32(f), i32(out.yZeroPoint), i32(out.lo), i32(out.hi), i32(M)];
}

// ---------------------------------------------------------------------------------------------
// QConv
// ---------------------------------------------------------------------------------------------

const isDepthwise = (q: QConvGeom): boolean => q.G === q.C && q.G === q.M;
const isPointwise = (q: QConvGeom): boolean => !isDepthwise(q) && q.KH === 1 && q.KW === 1 && q.sh === 1 && q.sw === 1 &&
  q.ph === 0 && q.pw === 0 && q.OH === q.H && q.OW === q.W;
/** Shapes that qconv_wino_i8 may take (its overflow bound decides at lowering). */
const mayWinograd = (q: QConvGeom): boolean => q.KH === 3 && q.KW === 3 && q.sh === 1 && q.sw === 1 && q.dh === 1 && q.dw === 1 &&
  q.G === 1 && q.C >= 8 && q.M >= 8 && q.OH >= 4 && q.OW >= 4;
/** The output stage qdw_nhwc_i8 vectorizes over channels: fixed, 8-bit, one shift >= 32. */
function sharedHighShift(q: QConvGeom): number | undefined {
  const o = q.a.out;
  if (o.yDtype === 'i32' || o.mode !== 'fixed' || o.shift.length === 0) return undefined;
  const n = o.shift[0]!;
  return n >= 32 && o.shift.every((v) => v === n) ? n : undefined;
}

/** Channels-last values of a lowering (computed once per LowerCtx). */
const nhwcSets = new WeakMap<LowerCtx, Set<ValueId>>();

/**
 * Which 8-bit activations the int8 convolutions exchange channels-last ([N][H][W][C]): the input
 * and output of every depthwise QConv whose neighbours can read / write that layout. Producers:
 * QConv on the GEMM paths (im2col or pointwise; 8-bit output, not Winograd) or a channels-last
 * depthwise; consumers: pointwise QConv (input 0) or channels-last depthwise. Graph inputs and
 * outputs and values read by anything else stay NCHW. A depthwise conv runs channels-last only when
 * both its input and its output do (qdw_nhwc_i8); its output stage must fit the kernel
 * (sharedHighShift). The layout is internal: every other op sees NCHW values.
 */
function nhwcValues(c: LowerCtx): Set<ValueId> {
  let set = nhwcSets.get(c);
  if (set) return set;
  if (c.opts.graphLayouts) {
    nhwcSets.set(c, (set = new Set()));
    return set;
  }
  const g = c.g;
  const geoms = new Map<Node, QConvGeom | null>();
  const geomOf = (n: Node): QConvGeom | null => {
    if (geoms.has(n)) return geoms.get(n)!;
    let q: QConvGeom | null = null;
    if (n.domain === 'edgec' && n.op === 'QConv') {
      try {
        q = qconvGeom(c, n);
      } catch {
        q = null;
      }
    }
    geoms.set(n, q);
    return q;
  };
  // channels-last pays off (measured on the bench models) on narrow outputs (the NCHW kernel's
  // 8-pixel rows run partly empty and its per-channel plane setup dominates), on strided ones (the
  // NCHW kernel splits even/odd columns) and on mid-size planes with many channels, given at least
  // 16 channels (two 8-channel blocks per pixel); wide planes with few channels stay NCHW
  const dwOk = (q: QConvGeom): boolean => isDepthwise(q) && sharedHighShift(q) !== undefined && q.C >= 16 && (q.OW <= 16 || q.sh > 1 || q.sw > 1 || (q.C >= 64 && q.OW <= 32));
  const uses = g.uses();
  const outs = new Set(g.outputs);
  set = new Set<ValueId>();
  const dws: Node[] = [];
  for (const n of g.orderedNodes()) {
    const q = geomOf(n);
    if (q && dwOk(q)) {
      dws.push(n);
      set.add(n.inputs[0]!);
      set.add(n.outputs[0]!);
    }
  }
  const writes = (n: Node | undefined): boolean => {
    const q = n && geomOf(n);
    if (!q || q.a.out.yDtype === 'i32') return false;
    return isDepthwise(q) ? dwOk(q) : !mayWinograd(q);
  };
  const reads = (n: Node, v: ValueId): boolean => {
    const q = geomOf(n);
    if (!q || n.inputs[0] !== v || n.inputs.slice(1).includes(v)) return false;
    return isDepthwise(q) ? dwOk(q) : isPointwise(q);
  };
  for (let changed = true; changed;) {
    changed = false;
    for (const v of [...set]) {
      const r = c.shape(v).length;
      const us = uses.get(v) ?? [];
      const ok = !outs.has(v) && !g.inputs.includes(v) && !c.isConst(v) && (r === 3 || r === 4) &&
        writes(g.producerOf(v)) && us.length > 0 && us.every((u) => reads(u, v));
      if (!ok) {
        set.delete(v);
        changed = true;
      }
    }
    for (const n of dws) {
      const [i, o] = [n.inputs[0]!, n.outputs[0]!];
      if (set.has(i) !== set.has(o)) {
        set.delete(i);
        set.delete(o);
        changed = true;
      }
    }
  }
  nhwcSets.set(c, set);
  return set;
}

function lowerQConv(c: LowerCtx, n: Node): void {
  const q = qconvGeom(c, n);
  const { a, xd, wt, bt, N, C, H, W, M, OH, OW, KH, KW, sh, sw, dh, dw, ph, pw, G } = q;
  const xId = n.inputs[0];
  const y = n.outputs[0]!;
  const nhwc = nhwcValues(c);
  const Cg = C / G, Mg = M / G;
  const K = Cg * KH * KW;
  const wd = wt.data as Int8Array | Uint8Array;
  const wc = (m: number, k: number): number => wd[m * K + k]! - pick(a.wZeroPoint, m);
  const sumW = Array.from({ length: M }, (_, m) => {
    let s = 0;
    for (let k = 0; k < K; k++) s += wc(m, k);
    return s;
  });
  const xNhwc = nhwc.has(xId!), yNhwc = nhwc.has(y);
  if (!xNhwc && !yNhwc && winogradInt8(c, n, a, xd, xId!, y, wt, bt, sumW, { N, C, H, W, M, OH, OW, KH, KW, sh, sw, dh, dw, ph, pw, G })) return;
  if (xNhwc && isDepthwise(q)) {
    lowerDepthwiseNhwc(c, q, xId!, y, wc, bt ? (bt.data as Int32Array) : null, sumW);
    return;
  }
  const depthwise = isDepthwise(q) && (sw === 1 || sw === 2);
  const pointwise = isPointwise(q);
  if (xNhwc && !pointwise) throw internal('channels-last input on a non-pointwise QConv');
  let wpack: Word;
  let scratch: number;
  if (depthwise) {
    // kernel-row pairs: (w'[c][2p][kw], w'[c][2p+1][kw]), zero past the last row
    const KH2 = Math.ceil(KH / 2);
    const pairs = new Int32Array(M * KH2 * KW);
    const tap = (m: number, kh: number, kw: number): number => (kh < KH ? wc(m, kh * KW + kw) : 0);
    for (let m = 0; m < M; m++) {
      for (let q = 0; q < KH2; q++) {
        for (let kw = 0; kw < KW; kw++) pairs[(m * KH2 + q) * KW + kw] = (tap(m, 2 * q, kw) & 0xffff) | (tap(m, 2 * q + 1, kw) << 16);
      }
    }
    wpack = packedWeights(c, pairs, wt, a.wZeroPoint, QPACK.dwPairs, [M, KH, KW]);
    // plane geometry: dwPairRows / dwRows / dwCols of int8.ts
    const PHp = (OH - 1) * sh + 2 * (KH2 - 1) * dh + 1;
    const PHa = Math.max(H + ph, PHp + dh);
    const ow8 = Math.ceil(OW / 8) * 8;
    const need = sw === 1 ? ow8 + (KW - 1) * dw : 2 * (ow8 + (((KW - 1) * dw) >> 1) + 1);
    const PWd = Math.ceil(Math.max(W + pw, need) / 16) * 16;
    scratch = PHa * PWd * 2 + PHp * PWd * 4;
  } else {
    const K2 = Math.ceil(K / 2);
    const Mg4 = Math.ceil(Mg / 4) * 4;
    const packed = new Int32Array(G * Mg4 * K2);
    for (let g = 0; g < G; g++) {
      for (let r = 0; r < Mg; r++) {
        const m = g * Mg + r;
        for (let j = 0; j < K2; j++) {
          const lo = wc(m, 2 * j);
          const hi = 2 * j + 1 < K ? wc(m, 2 * j + 1) : 0;
          packed[((g * (Mg4 / 4) + (r >> 2)) * K2 + j) * 4 + (r & 3)] = (lo & 0xffff) | (hi << 16);
        }
      }
    }
    wpack = packedWeights(c, packed, wt, a.wZeroPoint, QPACK.panels, [G, Mg, K]);
    const TR = Math.min(OH, Math.max(1, Math.floor(TILE_PIXELS / OW)));
    const P8 = Math.ceil((TR * OW) / 8) * 8;
    scratch = (pointwise ? 0 : align16(K * P8)) + P8 * K2 * 4;
  }
  // no accumulator can wrap: |sum x * w'| <= max|x| * sum |w'| plus |off| stays below 2^31 (the
  // kernel may then fold off and zy into its 64-bit rounding constant)
  const xmax = xd === 'i8' ? 128 : 255;
  const nowrap = Array.from({ length: M }, (_, m) => {
    let abs = 0;
    for (let k = 0; k < K; k++) abs += Math.abs(wc(m, k));
    const off = offsetOf(bt ? (bt.data as Int32Array) : null, a.xZeroPoint, sumW, m);
    return xmax * abs + Math.abs(off) < 2 ** 31;
  }).every(Boolean);
  const stage = stageWords(c, a.out, M, bt ? (bt.data as Int32Array) : null, a.xZeroPoint, sumW,
    (xd === 'i8' ? QFLAG.xSigned : 0) | (nowrap ? QFLAG.noWrap : 0));
  emitQ(c, 'qconv_i8', [
    qaddr(c, xId!), wpack, { k: 'buf', id: y, off: 0 }, SCRATCH, ...stage,
    i32(N), i32(C), i32(H), i32(W), i32(OH), i32(OW), i32(KH), i32(KW), i32(sh), i32(sw), i32(dh), i32(dw), i32(ph), i32(pw),
    i32(G), i32(depthwise ? 2 : pointwise ? 1 : 0), i32(a.xZeroPoint), i32((xNhwc ? 1 : 0) | (yNhwc ? 2 : 0)),
  ], { reads: [xId!], writes: [y], scratch });
}

/**
 * Depthwise QConv on channels-last input and output (qdw_nhwc_i8): weights as tap pairs
 * interleaved per channel (see int8.ts), off/mult per channel padded to a multiple of 8.
 */
function lowerDepthwiseNhwc(c: LowerCtx, q: QConvGeom, xId: ValueId, y: ValueId, wc: (m: number, k: number) => number,
  bias: Int32Array | null, sumW: number[]): void {
  const { a, xd, N, C, H, W, OH, OW, KH, KW, sh, sw, dh, dw, ph, pw } = q;
  const n = sharedHighShift(q);
  if (n === undefined) throw internal('qdw_nhwc_i8 needs one shift >= 32');
  const T = KH * KW, T2 = Math.ceil(T / 2), C8 = Math.ceil(C / 8) * 8;
  const wp = new Int16Array(T2 * C8 * 2);
  for (let t2 = 0; t2 < T2; t2++) {
    for (let ch = 0; ch < C; ch++) {
      const base = t2 * C8 * 2 + (ch >> 3) * 16 + ((ch & 7) >> 2) * 8 + (ch & 3) * 2;
      wp[base] = wc(ch, 2 * t2);
      wp[base + 1] = 2 * t2 + 1 < T ? wc(ch, 2 * t2 + 1) : 0;
    }
  }
  const chan = new Int32Array(2 * C8);
  const o = a.out;
  for (let ch = 0; ch < C; ch++) {
    chan[ch] = offsetOf(bias, a.xZeroPoint, sumW, ch);
    chan[C8 + ch] = pick(o.multiplier, ch);
  }
  const ys = o.yDtype === 'i8';
  const [dlo, dhi] = ys ? [-128, 127] : [0, 255];
  emitQ(c, 'qdw_nhwc_i8', [
    qaddr(c, xId), packedWeights(c, wp, q.wt, a.wZeroPoint, QPACK.dwNhwc, [C, KH * KW]), { k: 'buf', id: y, off: 0 }, c.blob(chan), i32(n - 32), i32(o.yZeroPoint),
    i32(Math.max(o.lo, dlo)), i32(Math.min(o.hi, dhi)), i32((xd === 'i8' ? QFLAG.xSigned : 0) | (ys ? QFLAG.ySigned : 0)),
    i32(N), i32(C), i32(H), i32(W), i32(OH), i32(OW), i32(KH), i32(KW), i32(sh), i32(sw), i32(dh), i32(dw), i32(ph), i32(pw),
    i32(a.xZeroPoint), SCRATCH,
  ], { reads: [xId], writes: [y], scratch: 2 * T2 * 16 + C8 + 8 });
}

/** Doubled Winograd weight matrix G2 = 2G of F(2x2, 3x3) (integers). */
const G2 = [[2, 0, 0], [1, 1, 1], [1, -1, 1], [0, 0, 2]] as const;

/** Winograd tile rows per chunk of qconv_wino_i8 (about 32 tiles per chunk: V and M stay in cache). */
function winoChunkRows(TWp: number, TH: number): number {
  return Math.max(1, Math.min(TH, Math.floor(32 / TWp)));
}

/**
 * QConv 3x3 / stride 1 / dilation 1 / group 1 with enough channels: integer Winograd F(2x2, 3x3)
 * (qconv_wino_i8 in int8.ts) when the compile-time bound proves no intermediate can wrap:
 * |V| <= 4 * max|x - zx| and, per output channel m, 4 * max|x - zx| * sum_t sum_c |U'[t][m][c]| < 2^31
 * bounds every M entry, every partial sum of the output transform and Y = 4 * acc. Returns false
 * (the im2col path applies) otherwise.
 */
function winogradInt8(c: LowerCtx, n: Node, a: QConvAttrs, xd: string, xId: ValueId, y: ValueId, wt: Tensor, bt: { data: unknown } | null,
  sumW: number[], g: { N: number; C: number; H: number; W: number; M: number; OH: number; OW: number; KH: number; KW: number;
    sh: number; sw: number; dh: number; dw: number; ph: number; pw: number; G: number }): boolean {
  const { N, C, H, W, M, OH, OW } = g;
  if (g.KH !== 3 || g.KW !== 3 || g.sh !== 1 || g.sw !== 1 || g.dh !== 1 || g.dw !== 1 || g.G !== 1) return false;
  if (C < 8 || M < 8 || OH < 4 || OW < 4) return false;
  const wd = wt.data as Int8Array | Uint8Array;
  const zx = a.xZeroPoint;
  const [dmin, dmax] = xd === 'i8' ? [-128, 127] : [0, 255];
  const dmaxAbs = Math.max(Math.abs(dmin - zx), Math.abs(dmax - zx));
  const C2 = Math.ceil(C / 2), M4 = Math.ceil(M / 4) * 4;
  const U = new Int32Array(16 * M4 * C2);
  const K = C * 9;
  for (let m = 0; m < M; m++) {
    const zw = pick(a.wZeroPoint, m);
    let total = 0;
    for (let ch = 0; ch < C; ch++) {
      const gw = (i: number, j: number): number => wd[m * K + ch * 9 + i * 3 + j]! - zw;
      for (let ta = 0; ta < 4; ta++) {
        for (let tb = 0; tb < 4; tb++) {
          let v = 0;
          for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) v += G2[ta]![i]! * gw(i, j) * G2[tb]![j]!;
          total += Math.abs(v);
          const t = ta * 4 + tb;
          const idx = ((t * (M4 / 4) + (m >> 2)) * C2 + (ch >> 1)) * 4 + (m & 3);
          U[idx] = ch & 1 ? (U[idx]! & 0xffff) | (v << 16) : (U[idx]! & ~0xffff) | (v & 0xffff);
        }
      }
    }
    if (4 * dmaxAbs * total >= 2 ** 31) return false;
  }
  // offset = bias only: the kernel subtracts zx from the input itself
  const stage = stageWords(c, a.out, M, bt ? (bt.data as Int32Array) : null, 0, sumW, xd === 'i8' ? QFLAG.xSigned : 0);
  const TH = Math.ceil(OH / 2), TW = Math.ceil(OW / 2);
  const TWp = Math.ceil(TW / 8) * 8;
  const CR = winoChunkRows(TWp, TH);
  const B8 = (CR * TWp) / 8;
  // V pairs, M accumulators, two centered i16 planes (mirrors qconv_wino_i8's scratch layout)
  const scratch = 16 * B8 * C2 * 32 + 16 * M * B8 * 8 * 4 + 2 * (2 * CR + 2) * (2 * TWp + 8) * 2;
  emitQ(c, 'qconv_wino_i8', [
    qaddr(c, xId), packedWeights(c, U, wt, a.wZeroPoint, QPACK.winograd, [M, C]), { k: 'buf', id: y, off: 0 }, SCRATCH, ...stage,
    i32(N), i32(C), i32(H), i32(W), i32(OH), i32(OW), i32(g.ph), i32(g.pw), i32(zx), i32(CR),
  ], { reads: [xId], writes: [y], scratch });
  void n;
  return true;
}

// ---------------------------------------------------------------------------------------------
// QGemm
// ---------------------------------------------------------------------------------------------

function lowerQGemm(c: LowerCtx, n: Node): void {
  const xId = n.inputs[0]!;
  const y = n.outputs[0]!;
  const { a, xd, wt, bt, xs, K, N } = qgemmOperands(c, n);
  const R = K === 0 ? 0 : numel(xs) / K;
  const K8 = Math.ceil(K / 8) * 8;
  const N4 = Math.ceil(N / 4) * 4;
  const wd = wt.data as Int8Array | Uint8Array;
  const [sk, sn] = a.transB ? [1, K] : [N, 1];
  const packed = new Int16Array(N4 * K8);
  const sumW = new Array<number>(N).fill(0);
  let fitsI8 = true;
  for (let j = 0; j < N; j++) {
    const z = pick(a.wZeroPoint, j);
    for (let k = 0; k < K; k++) {
      const v = wd[k * sk + j * sn]! - z;
      packed[j * K8 + k] = v;
      sumW[j] = sumW[j]! + v;
      if (v < -128 || v > 127) fitsI8 = false;
    }
  }
  // every centered weight fits i8 (symmetric weights): half the bytes, widened by load8x8_s
  const wblob = packedWeights(c, fitsI8 ? Int8Array.from(packed) : packed, wt, a.wZeroPoint, QPACK.gemm, [K, N, a.transB ? 1 : 0, fitsI8 ? 1 : 0]);
  const flags = (xd === 'i8' ? QFLAG.xSigned : 0) | (fitsI8 ? QFLAG.w8 : 0);
  const stage = stageWords(c, a.out, N, bt ? (bt.data as Int32Array) : null, a.xZeroPoint, sumW, flags, true);
  emitQ(c, 'qgemm_i8', [qaddr(c, xId!), wblob, { k: 'buf', id: y, off: 0 }, SCRATCH, ...stage, i32(R), i32(K)],
    { reads: [xId!], writes: [y], scratch: K8 * 2 });
}

// ---------------------------------------------------------------------------------------------
// Requantize, QAdd, QMul
// ---------------------------------------------------------------------------------------------

function lowerRequantize(c: LowerCtx, n: Node): void {
  const a = attrsOf<RequantizeAttrs>(c, n);
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const xd = needDtype(c, x, ['i8', 'u8', 'i32'], 'Requantize input');
  const o = a.out;
  if (stageLen(o) !== 1) throw c.unsupported('Requantize with per-channel multipliers');
  if (o.mode === 'tflite' && xd === 'i32') throw c.unsupported("Requantize of an int32 input with rq_mode 'tflite'");
  const lim = xd === 'i32' ? 2 ** 31 - 1 : 2 ** 24;
  if (!(Math.abs(a.xZeroPoint) <= lim)) throw c.unsupported(`Requantize x_zero_point ${a.xZeroPoint} is out of range for ${xd} input`);
  let flags = o.yDtype === 'i8' ? QFLAG.ySigned : 0;
  let scale: Word = NULL;
  if (o.mode === 'float') {
    flags |= QFLAG.float;
    scale = c.blob(bytesOf(new Float64Array([o.scale[0]!])));
  } else if (o.mode === 'tflite') flags |= QFLAG.tflite;
  emitQ(c, 'qrequant_i8', [
    qaddr(c, x), { k: 'buf', id: y, off: 0 }, i32(numel(c.shape(x))), i32(xd === 'u8' ? 0 : xd === 'i8' ? 1 : 2), i32(flags),
    i32(a.xZeroPoint), i32(o.multiplier[0] ?? 0), i32(o.shift[0] ?? 0), i32(o.yZeroPoint), i32(o.lo), i32(o.hi), scale,
  ], { reads: [x], writes: [y] });
}

function lowerQBinary(c: LowerCtx, n: Node): void {
  const [aId, bId] = n.inputs;
  const y = n.outputs[0]!;
  const ad = needDtype(c, aId!, ['i8', 'u8'], `${n.op} input A`);
  const bd = needDtype(c, bId!, ['i8', 'u8'], `${n.op} input B`);
  const add = n.op === 'QAdd';
  const at = add ? attrsOf<QAddAttrs>(c, n) : null;
  const mt = add ? null : attrsOf<QMulAttrs>(c, n);
  const base = (at ?? mt)!;
  const ys = c.shape(y);
  const co = mergeDims(ys, [broadcastStrides(c.shape(aId!), ys), broadcastStrides(c.shape(bId!), ys)], 6);
  if (!co) throw c.unsupported(`${n.op} broadcast over more than 6 non-mergeable dims`);
  if (numel(ys) === 0) return;
  if (at?.mode === 'tflite') {
    lowerQAddTflite(c, n, at, ad, bd, co);
    return;
  }
  if (mt?.mode === 'tflite') {
    emitQ(c, 'qmul_tfl_i8', [
      qaddr(c, aId!), qaddr(c, bId!), { k: 'buf', id: y, off: 0 }, i32((ad === 'i8' ? QFLAG.xSigned : 0) | (bd === 'i8' ? QFLAG.bSigned : 0)),
      i32(mt.aZeroPoint), i32(mt.bZeroPoint), i32(mt.multiplier), i32(mt.shift), i32(mt.yZeroPoint), i32(mt.lo), i32(mt.hi),
      ...co.dims.map(i32), ...co.strides[0]!.map(i32), ...co.strides[1]!.map(i32),
    ], { reads: [aId!, bId!], writes: [y] });
    return;
  }
  const flags = (ad === 'i8' ? QFLAG.xSigned : 0) | (bd === 'i8' ? QFLAG.bSigned : 0) | (base.yDtype === 'i8' ? QFLAG.ySigned : 0);
  emitQ(c, 'qbinary_i8', [
    qaddr(c, aId!), qaddr(c, bId!), { k: 'buf', id: y, off: 0 }, i32(add ? 0 : 1), i32(flags), i32(base.aZeroPoint), i32(base.bZeroPoint),
    i32(at ? at.aMultiplier : mt!.multiplier), i32(at ? at.bMultiplier : 0), i32(base.shift), i32(base.yZeroPoint), i32(base.lo), i32(base.hi),
    ...co.dims.map(i32), ...co.strides[0]!.map(i32), ...co.strides[1]!.map(i32),
  ], { reads: [aId!, bId!], writes: [y] });
}

// ---------------------------------------------------------------------------------------------
// QReduceMean, QAvgPool, MaxPool (int8)
// ---------------------------------------------------------------------------------------------

/**
 * Drops size-1 dims, merges neighbours contiguous in every stride list, left-pads to `n` dims.
 * Undefined when more than `n` dims remain.
 */
function mergeDims(dims: readonly number[], strides: readonly (readonly number[])[], n: number): { dims: number[]; strides: number[][] } | undefined {
  const d: number[] = [];
  const s: number[][] = strides.map(() => []);
  dims.forEach((v, i) => {
    if (v === 1) return;
    const last = d.length - 1;
    if (last >= 0 && strides.every((st, k) => s[k]![last] === st[i]! * v)) {
      d[last] = d[last]! * v;
      strides.forEach((st, k) => (s[k]![last] = st[i]!));
    } else {
      d.push(v);
      strides.forEach((st, k) => s[k]!.push(st[i]!));
    }
  });
  if (d.length > n) return undefined;
  while (d.length < n) {
    d.unshift(1);
    s.forEach((x) => x.unshift(0));
  }
  return { dims: d, strides: s };
}

function lowerQReduceMean(c: LowerCtx, n: Node): void {
  const a = attrsOf<QReduceMeanAttrs>(c, n);
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const xd = needDtype(c, x, ['i8', 'u8'], 'QReduceMean input');
  const o = a.out;
  if ((o.mode !== 'float' ? o.multiplier.length : o.scale.length) !== 1) throw c.unsupported('QReduceMean with per-channel multipliers');
  const xs = c.shape(x);
  const st = contiguous(xs);
  const ax = new Set(a.axes.map((v) => normAxis(v, xs.length)));
  const keptIdx = xs.map((_, i) => i).filter((i) => !ax.has(i));
  const redIdx = xs.map((_, i) => i).filter((i) => ax.has(i));
  const kept = mergeDims(keptIdx.map((i) => xs[i]!), [keptIdx.map((i) => st[i]!)], 4);
  const red = mergeDims(redIdx.map((i) => xs[i]!), [redIdx.map((i) => st[i]!)], 4);
  if (!kept || !red) throw c.unsupported('QReduceMean over more than 4 non-mergeable kept or reduced dims');
  if (numel(c.shape(y)) === 0) return;
  let flags = (xd === 'i8' ? QFLAG.xSigned : 0) | (o.yDtype === 'i8' ? QFLAG.ySigned : 0);
  let scale: Word = NULL;
  if (o.mode === 'float') {
    flags |= QFLAG.float;
    scale = c.blob(bytesOf(new Float64Array([o.scale[0]!])));
  } else if (o.mode === 'tflite') flags |= QFLAG.tflite;
  emitQ(c, 'qreduce_i8', [
    qaddr(c, x), { k: 'buf', id: y, off: 0 }, i32(flags), i32(a.xZeroPoint), i32(o.multiplier[0] ?? 0), i32(o.shift[0] ?? 0),
    i32(o.yZeroPoint), i32(o.lo), i32(o.hi), scale, ...kept.dims.map(i32), ...kept.strides[0]!.map(i32), ...red.dims.map(i32), ...red.strides[0]!.map(i32),
  ], { reads: [x], writes: [y] });
}

function lowerQAvgPool(c: LowerCtx, n: Node): void {
  const a = attrsOf<QAvgPoolAttrs>(c, n);
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const xd = needDtype(c, x, ['i8', 'u8'], 'QAvgPool input');
  const xs = c.shape(x);
  const nd = xs.length - 2;
  if (nd < 1 || nd > 2) throw c.unsupported(`${nd}-D QAvgPool is not supported on wasm (1-D and 2-D only)`);
  const p = windowParams(a, nd, undefined, n.op);
  const g = geom3(xs.slice(2), p, a.autoPad, a.ceil, n.op);
  const [IH, IW] = [g.I[1], g.I[2]];
  const [OH, OW] = [g.O[1], g.O[2]];
  const table = avgPoolCountsMinus1(g, a.countIncludePad);
  if (!table) throw c.unsupported('QAvgPool has an empty window');
  const tfl = a.mode === 'tflite';
  const flags = (xd === 'i8' ? QFLAG.xSigned : 0) | (a.yDtype === 'i8' ? QFLAG.ySigned : 0) | (tfl ? QFLAG.tflite : 0);
  emitQ(c, 'qavgpool_i8', [
    qaddr(c, x), { k: 'buf', id: y, off: 0 }, c.blob(table), tfl ? NULL : c.blob(Int32Array.from(a.multipliers)), tfl ? NULL : c.blob(Int32Array.from(a.shifts)),
    i32(flags), i32(xs[0]! * xs[1]!), i32(IH), i32(IW), i32(OH), i32(OW), i32(g.K[1]), i32(g.K[2]), i32(g.S[1]), i32(g.S[2]),
    i32(g.P[1]), i32(g.P[2]), i32(a.xZeroPoint), i32(a.yZeroPoint), i32(a.lo), i32(a.hi),
  ], { reads: [x], writes: [y] });
}

/**
 * MaxPool on an int8/uint8 tensor (scale-preserving op of quantized graphs). Returns false when the
 * input is not 8-bit (the f32 lowering applies).
 */
export function lowerMaxPoolInt8(c: LowerCtx, n: Node): boolean {
  const x = n.inputs[0]!;
  const xd = dt(c, x);
  if (xd !== 'i8' && xd !== 'u8') return false;
  if (n.outputs.length > 1 && c.g.useCount(n.outputs[1]!) > 0) throw c.unsupported('MaxPool Indices output is not supported on wasm');
  const y = n.outputs[0]!;
  const xs = c.shape(x);
  const nd = xs.length - 2;
  if (nd < 1 || nd > 2) throw c.unsupported(`${nd}-D pooling is not supported on wasm`);
  const wa = readWindowAttrs(new AttrReader(n, c.opset), true);
  const ceil = n.attrs['ceil_mode'] === 1;
  const p = windowParams(wa, nd, undefined, n.op);
  const g = geom3(xs.slice(2), p, wa.autoPad, ceil, n.op);
  emitQ(c, 'qmaxpool_i8', [
    qaddr(c, x), { k: 'buf', id: y, off: 0 }, i32(xd === 'i8' ? 1 : 0), i32(xs[0]! * xs[1]!), i32(g.I[1]), i32(g.I[2]), i32(g.O[1]), i32(g.O[2]),
    i32(g.K[1]), i32(g.K[2]), i32(g.S[1]), i32(g.S[2]), i32(g.D[1]), i32(g.D[2]), i32(g.P[1]), i32(g.P[2]),
  ], { reads: [x], writes: [y] });
  return true;
}

// ---------------------------------------------------------------------------------------------
// QuantizeLinear / DequantizeLinear
// ---------------------------------------------------------------------------------------------

/**
 * [outer, A, inner] of a per-tensor or per-axis (de)quantization, with the address words of the
 * scales (f32 [A]) and zero points (i32 [A]): blobs for constants (the compile-time fast path),
 * the scale's runtime buffer, and a runtime zero point widened to i32 by unary_any.
 */
function qParams(c: LowerCtx, n: Node, xs: number[]): { outer: number; A: number; inner: number; scales: Word; zps: Word; reads: number[] } {
  const sId = n.inputs[1]!;
  const zId = n.inputs[2] ?? null;
  const sdt = c.g.typeOf(sId).dtype;
  if (sdt !== 'f32') throw c.unsupported(`${n.op} with a ${sdt} scale (f32 only on wasm)`);
  if (typeof n.attrs['block_size'] === 'number' && n.attrs['block_size'] !== 0) throw c.unsupported(`blocked ${n.op}`);
  const sShape = c.shape(sId);
  const count = numel(sShape);
  let outer = 1, A = 1, inner = numel(xs);
  if (count !== 1 || sShape.length > 1) {
    const ax = normAxis(typeof n.attrs['axis'] === 'number' ? (n.attrs['axis'] as number) : 1, xs.length);
    A = xs[ax]!;
    if (count !== A) throw c.unsupported(`${n.op} scale has ${count} values for axis size ${A}`);
    outer = numel(xs.slice(0, ax));
    inner = numel(xs.slice(ax + 1));
  }
  const reads: number[] = [];
  const st = c.consts.get(sId);
  let scales: Word;
  if (st) scales = c.blob(Float32Array.from(st.toNumbers()));
  else {
    scales = { k: 'buf', id: sId, off: 0 };
    reads.push(sId);
  }
  let zps: Word;
  const zt = zId !== null ? c.consts.get(zId) : undefined;
  if (zId === null) zps = c.blob(new Int32Array(count));
  else if (zt) zps = c.blob(Int32Array.from(zt.toNumbers()));
  else {
    const zdt = c.g.typeOf(zId).dtype;
    if (zdt !== 'i8' && zdt !== 'u8') throw c.unsupported(`${n.op} zero point has dtype ${zdt}; expected i8 or u8`);
    const t = c.temp(count * 4);
    zps = { k: 'buf', id: t, off: 0 };
    emitQ(c, 'unary_any', [i32(ANY_UNARY.Cast), { k: 'buf', id: zId, off: 0 }, zps, i32(DTYPE[zdt]), i32(DTYPE.i32), i32(count), NULL, NULL, NULL],
      { reads: [zId], writes: [t] });
    reads.push(t);
  }
  return { outer, A, inner, scales, zps, reads };
}

/** Integer dtypes of the generic (de)quantization path. */
const GENERIC_QTYPES = ['i4', 'u4', 'i8', 'u8', 'i16', 'u16'] as const;

/**
 * Shapes of the generic (de)quantization's operands: x viewed as `xv` and the scale / zero point
 * as `ps` (broadcast against xv): per tensor [], per axis [1.., A, ..1], blocked with block size
 * B: x's axis split into [A / B, B] and the parameters [A / B, 1] (a ragged last block is
 * 'unsupported').
 */
function qViews(c: LowerCtx, n: Node, xs: number[], sShape: number[]): { xv: number[]; ps: number[] } {
  const count = numel(sShape);
  const bs = typeof n.attrs['block_size'] === 'number' ? (n.attrs['block_size'] as number) : 0;
  const axis = typeof n.attrs['axis'] === 'number' ? (n.attrs['axis'] as number) : 1;
  if (bs > 0) {
    const ax = normAxis(axis, xs.length);
    const A = xs[ax]!;
    const Ab = Math.ceil(A / bs);
    if (sShape.length !== xs.length || sShape.some((d, i) => (i === ax ? d !== Ab : d !== xs[i]))) {
      throw c.unsupported(`blocked ${n.op} scale of shape [${sShape.join(',')}] does not match input [${xs.join(',')}] with block_size ${bs}`);
    }
    if (A % bs !== 0) throw c.unsupported(`blocked ${n.op} with a partial last block (axis size ${A}, block_size ${bs})`);
    return { xv: [...xs.slice(0, ax), Ab, bs, ...xs.slice(ax + 1)], ps: [...xs.slice(0, ax), Ab, 1, ...xs.slice(ax + 1)] };
  }
  if (count === 1 && sShape.length <= 1) return { xv: xs, ps: [] };
  const ax = normAxis(axis, xs.length);
  if (sShape.length !== 1 || count !== xs[ax]) throw c.unsupported(`${n.op} scale has ${count} values for axis size ${xs[ax]}`);
  return { xv: xs, ps: xs.map((d, i) => (i === ax ? d : 1)) };
}

/**
 * QuantizeLinear / DequantizeLinear on the dtype-generic kernels with the reference's arithmetic,
 * for 4-, 8- and 16-bit integers (and int32 DequantizeLinear input), per tensor, per axis or
 * blocked: q = saturate(round_half_even(x / s) + z) with the division in the scale's precision
 * (x must have that dtype), the sum in f64, NaN -> 0; y = (x - z) * s, each step rounded to y's
 * dtype (f32 or f16). Scales and zero points constant or runtime.
 */
function lowerQGeneric(c: LowerCtx, n: Node, quantize: boolean): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const sId = n.inputs[1]!;
  const zId = n.inputs[2] ?? null;
  const sdt = needDtype(c, sId, ['f32', 'f16'], `${n.op} scale`);
  const xs = c.shape(x);
  const { xv, ps } = qViews(c, n, xs, c.shape(sId));
  const sOp: Operand = { ...operand(c, sId), shape: ps };
  const zOp: Operand | null = zId !== null ? { ...operand(c, zId), shape: ps } : null;
  const xOp: Operand = { ...operand(c, x), shape: xv };
  const yOp: Operand = { ...operand(c, y), shape: xv };
  if (quantize) {
    const prec = typeof n.attrs['precision'] === 'number' && n.attrs['precision'] !== 0 ? dtypeFromOnnx(n.attrs['precision'] as number) : sdt;
    if (prec !== sdt) throw c.unsupported(`QuantizeLinear precision ${prec ?? String(n.attrs['precision'])} differs from the scale dtype ${sdt}`);
    needDtype(c, x, [sdt], 'QuantizeLinear input');
    const yd = needDtype(c, y, GENERIC_QTYPES, 'QuantizeLinear output');
    if (numel(xs) === 0) return;
    const t = tempOperand(c, sdt, xv);
    emitBinaryAny(c, ANY_BINARY.Div, xOp, sOp, t, false);
    emitUnaryOperands(c, ANY_UNARY.Round, t, t);
    const u = tempOperand(c, 'f64', xv);
    if (zOp) emitBinaryAny(c, ANY_BINARY.Add, t, zOp, u, false);
    else emitUnaryOperands(c, ANY_UNARY.Cast, t, u);
    const [lo, hi] = intRange(yd);
    emitUnaryOperands(c, ANY_UNARY.Clip, u, u, [c.blob(new Uint8Array(new Float64Array([lo]).buffer)), c.blob(new Uint8Array(new Float64Array([hi]).buffer))]);
    emitUnaryOperands(c, ANY_UNARY.Cast, u, yOp);
    return;
  }
  needDtype(c, x, [...GENERIC_QTYPES, 'i32'], 'DequantizeLinear input');
  const yd = needDtype(c, y, ['f32', 'f16'], 'DequantizeLinear output');
  if (numel(xs) === 0) return;
  const d = tempOperand(c, yd, xv);
  if (zOp) emitBinaryAny(c, ANY_BINARY.Sub, xOp, zOp, d, false);
  else emitUnaryOperands(c, ANY_UNARY.Cast, xOp, d);
  emitBinaryAny(c, ANY_BINARY.Mul, d, sOp, yOp, false);
}

/** True when a (de)quantization needs the generic path (not per-tensor / per-axis 8-bit with f32 scales and values). */
function needsGeneric(c: LowerCtx, n: Node, q: ValueId, f: ValueId): boolean {
  const blocked = typeof n.attrs['block_size'] === 'number' && n.attrs['block_size'] !== 0;
  return blocked || !['i8', 'u8'].includes(dt(c, q)) || dt(c, f) !== 'f32' || dt(c, n.inputs[1]!) !== 'f32';
}

function lowerQuantizeLinear(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  if (needsGeneric(c, n, y, x)) {
    lowerQGeneric(c, n, true);
    return;
  }
  needDtype(c, x, ['f32'], 'QuantizeLinear input');
  const yd = needDtype(c, y, ['i8', 'u8'], 'QuantizeLinear output');
  const prec = n.attrs['precision'];
  if (typeof prec === 'number' && prec !== 0 && prec !== 1) throw c.unsupported('QuantizeLinear precision other than float32');
  const xs = c.shape(x);
  const q = qParams(c, n, xs);
  if (numel(xs) === 0) return;
  emitQ(c, 'quantize_f32', [c.addr(x), { k: 'buf', id: y, off: 0 }, q.scales, q.zps, i32(q.outer), i32(q.A), i32(q.inner), i32(yd === 'i8' ? 1 : 0)],
    { reads: [x, ...q.reads], writes: [y] });
}

function lowerDequantizeLinear(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  if (needsGeneric(c, n, x, y)) {
    lowerQGeneric(c, n, false);
    return;
  }
  const xd = needDtype(c, x, ['i8', 'u8'], 'DequantizeLinear input');
  needDtype(c, y, ['f32'], 'DequantizeLinear output');
  const xs = c.shape(x);
  const q = qParams(c, n, xs);
  if (numel(xs) === 0) return;
  emitQ(c, 'dequantize_f32', [qaddr(c, x), c.addr(y), q.scales, q.zps, i32(q.outer), i32(q.A), i32(q.inner), i32(xd === 'i8' ? 1 : 0)],
    { reads: [x, ...q.reads], writes: [y] });
}

// ---------------------------------------------------------------------------------------------
// ONNX integer ops on runtime operands (runtime-wasm/assembly/qint4.ts)
// ---------------------------------------------------------------------------------------------

/** Flag bits of qmatmul_rt / qconv_rt. */
const RT = { xSigned: 1, wSigned: 2, y32: 4, ySigned: 8 } as const;

/**
 * An int32 table of a zero point (constant or runtime 8-bit / 4-bit tensor) for the runtime
 * integer kernels: a blob, or the value widened into a temporary by unary_any. Absent: zeros.
 * @param count entries when absent
 */
function i32Table(c: LowerCtx, id: ValueId | null, count: number): { w: Word; reads: number[] } {
  if (id === null) return { w: c.blob(new Int32Array(Math.max(1, count))), reads: [] };
  const t = c.consts.get(id);
  if (t) return { w: c.blob(Int32Array.from(t.toNumbers())), reads: [] };
  const k = numel(c.shape(id));
  const tmp = tempOperand(c, 'i32', [Math.max(1, k)]);
  if (k > 0) emitUnaryOperands(c, ANY_UNARY.Cast, operand(c, id), { ...tmp, shape: [k] });
  return { w: tmp.w, reads: [tmp.id!] };
}

/**
 * The float requantization multipliers of a QLinear op as an f64 table of `shape`:
 * fl(fl(a_scale * b_scale) / y_scale) in the scales' precision (the reference's
 * requantMultiplier), each scale broadcast with its own shape.
 */
function multTable(c: LowerCtx, op: string, shape: number[], scales: [ValueId, number[]][]): { w: Word; reads: number[] } {
  const [[aId, as], [bId, bs], [yId, ys]] = scales as [[ValueId, number[]], [ValueId, number[]], [ValueId, number[]]];
  const sdt = needDtype(c, aId, ['f32', 'f16'], `${op} scale`);
  for (const id of [bId, yId]) needDtype(c, id, [sdt], `${op} scale`);
  const t1 = tempOperand(c, sdt, shape);
  emitBinaryAny(c, ANY_BINARY.Mul, { ...operand(c, aId), shape: as }, { ...operand(c, bId), shape: bs }, t1, false);
  const t2 = tempOperand(c, sdt, shape);
  emitBinaryAny(c, ANY_BINARY.Div, t1, { ...operand(c, yId), shape: ys }, t2, false);
  const t3 = tempOperand(c, 'f64', shape);
  emitUnaryOperands(c, ANY_UNARY.Cast, t2, t3);
  return { w: t3.w, reads: [t3.id!] };
}

/** The broadcast shape of a QLinearMatMul parameter over [M, N]: scalar, per row (M values) or per column (N). */
function mnShape(c: LowerCtx, op: string, what: string, id: ValueId, M: number, N: number, rows = true): number[] {
  const k = numel(c.shape(id));
  if (k === 1) return [];
  if (rows && k === M) return [M, 1];
  if (k === N) return [1, N];
  throw c.unsupported(`${op} ${what} has ${k} values, expected 1${rows ? `, ${M}` : ''} or ${N}`);
}

/**
 * MatMulInteger / QLinearMatMul: batched (broadcast) products of 8-bit runtime or constant
 * operands on qmatmul_rt; 1-D operands are promoted like MatMul's.
 */
function lowerQMatMulRt(c: LowerCtx, n: Node): void {
  const qlinear = n.op === 'QLinearMatMul';
  const op = n.op;
  const [aId, bId] = qlinear ? [n.inputs[0]!, n.inputs[3]!] : [n.inputs[0]!, n.inputs[1]!];
  const [azId, bzId] = qlinear ? [n.inputs[2] ?? null, n.inputs[5] ?? null] : [n.inputs[2] ?? null, n.inputs[3] ?? null];
  const y = n.outputs[0]!;
  const ad = needDtype(c, aId, ['i8', 'u8'], `${op} A`);
  const bd = needDtype(c, bId, ['i8', 'u8'], `${op} B`);
  const yd = needDtype(c, y, qlinear ? ['i8', 'u8'] : ['i32'], `${op} output`);
  const as0 = c.shape(aId), bs0 = c.shape(bId);
  if (as0.length === 0 || bs0.length === 0) throw c.unsupported(`${op} on scalars`);
  const as = as0.length === 1 ? [1, as0[0]!] : as0;
  const bs = bs0.length === 1 ? [bs0[0]!, 1] : bs0;
  const M = as[as.length - 2]!, K = as[as.length - 1]!, N = bs[bs.length - 1]!;
  if (bs[bs.length - 2] !== K) throw c.unsupported(`${op} inner dims differ: [${as0.join(',')}] x [${bs0.join(',')}]`);
  const ab = as.slice(0, -2), bb = bs.slice(0, -2);
  const r = Math.max(ab.length, bb.length);
  const pad = (s: number[]) => [...Array<number>(r - s.length).fill(1), ...s];
  const [pa, pb] = [pad(ab), pad(bb)];
  const ob = pa.map((d, i) => Math.max(d, pb[i]!));
  if (pa.some((d, i) => d !== ob[i] && d !== 1) || pb.some((d, i) => d !== ob[i] && d !== 1)) throw c.unsupported(`${op} batch dims do not broadcast`);
  const batches = numel(ob);
  if (batches * M * N === 0) return;
  const offs = new Int32Array(2 * batches);
  const strides = (s: number[]) => { const st = contiguous(s); return s.map((d, i) => (d === 1 ? 0 : st[i]!)); };
  const [sa, sb] = [strides(pa), strides(pb)];
  for (let t = 0; t < batches; t++) {
    let rem = t, oa = 0, ob2 = 0;
    for (let i = r - 1; i >= 0; i--) {
      const k = rem % ob[i]!;
      rem = Math.floor(rem / ob[i]!);
      oa += k * sa[i]!;
      ob2 += k * sb[i]!;
    }
    offs[2 * t] = oa * M * K;
    offs[2 * t + 1] = ob2 * K * N;
  }
  const za = i32Table(c, azId, 1);
  const zb = i32Table(c, bzId, 1);
  const zaN = azId === null ? 1 : numel(c.shape(azId)), zbN = bzId === null ? 1 : numel(c.shape(bzId));
  if (zaN !== 1 && zaN !== M) throw c.unsupported(`${op} a_zero_point has ${zaN} values, expected 1 or ${M}`);
  if (zbN !== 1 && zbN !== N) throw c.unsupported(`${op} b_zero_point has ${zbN} values, expected 1 or ${N}`);
  let flags = (ad === 'i8' ? RT.xSigned : 0) | (bd === 'i8' ? RT.wSigned : 0);
  let mult: Word = NULL, zy: Word = NULL;
  const reads: number[] = [aId, bId, ...za.reads, ...zb.reads];
  if (qlinear) {
    const [asId, bsId, ysId, yzId] = [n.inputs[1]!, n.inputs[4]!, n.inputs[6]!, n.inputs[7] ?? null];
    const mu = multTable(c, op, [M, N], [[asId, mnShape(c, op, 'a_scale', asId, M, N)], [bsId, mnShape(c, op, 'b_scale', bsId, M, N, false)],
      [ysId, mnShape(c, op, 'y_scale', ysId, M, N)]]);
    mult = mu.w;
    reads.push(...mu.reads);
    if (yzId !== null) {
      // y_zero_point broadcast to an i32 [M, N] table
      if (dt(c, yzId) !== yd) throw c.unsupported(`${op} y_zero_point dtype ${dt(c, yzId)} differs from the output's ${yd}`);
      const zt = tempOperand(c, 'i32', [M, N]);
      emitBinaryAny(c, ANY_BINARY.Add, { ...operand(c, yzId), shape: mnShape(c, op, 'y_zero_point', yzId, M, N) },
        blobOperand(c, Tensor.from('i32', [], [0])), zt, false);
      zy = zt.w;
      reads.push(zt.id!);
    } else zy = c.blob(new Int32Array(M * N));
    if (yd === 'i8') flags |= RT.ySigned;
  } else flags |= RT.y32;
  emitQ(c, 'qmatmul_rt', [qaddr(c, aId), qaddr(c, bId), { k: 'buf', id: y, off: 0 }, i32(flags), i32(M), i32(K), i32(N), i32(batches),
    c.blob(offs), za.w, i32(zaN > 1 ? 1 : 0), zb.w, i32(zbN > 1 ? 1 : 0), mult, zy], { reads, writes: [y] });
}

/** ConvInteger / QLinearConv (1..3-D, grouped, runtime or constant operands) on qconv_rt. */
function lowerQConvRt(c: LowerCtx, n: Node): void {
  const qlinear = n.op === 'QLinearConv';
  const op = n.op;
  const [xId, wId] = qlinear ? [n.inputs[0]!, n.inputs[3]!] : [n.inputs[0]!, n.inputs[1]!];
  const [xzId, wzId] = qlinear ? [n.inputs[2] ?? null, n.inputs[5] ?? null] : [n.inputs[2] ?? null, n.inputs[3] ?? null];
  const bId = qlinear ? n.inputs[8] ?? null : null;
  const y = n.outputs[0]!;
  const xd = needDtype(c, xId, ['i8', 'u8'], `${op} x`);
  const wd = needDtype(c, wId, ['i8', 'u8'], `${op} w`);
  const yd = needDtype(c, y, qlinear ? ['i8', 'u8'] : ['i32'], `${op} output`);
  const xs = c.shape(xId), ws = c.shape(wId);
  const nd = xs.length - 2;
  if (nd < 1 || nd > 3) throw c.unsupported(`${nd}-D ${op} is not supported on wasm (1-D to 3-D)`);
  const a = readConvAttrs(new AttrReader(n, c.opset));
  const p = windowParams(a, nd, ws.slice(2), op);
  const g = geom3(xs.slice(2), p, a.autoPad, false, op);
  const [N, C, M, G] = [xs[0]!, xs[1]!, ws[0]!, a.group];
  if (C % G !== 0 || M % G !== 0 || ws[1]! * G !== C) throw c.unsupported(`${op} channels (input ${C}, weight [${ws.join(',')}]) do not match group ${G}`);
  if (numel(c.shape(y)) === 0) return;
  const zxN = xzId === null ? 1 : numel(c.shape(xzId)), zwN = wzId === null ? 1 : numel(c.shape(wzId));
  if (zxN !== 1) throw c.unsupported(`${op} x_zero_point must be a scalar`);
  if (zwN !== 1 && zwN !== M) throw c.unsupported(`${op} w_zero_point has ${zwN} values, expected 1 or ${M}`);
  const zx = i32Table(c, xzId, 1);
  const zw = i32Table(c, wzId, 1);
  let flags = (xd === 'i8' ? RT.xSigned : 0) | (wd === 'i8' ? RT.wSigned : 0);
  const reads: number[] = [xId, wId, ...zx.reads, ...zw.reads];
  let bias: Word = NULL, mult: Word = NULL, zy: Word = NULL;
  if (qlinear) {
    if (bId !== null) {
      needDtype(c, bId, ['i32'], `${op} bias`);
      if (numel(c.shape(bId)) !== M) throw c.unsupported(`${op} bias has ${numel(c.shape(bId))} values, expected ${M}`);
      bias = c.vaddr(bId);
      reads.push(bId);
    }
    const [xsId, wsId, ysId, yzId] = [n.inputs[1]!, n.inputs[4]!, n.inputs[6]!, n.inputs[7] ?? null];
    const wsN = numel(c.shape(wsId));
    if (wsN !== 1 && wsN !== M) throw c.unsupported(`${op} w_scale has ${wsN} values, expected 1 or ${M}`);
    for (const [id, what] of [[xsId, 'x_scale'], [ysId, 'y_scale']] as const) {
      if (numel(c.shape(id)) !== 1) throw c.unsupported(`${op} ${what} must be a scalar`);
    }
    const mu = multTable(c, op, [M], [[xsId, []], [wsId, wsN === 1 ? [] : [M]], [ysId, []]]);
    mult = mu.w;
    reads.push(...mu.reads);
    if (yzId !== null) {
      if (numel(c.shape(yzId)) !== 1) throw c.unsupported(`${op} y_zero_point must be a scalar`);
      if (dt(c, yzId) !== yd) throw c.unsupported(`${op} y_zero_point dtype ${dt(c, yzId)} differs from the output's ${yd}`);
    }
    const z = i32Table(c, yzId, 1);
    zy = z.w;
    reads.push(...z.reads);
    if (yd === 'i8') flags |= RT.ySigned;
  } else flags |= RT.y32;
  emitQ(c, 'qconv_rt', [qaddr(c, xId), qaddr(c, wId), { k: 'buf', id: y, off: 0 }, i32(flags), i32(N), i32(C), i32(M), i32(G),
    ...g.I.map(i32), ...g.O.map(i32), ...g.K.map(i32), ...g.S.map(i32), ...g.D.map(i32), ...g.P.map(i32),
    zx.w, zw.w, i32(zwN > 1 ? 1 : 0), bias, mult, zy], { reads, writes: [y] });
}

/** DynamicQuantizeLinear (f32 -> u8, scale, zero point) on dynquant_u8. */
function lowerDynamicQuantizeLinear(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  needDtype(c, x, ['f32'], 'DynamicQuantizeLinear input');
  const outs = n.outputs.map((o, k) => (o === null || o === undefined ? c.temp(k === 1 ? 4 : k === 2 ? 1 : numel(c.shape(x))) : o));
  const w = (id: number): Word => ({ k: 'buf', id, off: 0 });
  emitQ(c, 'dynquant_u8', [c.vaddr(x), w(outs[0]!), w(outs[1]!), w(outs[2]!), i32(numel(c.shape(x)))], { reads: [x], writes: outs });
}

/**
 * Keeps i4/u4 runtime values in their 4-bit range (one byte per element, see ctx.ts DTYPE_BYTES):
 * after node `n` is lowered, each 4-bit output a kernel wrote as an 8-bit integer (Cast and
 * CastLike truncate and wrap to 8 bits) is wrapped to 4 bits in place, as the reference's 4-bit
 * store does. Data movement (an input of the output's dtype) and QuantizeLinear (it saturates to
 * the 4-bit range) need no wrap; an alias between a 4-bit and another dtype is 'unsupported'.
 * @param c lowering context @param n the node just lowered
 */
export function wrap4Outputs(c: LowerCtx, n: Node): void {
  for (const o of n.outputs) {
    if (o === null || o === undefined || !c.g.values.has(o)) continue;
    const od = dt(c, o);
    if (od !== 'i4' && od !== 'u4') continue;
    if (c.consts.has(o)) continue;
    const par = c.parent.get(o);
    if (par !== undefined) {
      if (dt(c, par) !== od) throw c.unsupported(`${n.op} reinterprets ${dt(c, par)} as ${od} (4-bit values are stored one per byte on wasm)`);
      continue;
    }
    const moves = n.op !== 'Cast' && n.op !== 'CastLike' && n.inputs.some((i) => i !== null && i !== undefined && dt(c, i) === od);
    if (moves || (n.domain === '' && n.op === 'QuantizeLinear')) continue;
    const count = numel(c.shape(o));
    if (count === 0) continue;
    const w: Word = { k: 'buf', id: o, off: 0 };
    emitQ(c, 'wrap4', [w, w, i32(count), i32(od === 'i4' ? 1 : 0)], { reads: [o], writes: [o] });
  }
}

/** Lowerings of the integer ops and (de)quantization, by qualified op name (spread into LOWERINGS). */
export const INT8_LOWERINGS: Readonly<Record<string, (c: LowerCtx, n: Node) => void>> = {
  ...int8Lowerings({
    conv: lowerQConv, gemm: lowerQGemm, requantize: lowerRequantize, binary: lowerQBinary, reduceMean: lowerQReduceMean, avgPool: lowerQAvgPool,
    quantize: lowerQuantizeLinear, dequantize: lowerDequantizeLinear, dynamicQuantize: lowerDynamicQuantizeLinear, convRt: lowerQConvRt,
  }),
  MatMulInteger: lowerQMatMulRt, QLinearMatMul: lowerQMatMulRt,
  'edgec.QSoftmax': lowerQSoftmax,
  'edgec.TflQuantize': lowerTflQuantize,
  'edgec.QLut': lowerQLut,
};

/** QAdd with TFLite's scheme (qadd_tfl_i8); `co` is the coalesced broadcast of lowerQBinary. */
function lowerQAddTflite(c: LowerCtx, n: Node, a: QAddAttrs, ad: string, bd: string, co: { dims: number[]; strides: number[][] }): void {
  const [aId, bId] = n.inputs;
  const y = n.outputs[0]!;
  if (numel(c.shape(y)) === 0) return;
  const flags = (ad === 'i8' ? QFLAG.xSigned : 0) | (bd === 'i8' ? QFLAG.bSigned : 0) | (a.yDtype === 'i8' ? QFLAG.ySigned : 0);
  emitQ(c, 'qadd_tfl_i8', [
    qaddr(c, aId!), qaddr(c, bId!), { k: 'buf', id: y, off: 0 }, i32(flags), i32(a.aZeroPoint), i32(a.bZeroPoint),
    i32(a.aMultiplier), i32(a.aShift), i32(a.bMultiplier), i32(a.bShift), i32(a.multiplier), i32(a.shift), i32(a.leftShift),
    i32(a.yZeroPoint), i32(a.lo), i32(a.hi), ...co.dims.map(i32), ...co.strides[0]!.map(i32), ...co.strides[1]!.map(i32),
  ], { reads: [aId!, bId!], writes: [y] });
}

/** edgec.QSoftmax (qsoftmax_i8) over the last axis. */
function lowerQSoftmax(c: LowerCtx, n: Node): void {
  const a = attrsOf<QSoftmaxAttrs>(c, n);
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const xd = needDtype(c, x, ['i8', 'u8'], 'QSoftmax input');
  const xs = c.shape(x);
  const L = xs[xs.length - 1]!;
  const total = numel(xs);
  if (total === 0) return;
  const flags = (xd === 'i8' ? QFLAG.xSigned : 0) | (a.yDtype === 'i8' ? QFLAG.ySigned : 0);
  emitQ(c, 'qsoftmax_i8', [
    qaddr(c, x), { k: 'buf', id: y, off: 0 }, c.blob(bytesOf(Float32Array.from(a.table))), i32(total / L), i32(L), i32(flags),
    { k: 'f', v: a.yScale }, i32(a.yZeroPoint),
  ], { reads: [x], writes: [y] });
}

/** edgec.QLut (lut_u8): y = table[byte(x)]. */
function lowerQLut(c: LowerCtx, n: Node): void {
  const a = attrsOf<QLutAttrs>(c, n);
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  needDtype(c, x, ['i8', 'u8'], 'QLut input');
  const count = numel(c.shape(x));
  if (count === 0) return;
  emitQ(c, 'lut_u8', [qaddr(c, x), { k: 'buf', id: y, off: 0 }, c.blob(Uint8Array.from(a.table, (v) => v & 0xff)), i32(count)], { reads: [x], writes: [y] });
}

/** edgec.TflQuantize (quantize_tfl_f32): TFLite's float QUANTIZE, rounding half away from zero. */
function lowerTflQuantize(c: LowerCtx, n: Node): void {
  const a = attrsOf<TflQuantizeAttrs>(c, n);
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  needDtype(c, x, ['f32'], 'TflQuantize input');
  const count = numel(c.shape(x));
  if (count === 0) return;
  emitQ(c, 'quantize_tfl_f32', [c.addr(x), { k: 'buf', id: y, off: 0 }, i32(count), { k: 'f', v: a.scale }, i32(a.yZeroPoint), i32(a.yDtype === 'i8' ? 1 : 0)],
    { reads: [x], writes: [y] });
}
