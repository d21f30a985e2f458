/**
 * Wasm lowerings of the recurrent family (compiler/ops/rnn.ts): RNN, GRU and LSTM on rnn_f32
 * (runtime-wasm/assembly/rnn.ts), one kernel call per direction running the whole sequence
 * (input projection as one GEMM, then per step the recurrent GEMM and the gates).
 *
 * Constant W and R are transposed to [K, G*H] and packed at compile time: W into the GEMM's K x 8
 * column panels, R into the 28-column chunks of the kernel's recurrent GEMV when B < 4 (else the
 * GEMM's panels); runtime W / R are passed raw and transposed by the kernel into its scratch. Both
 * layouts (0: [S, B, ...], 1: [B, S, ...]) are strides of X, Y, the initial states and Y_h / Y_c.
 */
import { Node, ValueId } from '../../../compiler/ir/graph.js';
import { invalid } from '../../../compiler/errors.js';
import { LowerCtx, LowerFn, NULL, SCRATCH, Word, f32, i32 } from '../ctx.js';
import { UNARY } from '../kernels.js';
import { packB } from './matmul.js';
import { TFL_SIGMOID_TABLE, TflLstmAttrs } from '../../../compiler/ops/rnn.js';

type Kind = 'RNN' | 'GRU' | 'LSTM';

/** The parsed attributes of compiler/ops/rnn.ts (RnnAttrs) this lowering reads. */
interface RnnAttrs {
  kind: Kind;
  hidden: number | undefined;
  direction: 'forward' | 'reverse' | 'bidirectional';
  acts: { name: string; alpha: number; beta: number }[][];
  clip: number | undefined;
  layout: 0 | 1;
  linearBeforeReset: boolean;
  inputForget: boolean;
}

const GATES: Record<Kind, number> = { RNN: 1, GRU: 3, LSTM: 4 };
const KIND_CODE: Record<Kind, number> = { RNN: 0, GRU: 1, LSTM: 2 };

/** Activation codes of rnn_f32: the shared unary codes, plus Affine (100) and ScaledTanh (101). */
const ACT_CODE: Record<string, number> = {
  relu: UNARY.Relu, tanh: UNARY.Tanh, sigmoid: UNARY.Sigmoid, hardsigmoid: UNARY.HardSigmoid, leakyrelu: UNARY.LeakyRelu,
  thresholdedrelu: UNARY.ThresholdedRelu, elu: UNARY.Elu, softsign: UNARY.Softsign, softplus: UNARY.Softplus,
  affine: 100, scaledtanh: 101,
};

/** Weight operand modes of rnn_f32 (raw [GH, K], transposed [K, GH], transposed and packed). */
const W_RAW = 0;
const W_T = 1;
const W_PACKED = 2;
const W_GEMV = 3;

/** Columns of one W_GEMV chunk (CHUNK in runtime-wasm/assembly/rnn.ts). */
const CHUNK = 28;

/**
 * A [K, N] matrix in the W_GEMV layout of rnn_f32's recurrent GEMV: the columns in chunks of 28,
 * each chunk stored [K][28], the last one zero-padded ([ceil(N / 28), K, 28]).
 */
export function packChunks(b: Float32Array, K: number, N: number): Float32Array {
  const chunks = Math.ceil(N / CHUNK);
  const out = new Float32Array(chunks * K * CHUNK);
  for (let c = 0; c < chunks; c++) {
    const w = Math.min(CHUNK, N - c * CHUNK);
    for (let k = 0; k < K; k++) for (let i = 0; i < w; i++) out[(c * K + k) * CHUNK + i] = b[k * N + c * CHUNK + i]!;
  }
  return out;
}

/** How a constant weight operand is laid out: [K, GH], the GEMM's K x 8 panels, or W_GEMV chunks. */
type Layout = 'plain' | 'panels' | 'chunks';

/** Floats of scratch one rnn_f32 call needs (mirrors rnnScratchFloats in runtime-wasm/assembly/rnn.ts). */
export function rnnScratchFloats(S: number, B: number, I: number, H: number, G: number, wRaw: boolean, rRaw: boolean): number {
  const GH = G * H;
  return S * B * GH + (wRaw ? I * GH : 0) + (rRaw ? H * GH : 0) + 2 * GH + 2 * B * H + B * GH + B * H + GH + H + Math.max(I, H) * 8;
}

/** Columns [c0, c1) of the transpose of rows [r0, r0 + N) of a row-major [*, K] matrix: [K, c1 - c0]. */
function transposedCols(d: Float32Array, r0: number, K: number, c0: number, c1: number): Float32Array {
  const N = c1 - c0;
  const o = new Float32Array(K * N);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) o[k * N + n] = d[(r0 + c0 + n) * K + k]!;
  return o;
}

/**
 * The weight operand of direction d: constant W/R as [K, GH] in `layout` (a split GRU R packs
 * columns [0, 2H) and [2H, 3H) separately), runtime ones raw at their direction's offset.
 */
function weight(c: LowerCtx, id: ValueId, d: number, GH: number, K: number, split: number | undefined, layout: Layout): { w: Word; mode: number } {
  const t = c.consts.get(id);
  if (!t) return { w: c.addr(id, d * GH * K), mode: W_RAW };
  if (t.dtype !== 'f32') throw c.unsupported(`${c.node.op} weight "${c.g.value(id).name}" has dtype ${t.dtype}; the wasm kernel computes in f32`);
  const data = c.f32Data(t);
  const r0 = d * GH;
  const q8 = int8Rows(c, id, data, K);
  if (q8) return int8Weight(c, q8, r0, GH, K, split, layout);
  if (layout === 'plain') return { w: c.blob(transposedCols(data, r0, K, 0, GH)), mode: W_T };
  const pack = layout === 'panels' ? packB : packChunks;
  const parts = split === undefined ? [[0, GH]] : [[0, split], [split, GH]];
  return { w: c.blob(concat(parts.map(([a, b]) => pack(transposedCols(data, r0, K, a!, b!), K, b! - a!)))), mode: layout === 'panels' ? W_PACKED : W_GEMV };
}

/** The arrays one after the other. */
function concat(l: Float32Array[]): Float32Array {
  const all = new Float32Array(l.reduce((n, x) => n + x.length, 0));
  let off = 0;
  for (const x of l) { all.set(x, off); off += x.length; }
  return all;
}

/** An int8 gate matrix: values in W/R order and one scale per row ([D * G * H]). */
interface Int8Rows {
  q: Int8Array;
  rowScale: Float32Array;
}

/**
 * The int8 form of a constant gate matrix that the graph computes as DequantizeLinear(int8
 * constant, f32 scale per row or per tensor, zero point 0) -- optionally through a Reshape, as
 * quantize/qdq.ts emits for --int8 -- when dequantizing it reproduces the folded f32 values `data`
 * exactly (so the expanded blob is bit-identical to what the reference computes); else undefined.
 */
function int8Rows(c: LowerCtx, id: ValueId, data: Float32Array, K: number): Int8Rows | undefined {
  let p = c.g.producerOf(id);
  if (p && p.op === 'Reshape' && p.domain === '' && p.inputs[0] != null) p = c.g.producerOf(p.inputs[0]);
  if (!p || p.op !== 'DequantizeLinear' || p.domain !== '') return undefined;
  const qt = c.consts.get(p.inputs[0] ?? -1);
  const st = c.consts.get(p.inputs[1] ?? -1);
  if (!qt || !st || qt.dtype !== 'i8' || st.dtype !== 'f32' || qt.size !== data.length || qt.shape.length < 2) return undefined;
  if (p.inputs[2] != null) {
    const zt = c.consts.get(p.inputs[2]);
    if (!zt || zt.toNumbers().some((v) => v !== 0)) return undefined;
  }
  const s = qt.shape as number[];
  const rank = s.length;
  const rawAxis = typeof p.attrs['axis'] === 'number' ? (p.attrs['axis'] as number) : 1;
  const axis = rawAxis < 0 ? rawAxis + rank : rawAxis;
  if (s[rank - 1] !== K || (p.attrs['block_size'] !== undefined && p.attrs['block_size'] !== 0)) return undefined;
  const rows = data.length / K;
  const sd = st.data as Float32Array;
  const rowScale = new Float32Array(rows);
  if (st.size === 1) rowScale.fill(sd[0]!);
  else if (axis === rank - 2 && st.shape.length === 1 && st.size === s[axis]) for (let r = 0; r < rows; r++) rowScale[r] = sd[r % st.size]!;
  else return undefined;
  const q = qt.data as Int8Array;
  for (let i = 0; i < data.length; i++) if (Math.fround(q[i]! * rowScale[Math.floor(i / K)]!) !== data[i]) return undefined;
  return { q, rowScale };
}

/**
 * The operand `weight` builds, stored as int8 values + per-column f32 scales (expanded to f32 at
 * instantiation): the int8 values are transposed / packed exactly like the f32 ones, and the column
 * scales follow their columns (packed panels / chunks: view [panels, K, width], one scale per
 * panel column; the zero padding of a chunk gets scale 0).
 */
function int8Weight(c: LowerCtx, w: Int8Rows, r0: number, GH: number, K: number, split: number | undefined, layout: Layout): { w: Word; mode: number } {
  const qf = Float32Array.from(w.q);
  const cols = (a: number, b: number) => w.rowScale.slice(r0 + a, r0 + b);
  const toI8 = (f: Float32Array) => Int8Array.from(f);
  if (layout === 'plain') {
    const q = toI8(transposedCols(qf, r0, K, 0, GH));
    return { w: c.int8Blob({ kind: 'int8', q, scale: cols(0, GH), outer: 1, D: K, inner: GH, block: K }), mode: W_T };
  }
  const [pack, width] = layout === 'panels' ? [packB, 8] : [packChunks, CHUNK];
  const parts = split === undefined ? [[0, GH]] : [[0, split], [split, GH]];
  const q = toI8(concat(parts.map(([a, b]) => pack(transposedCols(qf, r0, K, a!, b!), K, b! - a!))));
  const scale = concat(parts.map(([a, b]) => pack(cols(a!, b!), 1, b! - a!)));
  return { w: c.int8Blob({ kind: 'int8', q, scale, outer: scale.length / width, D: K, inner: width, block: K }), mode: layout === 'panels' ? W_PACKED : W_GEMV };
}

function lowerRnn(kind: Kind): LowerFn {
  return (c: LowerCtx, n: Node): void => {
    const a = c.attrs<RnnAttrs>();
    const [xId, wId, rId, bId, lensId, h0Id] = n.inputs;
    const c0Id = kind === 'LSTM' ? n.inputs[6] ?? null : null;
    const pId = kind === 'LSTM' ? n.inputs[7] ?? null : null;
    const dt = c.g.typeOf(xId!).dtype;
    if (dt !== 'f32') throw c.unsupported(`${kind} on dtype ${dt} is not supported on wasm (f32 only)`);
    const xs = c.shape(xId!);
    const ws = c.shape(wId!);
    const G = GATES[kind];
    const D = a.direction === 'bidirectional' ? 2 : 1;
    const [S, B] = a.layout === 0 ? [xs[0]!, xs[1]!] : [xs[1]!, xs[0]!];
    const I = xs[2]!;
    const H = a.hidden ?? ws[1]! / G;
    const GH = G * H;
    if (!Number.isInteger(H) || H < 1) throw invalid(`${kind}: cannot tell the hidden size from W [${ws.join(',')}]`, { node: n.name, op: n.op });
    if (lensId != null && c.g.typeOf(lensId).dtype !== 'i32') throw c.unsupported(`${kind}: sequence_lens of dtype ${c.g.typeOf(lensId).dtype} (ONNX: int32)`);
    // the kernel trusts these shapes (a mismatch would read past a buffer): check them like the reference
    const expect = (id: ValueId | null | undefined, want: number[], what: string): void => {
      if (id == null) return;
      const s = c.shape(id);
      if (s.length !== want.length || s.some((v, i) => v !== want[i])) {
        throw invalid(`${kind}: ${what} must have shape [${want.join(',')}], got [${s.join(',')}]`, { node: n.name, op: n.op });
      }
    };
    const stShape = a.layout === 0 ? [D, B, H] : [B, D, H];
    expect(wId, [D, GH, I], 'W');
    expect(rId, [D, GH, H], 'R');
    expect(bId, [D, 2 * GH], 'B');
    expect(lensId, [B], 'sequence_lens');
    expect(h0Id, stShape, 'initial_h');
    expect(c0Id, stShape, 'initial_c');
    expect(pId, [D, 3 * H], 'P');
    const lensConst = lensId != null ? c.consts.get(lensId) : undefined;
    if (lensConst) {
      for (let k = 0; k < B; k++) {
        const L = lensConst.get(k);
        if (!(Number.isInteger(L) && L >= 0 && L <= S)) throw invalid(`${kind}: sequence_lens[${k}] = ${L} is outside [0, ${S}]`, { node: n.name, op: n.op });
      }
    }
    const split = kind === 'GRU' && !a.linearBeforeReset ? 2 * H : undefined;
    const used = (k: number): ValueId | null => {
      const o = n.outputs[k];
      return o !== undefined && c.g.useCount(o) > 0 ? o : null;
    };
    const [y, yh, yc] = [used(0), used(1), kind === 'LSTM' ? used(2) : null];
    // strides (elements): layout 0 X [S, B, I], Y [S, D, B, H], states [D, B, H]; layout 1 X [B, S, I], Y [B, S, D, H], states [B, D, H]
    const xt = a.layout === 0 ? B : 1, xb = a.layout === 0 ? 1 : S;
    const yt = a.layout === 0 ? D * B * H : D * H, yb = a.layout === 0 ? H : S * D * H;
    const sd = a.layout === 0 ? B * H : H, sb = a.layout === 0 ? H : D * H;
    const opt = (id: ValueId | null | undefined, off: number): Word => (id != null ? c.addr(id, off) : NULL);
    const reads = [xId!, wId!, rId!, bId ?? null, lensId ?? null, h0Id ?? null, c0Id, pId];
    const writes = [y, yh, yc].filter((o): o is ValueId => o !== null);
    for (let d = 0; d < D; d++) {
      const W = weight(c, wId!, d, GH, I, undefined, GH >= 8 ? 'panels' : 'plain');
      // the recurrent product: per-row GEMVs over 28-column chunks for small batches, else the GEMM
      const R = weight(c, rId!, d, GH, H, split, B < 4 ? 'chunks' : H >= 8 ? 'panels' : 'plain');
      const flags = (a.direction === 'reverse' || d === 1 ? 1 : 0) | (a.linearBeforeReset ? 2 : 0) | (a.inputForget ? 4 : 0) | (a.clip !== undefined ? 8 : 0);
      const acts = a.acts[d]!;
      const actWords = [0, 1, 2].flatMap((k) => {
        const f = acts[k];
        if (!f) return [i32(0), f32(0), f32(0)];
        const code = ACT_CODE[f.name];
        if (code === undefined) throw c.unsupported(`${kind}: activation ${f.name} has no wasm kernel`);
        return [i32(code), f32(f.alpha), f32(f.beta)];
      });
      const scratch = rnnScratchFloats(S, B, I, H, G, W.mode === W_RAW, R.mode === W_RAW) * 4;
      c.emit('rnn_f32', [
        i32(KIND_CODE[kind]), i32(flags), i32(S), i32(B), i32(I), i32(H),
        c.addr(xId!), i32(xt), i32(xb), W.w, i32(W.mode), R.w, i32(R.mode),
        opt(bId, d * 2 * GH), opt(pId, d * 3 * H), lensId != null ? c.vaddr(lensId) : NULL,
        opt(h0Id, d * sd), i32(sb), opt(c0Id, d * sd), i32(sb),
        opt(y, d * sd), i32(yt), i32(yb), opt(yh, d * sd), i32(sb), opt(yc, d * sd), i32(sb),
        f32(a.clip ?? 0), ...actWords, SCRATCH,
      ], { reads, writes, scratch });
    }
  };
}

/** A constant int8 / int32 operand of edgec.TflLstm as a blob (runtime weights are refused). */
function tflConst(c: LowerCtx, id: ValueId, what: string): Word {
  const t = c.consts.get(id);
  if (!t) throw c.unsupported(`TflLstm ${what} must be a constant on the wasm target`);
  if (t.data instanceof Int32Array) return c.blob(t.data);
  if (t.data instanceof Int8Array) return c.blob(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  throw c.unsupported(`TflLstm ${what} has dtype ${t.dtype}`);
}

/** edgec.TflLstm (lstm_tfl_i8): TFLite Micro's integer LSTM over the whole sequence, one call. */
function lowerTflLstm(c: LowerCtx, n: Node): void {
  const a = c.attrs<TflLstmAttrs>();
  const [x, w, r, b] = n.inputs as ValueId[];
  const y = n.outputs[0]!;
  const xs = c.shape(x!), ws = c.shape(w!);
  const [H, I] = [ws[1]!, ws[2]!];
  const [T, B] = a.timeMajor ? [xs[0]!, xs[1]!] : [xs[1]!, xs[0]!];
  if (T * B === 0) return;
  if (c.g.typeOf(x!).dtype !== 'i8') throw c.unsupported('TflLstm input must be int8');
  c.emit('lstm_tfl_i8', [
    { k: 'buf', id: x!, off: 0 }, tflConst(c, w!, 'W'), tflConst(c, r!, 'R'), tflConst(c, b!, 'B'), { k: 'buf', id: y, off: 0 }, SCRATCH, c.blob(Int32Array.from(TFL_SIGMOID_TABLE)),
    i32(T), i32(B), i32(I), i32(H), i32(a.timeMajor ? 1 : 0), i32(a.xZeroPoint), i32(a.hZeroPoint),
    ...a.inMultiplier.map(i32), ...a.inShift.map(i32), ...a.recMultiplier.map(i32), ...a.recShift.map(i32),
    i32(a.fcMultiplier), i32(a.fcShift), i32(a.icMultiplier), i32(a.icShift), i32(a.hMultiplier), i32(a.hShift),
    i32(a.cellScalePower), i32(a.cellClip), i32(a.cellAct === 'sigmoid' ? 1 : 0),
  ], { reads: [x!], writes: [y], scratch: 11 * H + 8, dtype: 'i8' });
}

/** Recurrent-family lowerings by qualified op name. */
export const RNN_LOWERINGS: Readonly<Record<string, LowerFn>> = {
  RNN: lowerRnn('RNN'), GRU: lowerRnn('GRU'), LSTM: lowerRnn('LSTM'),
  'edgec.TflLstm': lowerTflLstm,
};
