/**
 * WebGPU lowerings of the signal family (compiler/ops/signal.ts) and of the generators Range and
 * ConstantOfShape (compiler/ops/shape.ts):
 *   DFT          dft_f32 over a twiddle table computed at compile time (float64 angles 2*pi*m/N
 *                rounded to f32); an axis given as a runtime input is read on the GPU among the
 *                axes consistent with the static input / output shapes
 *   STFT         stft_f32; frame_step read at run time, frame_length from the window's shape, a
 *                constant, or read at run time among the lengths the output bin count allows
 *   Hann / Hamming / BlackmanWindow: the window is a function of its size only, which the static
 *                output shape fixes: computed at compile time in float64 (the reference formula)
 *                and copied into the output
 *   Range        range_b (the length is the static output length)
 *   ConstantOfShape  fill_b with the value's bit pattern (8- and 16-bit values packed per word)
 *   MelWeightMatrix  mel_weight_f32 (edges computed in f32 from the runtime scalars)
 */
import { Node, ValueId } from '../../../compiler/ir/graph.js';
import { Tensor, numel } from '../../../compiler/ir/tensor.js';
import { opAttrs } from '../../common/params.js';
import { stridesOf } from '../wgsl/shader.js';
import { wordsOf } from '../wgsl/qshader.js';
import { LowerCtx, LowerFn, Operand, copyView, pack16, pack8, qop, val } from '../ctx.js';

/** f32 (cos, sin) pairs of 2*pi*m/N for m < N, for each N in turn; returns the table and word offsets. */
function twiddleTable(Ns: readonly number[]): { table: Float32Array; offs: number[] } {
  const total = Ns.reduce((a, b) => a + b, 0);
  const table = new Float32Array(2 * total);
  const offs: number[] = [];
  let at = 0;
  for (const N of Ns) {
    offs.push(at);
    for (let m = 0; m < N; m++) {
      const th = (2 * Math.PI * m) / N;
      table[at + 2 * m] = Math.cos(th);
      table[at + 2 * m + 1] = Math.sin(th);
    }
    at += 2 * N;
  }
  return { table, offs };
}

/** Largest transform length whose index products k * t stay within i32. */
const MAX_N = 46340;

/** A present, non-empty optional input. */
function given(c: LowerCtx, id: ValueId | null | undefined): id is ValueId {
  return id != null && numel(c.shape(id)) > 0;
}

// y[..k..] = sum_t x[..t..] e^(-+2 pi i k t / N) (1/N when inverse); irfft extends X Hermitian
function lowerDft(c: LowerCtx, n: Node): void {
  const [x, lenId, axId] = n.inputs;
  const y = n.outputs[0]!;
  const xs = c.shape(x!);
  const ys = c.shape(y);
  const r = xs.length;
  const a = opAttrs<{ inverse: boolean; onesided: boolean; axis?: number }>(n, c.opset);
  const irfft = a.inverse && a.onesided;
  const rfft = a.onesided && !a.inverse;
  const constLen = given(c, lenId) ? c.constNums(lenId, 'DFT dft_length')![0]! : undefined;
  let axes: number[];
  let runtimeAxis = false;
  if (a.axis !== undefined) axes = [a.axis];
  else if (!given(c, axId)) axes = [-2];
  else if (c.isConst(axId)) axes = [c.consts.get(axId)!.toNumbers()[0]!];
  else {
    runtimeAxis = true;
    axes = [...Array(r - 1).keys()];
  }
  // candidate axes: those whose transform gives the static output shape
  const cands: number[] = [];
  const Ns: number[] = [];
  for (const raw of axes) {
    const ax = raw < 0 ? raw + r : raw;
    if (ax < 0 || ax > r - 2) throw c.unsupported(`DFT axis ${raw} is out of range for rank ${r}`);
    const N = constLen ?? (irfft ? 2 * (xs[ax]! - 1) : rfft ? xs[ax]! : ys[ax]!);
    const outLen = rfft ? Math.floor(N / 2) + 1 : N;
    const ok = N >= 1 && ys.every((d, i) => (i === ax ? d === outLen : i === r - 1 ? d === (irfft ? 1 : 2) : d === xs[i]));
    if (ok) {
      cands.push(ax);
      Ns.push(N);
    }
  }
  if (cands.length === 0) throw c.unsupported('DFT: no axis gives the static output shape');
  if (given(c, lenId) && constLen === undefined) throw c.unsupported('DFT dft_length must be a constant on the webgpu target');
  if (Ns.some((N) => N > MAX_N)) throw c.unsupported(`DFT length above ${MAX_N} is not supported on webgpu`);
  if (c.g.typeOf(x!).dtype !== 'f32') throw c.unsupported('DFT is supported on f32 data only on webgpu');
  if (numel(ys) === 0) return;
  const { table, offs } = twiddleTable(Ns);
  const ops: Record<string, Operand> = { x: c.op(x!), tw: c.blob(table), y: val(y) };
  runtimeAxis &&= cands.length > 1;
  if (runtimeAxis) ops['ax'] = qop(c, axId!);
  c.emit('dft_f32', { xs, ys, cands, Ns, toffs: offs, runtimeAxis, inverse: a.inverse, irfft }, ops);
}

// y[b, f, k] = sum_{t < L} w[t] x[b, f * step + t] e^(-2 pi i k t / L)
function lowerStft(c: LowerCtx, n: Node): void {
  const [x, stepId, winId, lenId] = n.inputs;
  const y = n.outputs[0]!;
  const xs = c.shape(x!);
  const ys = c.shape(y);
  const onesided = opAttrs<{ onesided: boolean }>(n, c.opset).onesided;
  if (xs.length !== 3 || ys.length !== 4) throw c.unsupported('STFT expects a [batch, length, 1|2] signal');
  const bins = ys[2]!;
  const win = given(c, winId);
  let Ls: number[];
  let runtimeLength = false;
  if (win) Ls = [c.shape(winId)[0]!];
  else if (given(c, lenId) && c.isConst(lenId)) Ls = [c.consts.get(lenId)!.toNumbers()[0]!];
  else if (given(c, lenId)) {
    Ls = onesided ? [2 * (bins - 1), 2 * bins - 1] : [bins];
    runtimeLength = true;
  } else Ls = [xs[1]!];
  Ls = Ls.filter((L) => L >= 1 && L <= xs[1]! && (onesided ? Math.floor(L / 2) + 1 : L) === bins);
  if (Ls.length === 0) throw c.unsupported('STFT: no frame length gives the static output shape');
  if (Math.max(...Ls) > MAX_N) throw c.unsupported(`STFT frame length above ${MAX_N} is not supported on webgpu`);
  if (c.g.typeOf(x!).dtype !== 'f32') throw c.unsupported('STFT is supported on f32 data only on webgpu');
  if (numel(ys) === 0) return;
  runtimeLength &&= Ls.length > 1;
  const { table, offs } = twiddleTable(Ls);
  const ops: Record<string, Operand> = { x: c.op(x!), tw: c.blob(table), step: qop(c, stepId!), y: val(y) };
  if (runtimeLength) ops['fl'] = qop(c, lenId!);
  if (win) ops['w'] = c.op(winId);
  c.emit('stft_f32', { B: xs[0]!, len: xs[1]!, comp: xs[2]!, frames: ys[1]!, bins, Ls, toffs: offs, runtimeLength, window: win }, ops);
}

/** Window formulas of compiler/ops/signal.ts by op (theta = 2 pi n / N'). */
const WINDOWS: Record<string, (th: number) => number> = {
  HannWindow: (th) => 0.5 - 0.5 * Math.cos(th),
  HammingWindow: (th) => 25 / 46 - (21 / 46) * Math.cos(th),
  BlackmanWindow: (th) => 0.42 - 0.5 * Math.cos(th) + 0.08 * Math.cos(2 * th),
};

// w[n] = f(2 pi n / N'), N' = size (periodic) or size - 1 (symmetric); size = the output length
function lowerWindow(c: LowerCtx, n: Node): void {
  const y = n.outputs[0]!;
  const size = c.shape(y)[0]!;
  if (c.g.typeOf(y).dtype !== 'f32') throw c.unsupported(`${n.op} output dtype ${c.g.typeOf(y).dtype} is not supported on webgpu (f32 only)`);
  if (size === 0) return;
  const periodic = opAttrs<{ periodic: boolean }>(n, c.opset).periodic;
  const denom = periodic ? size : size - 1;
  const f = WINDOWS[n.op]!;
  const w = new Float32Array(size);
  for (let i = 0; i < size; i++) w[i] = denom === 0 ? 1 : f((2 * Math.PI * i) / denom);
  copyView(c, val(y), size, [1], 0, c.blob(w), size, [1], 0, [size]);
}

// y[i] = start + i * delta, i < the static output length
function lowerRange(c: LowerCtx, n: Node): void {
  const [start, , delta] = n.inputs;
  const y = n.outputs[0]!;
  const dt = c.g.typeOf(y).dtype;
  if (dt !== 'f32' && dt !== 'i32' && dt !== 'i64') throw c.unsupported(`Range on ${dt} is not supported on webgpu (f32, i32, i64)`);
  const len = c.shape(y)[0]!;
  if (len === 0) return;
  const op = (id: ValueId): Operand => (dt === 'f32' ? c.op(id) : qop(c, id));
  c.emit('range_b', { n: len, ty: dt === 'f32' ? 'f32' : 'i32' }, { start: op(start!), delta: op(delta!), y: val(y) });
}

// y = value broadcast to the static output shape
function lowerConstantOfShape(c: LowerCtx, n: Node): void {
  const y = n.outputs[0]!;
  const dt = c.g.typeOf(y).dtype;
  const size = numel(c.shape(y));
  if (size === 0) return;
  const v = opAttrs<{ value: Tensor }>(n, c.opset).value;
  let word: number;
  if (dt === 'f32') word = new Int32Array(new Float32Array([v.get(0)]).buffer)[0]!;
  else if (dt === 'i8' || dt === 'u8' || dt === 'bool') word = pack8([v.get(0), v.get(0), v.get(0), v.get(0)])[0]!;
  else if (dt === 'i16' || dt === 'u16') word = pack16([v.get(0), v.get(0)])[0]!;
  else if (dt === 'i32' || dt === 'u32') word = Number(v.data[0]) | 0;
  else if (dt === 'i64') {
    const b = BigInt(v.data[0] as bigint);
    if (b < -(2n ** 31n) || b >= 2n ** 31n) throw c.unsupported(`ConstantOfShape value ${b} is outside the i32 range webgpu holds i64 values in`);
    word = Number(b);
  } else throw c.unsupported(`ConstantOfShape of ${dt} is not supported on webgpu`);
  c.emit('fill_b', { words: wordsOf(dt, size), bits: word >>> 0 }, { y: val(y) });
}

// W[j, i]: triangular filter i over spectrogram bins j between mel-spaced edges (compiler/ops/signal.ts)
function lowerMel(c: LowerCtx, n: Node): void {
  const [, len, rate, lo, hi] = n.inputs;
  const y = n.outputs[0]!;
  const ys = c.shape(y);
  if (c.g.typeOf(y).dtype !== 'f32') throw c.unsupported(`MelWeightMatrix output dtype ${c.g.typeOf(y).dtype} is not supported on webgpu (f32 only)`);
  for (const id of [lo!, hi!]) if (c.g.typeOf(id).dtype !== 'f32') throw c.unsupported('MelWeightMatrix edge frequencies must be f32 on webgpu');
  if (numel(ys) === 0) return;
  c.emit('mel_weight_f32', { rows: ys[0]!, bins: ys[1]! }, { len: qop(c, len!), rate: qop(c, rate!), lo: c.op(lo!), hi: c.op(hi!), y: val(y) });
}

/** Signal-family and generator lowerings by qualified op name (f32 operands). */
export const SIGNAL_LOWERINGS: Readonly<Record<string, LowerFn>> = {
  DFT: lowerDft, STFT: lowerStft, HannWindow: lowerWindow, HammingWindow: lowerWindow, BlackmanWindow: lowerWindow, Range: lowerRange,
};

/** Lowerings of signal / generator nodes with integer operands (sizes, axes, lengths; i64 held as i32). */
export const SIGNAL_INT_LOWERINGS: Readonly<Record<string, LowerFn>> = {
  ...SIGNAL_LOWERINGS, ConstantOfShape: lowerConstantOfShape, MelWeightMatrix: lowerMel,
};
