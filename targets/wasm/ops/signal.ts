/**
 * Wasm lowerings of the signal family (compiler/ops/signal.ts): DFT, STFT, the Hann / Hamming /
 * Blackman windows and MelWeightMatrix on the kernels of runtime-wasm/assembly/signal.ts (f32 or f64
 * data, f64 arithmetic; FFT for power-of-two lengths, a direct sum otherwise).
 *
 * Scalars that size an output (a DFT axis or dft_length, STFT's frame_step and frame_length, a
 * window size, the mel parameters) may be run-time graph inputs when the graph fixes the output
 * shape: the kernel reads them when it runs and checks them against that shape. Nodes whose inputs
 * are all constant never get here (the driver folds them with the reference kernels).
 */
import { Node, ValueId } from '../../../compiler/ir/graph.js';
import { numel } from '../../../compiler/ir/tensor.js';
import { MAX_DIMS } from '../kernels.js';
import { LowerCtx, LowerFn, NULL, SCRATCH, Word, i32 } from '../ctx.js';
import { dtypeCode, indexKind } from './shape.js';

/** DTYPE code of a float tensor the signal kernels compute on: f32 or f64 ('unsupported' otherwise). */
function floatCode(c: LowerCtx, id: ValueId): number {
  const dt = c.g.typeOf(id).dtype;
  if (dt !== 'f32' && dt !== 'f64') throw c.unsupported(`${c.node.op} on ${dt} data (the wasm kernel takes f32 and f64)`);
  return dtypeCode(c, id, true);
}

/** A scalar input as kernel words: its compile-time value (value, NULL, 0), or (0, address, kind) at run time. */
interface ScalarIn {
  /** The value when known at compile time; undefined when the input is absent, empty or a run-time value. */
  value?: number;
  /** Address and index kind (0 i32, 1 i64) of a run-time scalar. */
  at: Word;
  kind: number;
}

/**
 * Reads an optional integer scalar input: constant (an empty constant counts as absent) or a
 * one-element run-time tensor of int32 / int64.
 */
function scalarIn(c: LowerCtx, id: ValueId | null | undefined, what: string): ScalarIn {
  if (id === null || id === undefined) return { at: NULL, kind: 0 };
  if (c.isConst(id)) {
    const t = c.constOf(id, what);
    if (t.size === 0) return { at: NULL, kind: 0 };
    return { value: t.get(0), at: NULL, kind: 0 };
  }
  if (numel(c.shape(id)) !== 1) throw c.unsupported(`${what} must be a scalar`);
  return { at: c.vaddr(id), kind: indexKind(c, id) };
}

/** Dims left in place and padded with zeros to MAX_DIMS words. */
function dimWords(c: LowerCtx, dims: readonly number[]): Word[] {
  if (dims.length > MAX_DIMS) throw c.unsupported(`rank ${dims.length} exceeds the ${MAX_DIMS}-dim kernel`);
  return [...dims, ...new Array<number>(MAX_DIMS - dims.length).fill(0)].map(i32);
}

// DFT: y = forward / inverse DFT of x along one axis (trailing axis: 1 real, 2 complex); onesided
// keeps bins 0..N/2 (forward) or reads them as a Hermitian spectrum (inverse: irfft, real output)
function lowerDft(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const xs = c.shape(x);
  const ys = c.shape(y);
  const a = c.attrs<{ inverse: boolean; onesided: boolean; axis?: number }>();
  const dt = floatCode(c, x);
  if (c.g.typeOf(y).dtype !== c.g.typeOf(x).dtype) throw c.unsupported('DFT output dtype differs from its input');
  const rank = xs.length;
  if (numel(ys) === 0) return;
  // the axis: attribute (opset < 20), constant input, run-time input, or the default -2
  const ax = a.axis !== undefined ? { value: a.axis, at: NULL, kind: 0 } : scalarIn(c, n.inputs[2], 'DFT axis');
  let axis = -1;
  if (ax.at === NULL) {
    const v = ax.value ?? -2;
    axis = v < 0 ? v + rank : v;
    if (axis < 0 || axis > rank - 2) throw c.unsupported(`DFT axis ${v} is out of range for rank ${rank}`);
  }
  const len = scalarIn(c, n.inputs[1], 'DFT dft_length');
  let nLen = len.value ?? 0;
  if (len.at === NULL && nLen === 0 && axis >= 0) nLen = a.inverse && a.onesided ? 2 * (xs[axis]! - 1) : xs[axis]!;
  if (len.value !== undefined && !(Number.isInteger(nLen) && nLen >= 1)) throw c.unsupported(`DFT dft_length ${nLen}`);
  // scratch for the largest length the call may take: the known one, or one bounded by the shapes
  const cap = nLen > 0 ? nLen : 2 * Math.max(...xs, ...ys) + 2;
  c.emit('dft', [c.vaddr(x), c.vaddr(y), i32(dt), i32(rank), i32(Math.max(axis, 0)), ax.at, i32(ax.kind), i32(nLen), len.at, i32(len.kind),
    i32(a.inverse ? 1 : 0), i32(a.onesided ? 1 : 0), SCRATCH, i32(cap), ...dimWords(c, xs), ...dimWords(c, ys)],
  { reads: [x, n.inputs[1] ?? null, n.inputs[2] ?? null], writes: [y], scratch: 48 * cap, dtype: c.g.typeOf(y).dtype });
}

// STFT: y[b, f, k] = sum_{n<L} w[n] x[b, f*step + n] e^{-2 pi i k n / L}, k < L (L/2+1 onesided)
function lowerStft(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const xs = c.shape(x);
  const ys = c.shape(y);
  const a = c.attrs<{ onesided: boolean }>();
  const dt = floatCode(c, x);
  if (c.g.typeOf(y).dtype !== c.g.typeOf(x).dtype) throw c.unsupported('STFT output dtype differs from its input');
  if (xs.length !== 3 || ys.length !== 4) throw c.unsupported('STFT signal must be [batch, length, 1|2]');
  const [batch, sigLen, comp] = xs as [number, number, number];
  if (comp !== 1 && comp !== 2) throw c.unsupported(`STFT signal's last axis is ${comp}, expected 1 or 2`);
  if (numel(ys) === 0) return;
  const step = scalarIn(c, n.inputs[1], 'STFT frame_step');
  const w = n.inputs[2] ?? null;
  let wlen = 0;
  if (w !== null) {
    const ws = c.shape(w);
    if (ws.length !== 1) throw c.unsupported('STFT window must be 1-D');
    wlen = ws[0]!;
    if (wlen === 0) throw c.unsupported('STFT with an empty window');
  }
  const fl = scalarIn(c, n.inputs[3], 'STFT frame_length');
  const L = fl.at !== NULL ? 0 : fl.value ?? (wlen > 0 ? wlen : sigLen);
  const bins = ys[2]!;
  const cap = L > 0 ? L : 2 * bins + 2;
  c.emit('stft', [c.vaddr(x), c.vaddr(y), w === null ? NULL : c.vaddr(w), i32(w === null ? 0 : floatCode(c, w)), i32(dt), i32(batch), i32(sigLen),
    i32(comp), i32(step.value ?? 0), step.at, i32(step.kind), i32(L), fl.at, i32(fl.kind), i32(ys[1]!), i32(bins), i32(a.onesided ? 1 : 0),
    SCRATCH, i32(cap), i32(wlen)],
  { reads: [x, n.inputs[1] ?? null, w, n.inputs[3] ?? null], writes: [y], scratch: 48 * cap, dtype: c.g.typeOf(y).dtype });
}

const WINDOW_KIND: Readonly<Record<string, number>> = { HannWindow: 0, HammingWindow: 1, BlackmanWindow: 2 };

// HannWindow / HammingWindow / BlackmanWindow(size): w[n] = f(2 pi n / N'), N' = size or size - 1;
// a run-time size must equal the compiled output length
function lowerWindow(c: LowerCtx, n: Node): void {
  const s = n.inputs[0]!;
  const y = n.outputs[0]!;
  const a = c.attrs<{ periodic: boolean }>();
  const size = c.shape(y)[0]!;
  if (size === 0) return;
  if (numel(c.shape(s)) !== 1) throw c.unsupported(`${n.op} size must be a scalar`);
  c.emit('window', [c.vaddr(y), i32(dtypeCode(c, y, true)), i32(size), c.vaddr(s), i32(dtypeCode(c, s, true)), i32(a.periodic ? 1 : 0),
    i32(WINDOW_KIND[n.op]!)], { reads: [s], writes: [y], dtype: c.g.typeOf(y).dtype });
}

// MelWeightMatrix(num_mel_bins, dft_length, sample_rate, lower_edge_hertz, upper_edge_hertz):
// triangular filters between mel-spaced edges; the scalars are read when the kernel runs
function lowerMel(c: LowerCtx, n: Node): void {
  const y = n.outputs[0]!;
  const [rows, bins] = c.shape(y) as [number, number];
  if (rows * bins === 0) return;
  const ins = n.inputs.slice(0, 5).map((id) => {
    if (id === null || id === undefined) throw c.unsupported('MelWeightMatrix needs its five inputs');
    if (numel(c.shape(id)) !== 1) throw c.unsupported('MelWeightMatrix inputs must be scalars');
    return id;
  });
  c.emit('melweight', [c.vaddr(y), i32(dtypeCode(c, y, true)), i32(rows), i32(bins), ...ins.map((id) => c.vaddr(id)),
    ...ins.map((id) => i32(dtypeCode(c, id, true))), SCRATCH], { reads: ins, writes: [y], scratch: (bins + 2) * 8, dtype: c.g.typeOf(y).dtype });
}

/** Signal-family lowerings by qualified op name. */
export const SIGNAL_LOWERINGS: Readonly<Record<string, LowerFn>> = {
  DFT: lowerDft, STFT: lowerStft, HannWindow: lowerWindow, HammingWindow: lowerWindow, BlackmanWindow: lowerWindow,
  MelWeightMatrix: lowerMel,
};
