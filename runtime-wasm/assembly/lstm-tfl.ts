/**
 * lstm_tfl_i8: edgec.TflLstm, TFLite Micro's integer UNIDIRECTIONAL_SEQUENCE_LSTM (compiler/ops/rnn.ts
 * is the specification): int8 input and hidden state, int16 gates and cell state, int8 weights,
 * int32 biases, TFLite's LUT sigmoid / tanh on int16 and MultiplyByQuantizedMultiplier
 * requantizations. Scalar code, one batch row at a time (rows are independent).
 */
import { pa, pi } from './common';
import { rqTflScalar } from './int8';

/** TFLite's int16 Logistic with multiplier 3 (Q3.12 in, Q0.15 out); `t` is the u16 table as i32 words. */
@inline function sigmoid16(t: usize, x: i32): i32 {
  const v = x * 3;
  const a = <u32>abs(v);
  const uh = a >> 9;
  let r: u32;
  if (uh >= 255) r = <u32>0x7fff << 10;
  else {
    const ua = <u32>load<i32>(t + (<usize>uh << 2)), ub = <u32>load<i32>(t + (<usize>(uh + 1) << 2));
    r = (ua << 9) + (a & 0x1ff) * (ub - ua);
  }
  r = v >= 0 ? r + (1 << 9) : (1 << 25) - r + (1 << 9) - 1;
  return <i32>(r >> 10);
}

/** TFLite's int16 Tanh for an input of scale 2^p (lstm_eval.cc's multiplier / shift from p). */
@inline function tanh16(t: usize, x: i32, p: i32): i32 {
  const l = 12 + p;
  const v = l >= 0 ? x * (3 << l) : (x * 3 + (1 << (-l - 1))) >> -l;
  const a = <u32>abs(v);
  const uh = a >> 8;
  let r: i32;
  if (uh >= 255) r = 0xffff << 8;
  else {
    const ua = <u32>load<i32>(t + (<usize>uh << 2)), ub = <u32>load<i32>(t + (<usize>(uh + 1) << 2));
    r = <i32>((ua << 8) + (a & 0xff) * (ub - ua));
  }
  r = v >= 0 ? r - (1 << 23) + (1 << 7) : -r + (1 << 23) + (1 << 7) - 1;
  return r >> 8;
}

@inline function sat16(v: i32): i32 {
  return v < -32768 ? -32768 : v > 32767 ? 32767 : v;
}

/**
 * Params: 0 X (i8), 1 W (i8 [4,H,I]), 2 R (i8 [4,H,H]), 3 bias (i32 [4,H]), 4 Y (i8), 5 scratch
 * (H + 10 H bytes), 6 table (256 i32), 7 T, 8 batch, 9 I, 10 H, 11 time major, 12 zx, 13 zh,
 * 14..17 input M, 18..21 input n, 22..25 recurrent M, 26..29 recurrent n, 30 forget*cell M, 31 n,
 * 32 input*cell-gate M, 33 n, 34 hidden M, 35 n, 36 cell scale power, 37 cell clip (0: none),
 * 38 cell gate sigmoid (else tanh).
 */
export function lstm_tfl_i8(p: usize): void {
  const X = pa(p, 0), W = pa(p, 1), R = pa(p, 2), BI = pa(p, 3), Y = pa(p, 4), S = pa(p, 5), TB = pa(p, 6);
  const T = pi(p, 7), NB = pi(p, 8), I = pi(p, 9), H = pi(p, 10), tm = pi(p, 11) != 0, zx = pi(p, 12), zh = pi(p, 13);
  const fcM = pi(p, 30), fcN = pi(p, 31), icM = pi(p, 32), icN = pi(p, 33), hM = pi(p, 34), hN = pi(p, 35);
  const pw = pi(p, 36), clip = pi(p, 37), cellSig = pi(p, 38) != 0;
  const h = S, c = S + <usize>H, gates = c + (<usize>H << 1); // gate g at gates + 2*H*g
  for (let b = 0; b < NB; b++) {
    for (let j = 0; j < H; j++) {
      store<i8>(h + <usize>j, <i8>zh);
      store<i16>(c + (<usize>j << 1), 0);
    }
    for (let t = 0; t < T; t++) {
      const row = tm ? t * NB + b : b * T + t;
      const x = X + <usize>(row * I);
      for (let g = 0; g < 4; g++) {
        const inM = pi(p, 14 + g), inN = pi(p, 18 + g), recM = pi(p, 22 + g), recN = pi(p, 26 + g);
        const go = gates + (<usize>(g * H) << 1);
        for (let j = 0; j < H; j++) {
          let acc = load<i32>(BI + (<usize>(g * H + j) << 2));
          const w = W + <usize>((g * H + j) * I);
          for (let k = 0; k < I; k++) acc += <i32>load<i8>(w + <usize>k) * (<i32>load<i8>(x + <usize>k) - zx);
          const u = rqTflScalar(acc, inM, inN, 0, -32768, 32767);
          let racc: i32 = 0;
          const rw = R + <usize>((g * H + j) * H);
          for (let k = 0; k < H; k++) racc += <i32>load<i8>(rw + <usize>k) * (<i32>load<i8>(h + <usize>k) - zh);
          const v = rqTflScalar(racc, recM, recN, 0, -32768, 32767);
          const s = sat16(u + v);
          store<i16>(go + (<usize>j << 1), <i16>(g == 2 && !cellSig ? tanh16(TB, s, -12) : sigmoid16(TB, s)));
        }
      }
      const gi = gates, gf = gates + (<usize>H << 1), gc = gates + (<usize>(2 * H) << 1), gout = gates + (<usize>(3 * H) << 1);
      const y = Y + <usize>(row * H);
      for (let j = 0; j < H; j++) {
        const o2 = <usize>j << 1;
        const fc = rqTflScalar(<i32>load<i16>(gf + o2) * <i32>load<i16>(c + o2), fcM, fcN, 0, -32768, 32767);
        const ic = rqTflScalar(<i32>load<i16>(gi + o2) * <i32>load<i16>(gc + o2), icM, icN, 0, -32768, 32767);
        let cn = sat16(fc + ic);
        if (clip > 0) cn = cn > clip ? clip : cn < -clip ? -clip : cn;
        store<i16>(c + o2, <i16>cn);
        const hv = rqTflScalar(tanh16(TB, cn, pw) * <i32>load<i16>(gout + o2), hM, hN, zh, -128, 127);
        store<i8>(h + <usize>j, <i8>hv);
        store<i8>(y + <usize>j, <i8>hv);
      }
    }
  }
}
