/**
 * Signal-processing and generator kernels (compiler/ops/signal.ts, Range / ConstantOfShape of
 * compiler/ops/shape.ts):
 *   dft_f32    DFT / inverse DFT / one-sided (rfft, irfft) along one axis, one thread per output
 *              sample, direct sum over a compile-time twiddle table (cos, sin of 2*pi*m/N as f32
 *              pairs); the axis may be read at run time among the candidate axes the shapes allow
 *   stft_f32   STFT frames (optional window), frame_step read at run time, frame_length read at run
 *              time among candidate lengths (one twiddle table each)
 *   range_b    y[i] = start + i * delta (f32 or i32 arithmetic, operands read at run time)
 *   fill_b     every word of y set to a constant bit pattern (ConstantOfShape)
 *   mel_weight_f32  MelWeightMatrix from runtime dft_length / sample_rate / edge frequencies
 */
import { ShaderBuilder, int } from '../wgsl/shader.js';
import { BaseParams, KernelGen, bufOf } from './types.js';

/** WGSL statements selecting candidate `sel` (0-based) by the runtime value `v` equal to cands[j]. */
function pick(v: string, cands: readonly number[], sel: string): string[] {
  return [`var ${sel} = 0;`, ...cands.map((cv, j) => `if (${v} == ${int(cv)}) { ${sel} = ${int(j)}; }`)];
}

/** `let name = arr[sel]` for a per-candidate constant list. */
function choose(name: string, vals: readonly number[], sel: string): string {
  return `var ${name}_c = array<i32, ${vals.length}>(${vals.map(int).join(', ')});\n  let ${name} = ${name}_c[${sel}];`;
}

export interface DftParams extends BaseParams {
  /** Input shape (last axis 1: real, 2: complex) and output shape (last axis 1 or 2). */
  xs: number[]; ys: number[];
  /** Candidate axes with their transform length N and twiddle-table word offset. */
  cands: number[]; Ns: number[]; toffs: number[];
  /** The axis is the runtime scalar operand `ax` (else cands has one entry). */
  runtimeAxis: boolean;
  inverse: boolean;
  irfft: boolean;
}

export const dftF32: KernelGen<DftParams> = {
  id: 'dft_f32',
  gen(p) {
    const s = new ShaderBuilder(this.id);
    const r = p.xs.length;
    const x = s.tensor('x', p.xs, bufOf(p, 'x'));
    const tw = s.tensor('tw', [2 * p.Ns.reduce((a, b) => a + b, 0)], bufOf(p, 'tw'));
    const ax = p.runtimeAxis ? s.tensor('ax', [1], bufOf(p, 'ax')) : null;
    const lines = p.ys.slice(0, r - 1).reduce((a, b) => a * b, 1);
    const outComp = p.ys[r - 1]!;
    const comp = p.xs[r - 1]!;
    const y = s.tensor('y', [lines * outComp]);
    const xst = x.strides.slice(0, r - 1);
    const body: string[] = [
      `var xd = array<i32, ${r - 1}>(${p.xs.slice(0, r - 1).map(int).join(', ')});`,
      `var yd = array<i32, ${r - 1}>(${p.ys.slice(0, r - 1).map(int).join(', ')});`,
      `var xst = array<i32, ${r - 1}>(${xst.map(int).join(', ')});`,
      ax ? `let a0 = ${ax.atInt('0')};` : `let a0 = ${int(p.cands[0]!)};`,
      `let a = select(a0, a0 + ${int(r)}, a0 < 0);`,
      ...pick('a', p.cands, 'ci'),
      choose('N', p.Ns, 'ci'),
      choose('toff', p.toffs, 'ci'),
      'var idx: array<i32, ' + (r - 1) + '>;',
      'var rem = gi;',
      `for (var d = ${int(r - 2)}; d >= 0; d--) { idx[d] = rem % yd[d]; rem = rem / yd[d]; }`,
      'let k = idx[a];',
      'var base = 0;',
      `for (var d = 0; d < ${int(r - 1)}; d++) { if (d != a) { base += idx[d] * xst[d]; } }`,
      'let sa = xst[a];',
      `let used = min(xd[a], ${p.irfft ? 'N / 2 + 1' : 'N'});`,
      `let terms = ${p.irfft ? 'N' : 'used'};`,
      `let sgn = ${p.inverse ? '1.0' : '-1.0'};`,
      'var sr = 0.0;',
      'var si = 0.0;',
      'for (var t = 0; t < terms; t++) {',
      '  var re = 0.0;',
      '  var im = 0.0;',
      `  if (t < used) { re = ${x.at('base + t * sa')}; ${comp === 2 ? `im = ${x.at('base + t * sa + 1')};` : ''} }`,
    ];
    if (p.irfft) {
      // Hermitian extension X[N - j] = conj(X[j]) for 0 < j < N - j
      body.push(`  else { let j = N - t; if (j >= 1 && j < t && j < used) { re = ${x.at('base + j * sa')}; ${comp === 2 ? `im = -${x.at('base + j * sa + 1')};` : ''} } }`);
    }
    body.push(
      '  let m = (k * t) % N;',
      `  let c = ${tw.at('toff + 2 * m')};`,
      `  let sn = sgn * ${tw.at('toff + 2 * m + 1')};`,
      '  sr += re * c - im * sn;',
      '  si += re * sn + im * c;',
      '}',
      `let scale = ${p.inverse ? '1.0 / f32(N)' : '1.0'};`,
      y.store(`gi * ${int(outComp)}`, 'sr * scale'),
      outComp === 2 ? y.store(`gi * ${int(outComp)} + 1`, 'si * scale') : '',
    );
    return s.linear(lines, body.filter((l) => l !== ''));
  },
};

export interface StftParams extends BaseParams {
  B: number; len: number; comp: number; frames: number; bins: number;
  /** Candidate frame lengths with their twiddle-table word offsets. */
  Ls: number[]; toffs: number[];
  /** The frame length is the runtime scalar operand `fl` (else Ls has one entry). */
  runtimeLength: boolean;
  window: boolean;
}

export const stftF32: KernelGen<StftParams> = {
  id: 'stft_f32',
  gen(p) {
    const s = new ShaderBuilder(this.id);
    const x = s.tensor('x', [p.B, p.len, p.comp], bufOf(p, 'x'));
    const tw = s.tensor('tw', [2 * p.Ls.reduce((a, b) => a + b, 0)], bufOf(p, 'tw'));
    const step = s.tensor('step', [1], bufOf(p, 'step'));
    const fl = p.runtimeLength ? s.tensor('fl', [1], bufOf(p, 'fl')) : null;
    const w = p.window ? s.tensor('w', [Math.max(...p.Ls)], bufOf(p, 'w')) : null;
    const n = p.B * p.frames * p.bins;
    const y = s.tensor('y', [n * 2]);
    const body = [
      `let k = gi % ${int(p.bins)};`,
      `let f = (gi / ${int(p.bins)}) % ${int(p.frames)};`,
      `let b = gi / ${int(p.bins * p.frames)};`,
      fl ? `let l0 = ${fl.atInt('0')};` : `let l0 = ${int(p.Ls[0]!)};`,
      ...pick('l0', p.Ls, 'ci'),
      choose('L', p.Ls, 'ci'),
      choose('toff', p.toffs, 'ci'),
      `let start = f * ${step.atInt('0')};`,
      'var sr = 0.0;',
      'var si = 0.0;',
      'for (var t = 0; t < L; t++) {',
      `  let src = (b * ${int(p.len)} + start + t) * ${int(p.comp)};`,
      `  let wt = ${w ? w.at('t') : '1.0'};`,
      `  let re = wt * ${x.at('src')};`,
      `  let im = ${p.comp === 2 ? `wt * ${x.at('src + 1')}` : '0.0'};`,
      '  let m = (k * t) % L;',
      `  let c = ${tw.at('toff + 2 * m')};`,
      `  let sn = ${tw.at('toff + 2 * m + 1')};`,
      '  sr += re * c + im * sn;',
      '  si += im * c - re * sn;',
      '}',
      y.store('gi * 2', 'sr'),
      y.store('gi * 2 + 1', 'si'),
    ];
    return s.linear(n, body);
  },
};

export interface RangeParams extends BaseParams {
  n: number;
  /** Arithmetic type: f32, or i32 (integers held in words). */
  ty: 'f32' | 'i32';
}

export const rangeB: KernelGen<RangeParams> = {
  id: 'range_b',
  gen(p) {
    const s = new ShaderBuilder(this.id);
    const st = s.tensor('start', [1], bufOf(p, 'start'));
    const d = s.tensor('delta', [1], bufOf(p, 'delta'));
    const y = s.tensor('y', [p.n]);
    if (p.ty === 'f32') return s.linear(p.n, [y.store('gi', `${st.at('0')} + f32(gi) * ${d.at('0')}`)]);
    return s.linear(p.n, [y.store('gi', `bitcast<f32>(${st.atInt('0')} + gi * ${d.atInt('0')})`)]);
  },
};

export interface FillParams extends BaseParams {
  words: number;
  /** The word's bit pattern (u32). */
  bits: number;
}

export const fillB: KernelGen<FillParams> = {
  id: 'fill_b',
  gen(p) {
    const s = new ShaderBuilder(this.id);
    const y = s.tensor('y', [p.words]);
    return s.linear(p.words, [y.store('gi', `f32_bits(${p.bits >>> 0}u)`)]);
  },
};

export interface MelParams extends BaseParams {
  /** Spectrogram rows (dft_length / 2 + 1) and mel bins (the static output shape). */
  rows: number; bins: number;
}

/**
 * mel_weight_f32: MelWeightMatrix [rows, bins], one thread per entry; dft_length, sample_rate and
 * the edge frequencies are read at run time (i32 words / f32). Filter i rises from edge i to edge
 * i+1 and falls to edge i+2, edges floor((dft_length + 1) * hz / rate) at mel-spaced hz (f32).
 */
export const melWeightF32: KernelGen<MelParams> = {
  id: 'mel_weight_f32',
  gen(p) {
    const s = new ShaderBuilder(this.id);
    const len = s.tensor('len', [1], bufOf(p, 'len'));
    const rate = s.tensor('rate', [1], bufOf(p, 'rate'));
    const lo = s.tensor('lo', [1], bufOf(p, 'lo'));
    const hi = s.tensor('hi', [1], bufOf(p, 'hi'));
    const n = p.rows * p.bins;
    const y = s.tensor('y', [n]);
    s.fn({
      name: 'mel_edge',
      code: [
        'fn mel_edge(i: i32, lowMel: f32, step: f32, scale: f32) -> i32 {',
        '  let hz = 700.0 * (pow(10.0, (f32(i) * step + lowMel) / 2595.0) - 1.0);',
        '  return i32(floor(scale * hz));',
        '}',
      ].join('\n'),
    });
    return s.linear(n, [
      `let i = gi % ${int(p.bins)};`,
      `let j = gi / ${int(p.bins)};`,
      `let lowMel = 2595.0 * log(1.0 + ${lo.at('0')} / 700.0) / log(10.0);`,
      `let highMel = 2595.0 * log(1.0 + ${hi.at('0')} / 700.0) / log(10.0);`,
      `let step = (highMel - lowMel) / ${int(p.bins + 2)}.0;`,
      `let scale = f32(${len.atInt('0')} + 1) / f32(${rate.atInt('0')});`,
      'let e0 = mel_edge(i, lowMel, step, scale);',
      'let e1 = mel_edge(i + 1, lowMel, step, scale);',
      'let e2 = mel_edge(i + 2, lowMel, step, scale);',
      'var v = 0.0;',
      'if (e2 > e1 && j >= e1 && j < e2) { v = f32(e2 - j) / f32(e2 - e1); }',
      'else if (e1 == e0) { v = select(0.0, 1.0, j == e1); }',
      'else if (j >= e0 && j <= e1) { v = f32(j - e0) / f32(e1 - e0); }',
      y.store('gi', 'v'),
    ]);
  },
};

/** Kernels of this file. */
export const SIGNAL_KERNELS = [dftF32, stftF32, rangeB, fillB, melWeightF32] as const;
