/**
 * Recurrent layers (ONNX RNN, GRU, LSTM), f32: one call runs one direction over the whole sequence.
 *
 * 1. Input projection for every time step and batch row as one GEMM on the SIMD GEMM path:
 *    XP[S*B, G*H] = X[S*B, I] * W^T + bx (bx = Wb + Rb, except the GRU h gate with
 *    linear_before_reset, whose Rb goes inside the reset product).
 * 2. Per step: the recurrent product h[B, H] * R^T (a GEMM with M = B, a SIMD GEMV when B = 1), then
 *    the gates, activations, clip and peepholes row by row. Batch rows at or past their sequence
 *    length are not updated (Y there is zero, Y_h / Y_c keep the last computed state); a reverse
 *    direction walks t = L_b - 1 ... 0 per row.
 *
 * Gate order of W / R / B rows: RNN [h]; GRU [z, r, h]; LSTM [i, o, f, c]; peepholes P = [Pi, Po, Pf].
 */
import { pa, pi, pf, unaryRange, sigmoidf, tanhf, ACT_SIGMOID, ACT_TANH } from './common';
import { gemmF32, BIAS_COL, BIAS_NONE } from './gemm';

const K_RNN: i32 = 0;
const K_GRU: i32 = 1;

const F_REVERSE: i32 = 1;
const F_LBR: i32 = 2;
const F_INPUT_FORGET: i32 = 4;
const F_CLIP: i32 = 8;

/** Activation codes beyond the shared unary codes (common.ts): ONNX RNN-only functions. */
const A_THRESHRELU: i32 = 28;
const A_AFFINE: i32 = 100;
const A_SCALEDTANH: i32 = 101;

/** Weight operand modes: raw ONNX [G*H, K] (transposed into scratch here), [K, G*H], or packed K x 8 panels. */
const W_RAW: i32 = 0;
const W_PACKED: i32 = 2;

/**
 * e^x on four lanes (Cephes expf: range reduction by ln 2 split in two, degree-6 polynomial,
 * ~1 ulp), x clamped to [-87.3, 88.3] so that 2^n stays a normal float; NaN stays NaN.
 */
@inline function expV(x: v128): v128 {
  x = f32x4.pmin(f32x4.pmax(x, f32x4.splat(-87.3)), f32x4.splat(88.3));
  const n = f32x4.nearest(f32x4.mul(x, f32x4.splat(1.44269504088896341)));
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  let q = f32x4.splat(1.9875691500e-4);
  q = f32x4.add(f32x4.mul(q, r), f32x4.splat(1.3981999507e-3));
  q = f32x4.add(f32x4.mul(q, r), f32x4.splat(8.3334519073e-3));
  q = f32x4.add(f32x4.mul(q, r), f32x4.splat(4.1665795894e-2));
  q = f32x4.add(f32x4.mul(q, r), f32x4.splat(1.6666665459e-1));
  q = f32x4.add(f32x4.mul(q, r), f32x4.splat(5.0000001201e-1));
  const y = f32x4.add(f32x4.add(f32x4.mul(q, f32x4.mul(r, r)), r), f32x4.splat(1));
  const pow2 = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  return f32x4.mul(y, pow2);
}

/** Sigmoid on four lanes: 1 / (1 + e^-|x|), mirrored for x < 0 (no overflow). */
@inline function sigmoidV(x: v128): v128 {
  const e = expV(f32x4.neg(f32x4.abs(x)));
  const s = f32x4.div(f32x4.splat(1), f32x4.add(f32x4.splat(1), e));
  return v128.bitselect(s, f32x4.mul(e, s), f32x4.ge(x, f32x4.splat(0)));
}

/** tanh on four lanes: (1 - e^-2|x|) / (1 + e^-2|x|) with the sign of x; x itself for |x| < 4e-4 (as tanhf). */
@inline function tanhV(x: v128): v128 {
  const ax = f32x4.abs(x);
  const t = expV(f32x4.mul(ax, f32x4.splat(-2)));
  const y = f32x4.div(f32x4.sub(f32x4.splat(1), t), f32x4.add(f32x4.splat(1), t));
  const signed = v128.or(y, v128.and(x, f32x4.splat(-0.0)));
  return v128.bitselect(x, signed, f32x4.lt(ax, f32x4.splat(0.0004)));
}

/** Applies RNN activation `code` (alpha a, beta b) in place over n floats at p. */
function actRange(code: i32, p: usize, n: i32, a: f32, b: f32): void {
  if (code == ACT_SIGMOID || code == ACT_TANH) {
    const sig = code == ACT_SIGMOID;
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const q = p + (<usize>i << 2);
      const v = v128.load(q);
      v128.store(q, sig ? sigmoidV(v) : tanhV(v));
    }
    for (; i < n; i++) {
      const q = p + (<usize>i << 2);
      const v = load<f32>(q);
      store<f32>(q, sig ? sigmoidf(v) : tanhf(v));
    }
  } else if (code == A_AFFINE) {
    for (let i = 0; i < n; i++) { const q = p + (<usize>i << 2); store<f32>(q, a * load<f32>(q) + b); }
  } else if (code == A_SCALEDTANH) {
    for (let i = 0; i < n; i++) { const q = p + (<usize>i << 2); store<f32>(q, a * <f32>Math.tanh(<f64>(b * load<f32>(q)))); }
  } else if (code == A_THRESHRELU) {
    for (let i = 0; i < n; i++) { const q = p + (<usize>i << 2); const x = load<f32>(q); store<f32>(q, x >= a ? x : <f32>0); }
  } else {
    unaryRange(code, p, p, n, a, b);
  }
}

/** Clamps n floats at p to [-c, c] (NaN kept). */
function clipRange(p: usize, n: i32, c: f32): void {
  const lo = f32x4.splat(-c), hi = f32x4.splat(c);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const q = p + (<usize>i << 2);
    v128.store(q, f32x4.pmin(f32x4.pmax(v128.load(q), lo), hi));
  }
  for (; i < n; i++) {
    const q = p + (<usize>i << 2);
    const x = load<f32>(q);
    store<f32>(q, x < -c ? -c : x > c ? c : x);
  }
}

/** d[i] = a[i] + b[i] for i < n (SIMD). */
function addRange(d: usize, a: usize, b: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(d + o, f32x4.add(v128.load(a + o), v128.load(b + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(d + o, load<f32>(a + o) + load<f32>(b + o));
  }
}

/** dst[K, N] = src[N, K]^T. */
function transposeInto(dst: usize, src: usize, N: i32, K: i32): void {
  for (let r = 0; r < N; r++) {
    for (let k = 0; k < K; k++) store<f32>(dst + ((<usize>k * <usize>N + <usize>r) << 2), load<f32>(src + ((<usize>r * <usize>K + <usize>k) << 2)));
  }
}

/**
 * Floats of scratch rnn_f32 needs (the lowering computes the same sum in targets/wasm/ops/rnn.ts):
 * XP S*B*GH, W^T I*GH (raw W only), R^T H*GH (raw R only), bx and br 2*GH, h and c 2*B*H,
 * recurrent product B*GH, reset product B*H, gate row GH + H, GEMM panel max(I, H) * 8.
 */
export function rnnScratchFloats(S: i32, B: i32, I: i32, H: i32, G: i32, wRaw: bool, rRaw: bool): i32 {
  const GH = G * H;
  return S * B * GH + (wRaw ? I * GH : 0) + (rRaw ? H * GH : 0) + 2 * GH + 2 * B * H + B * GH + B * H + GH + H + (I > H ? I : H) * 8;
}

/**
 * rnn_f32: one direction of an RNN / GRU / LSTM layer over the whole sequence.
 * Params: 0 kind (0 RNN, 1 GRU, 2 LSTM), 1 flags (1 reverse, 2 linear_before_reset, 4 input_forget,
 * 8 clip), 2 S, 3 B, 4 I, 5 H, 6 X (S*B rows of I floats), 7 X row step per t, 8 X row step per b
 * (rows), 9 W, 10 W mode (0 raw [GH, I], 1 [I, GH], 2 [I, GH] packed in K x 8 panels), 11 R,
 * 12 R mode (as W with K = H; a GRU without linear_before_reset splits the [H, GH] form into
 * columns [0, 2H) and [2H, 3H), packed separately in mode 2), 13 B ([2*GH]: Wb then Rb; 0 none),
 * 14 P ([3H]; 0 none), 15 sequence_lens (i32 [B]; 0 none), 16 initial_h (0: zeros), 17 its batch
 * stride, 18 initial_c, 19 its batch stride, 20 Y (0 none), 21 Y t stride, 22 Y b stride,
 * 23 Y_h (0 none), 24 Y_h b stride, 25 Y_c (0 none), 26 Y_c b stride (strides in elements),
 * 27 clip (f32), 28-30 f (code, alpha, beta), 31-33 g, 34-36 h, 37 scratch (rnnScratchFloats floats).
 */
export function rnn_f32(p: usize): void {
  const kind = pi(p, 0), flags = pi(p, 1);
  const S = pi(p, 2), B = pi(p, 3), I = pi(p, 4), H = pi(p, 5);
  const X = pa(p, 6), xt = pi(p, 7), xb = pi(p, 8);
  const W = pa(p, 9), wMode = pi(p, 10), R = pa(p, 11), rMode = pi(p, 12);
  const Bias = pa(p, 13), P = pa(p, 14), lens = pa(p, 15);
  const h0 = pa(p, 16), h0b = pi(p, 17), c0 = pa(p, 18), c0b = pi(p, 19);
  const Y = pa(p, 20), yt = pi(p, 21), yb = pi(p, 22);
  const Yh = pa(p, 23), yhb = pi(p, 24), Yc = pa(p, 25), ycb = pi(p, 26);
  const clip = pf(p, 27), hasClip = (flags & F_CLIP) != 0;
  const fc = pi(p, 28), fa = pf(p, 29), fb = pf(p, 30);
  const gc = pi(p, 31), ga = pf(p, 32), gb = pf(p, 33);
  const hc = pi(p, 34), ha = pf(p, 35), hb = pf(p, 36);
  const reverse = (flags & F_REVERSE) != 0, lbr = (flags & F_LBR) != 0, inputForget = (flags & F_INPUT_FORGET) != 0;
  const G = kind == K_RNN ? 1 : kind == K_GRU ? 3 : 4;
  const GH = G * H;
  const gruSplit = kind == K_GRU && !lbr;
  const inf: f32 = <f32>Infinity;

  // scratch layout (rnnScratchFloats)
  let s = pa(p, 37);
  const xp = s; s += <usize>S * <usize>B * <usize>GH << 2;
  let Wt = W;
  if (wMode == W_RAW) { Wt = s; s += <usize>I * <usize>GH << 2; transposeInto(Wt, W, GH, I); }
  let Rt = R;
  if (rMode == W_RAW) { Rt = s; s += <usize>H * <usize>GH << 2; transposeInto(Rt, R, GH, H); }
  const bx = s; s += <usize>GH << 2;
  const br = s; s += <usize>GH << 2;
  const hs = s; s += <usize>B * <usize>H << 2;
  const cs = s; s += <usize>B * <usize>H << 2;
  const rec = s; s += <usize>B * <usize>GH << 2;
  const rh = s; s += <usize>B * <usize>H << 2;
  const row = s; s += <usize>(GH + H) << 2;
  const pack = s;
  const wPacked = wMode == W_PACKED, rPacked = rMode == W_PACKED;
  const ldr = rPacked ? 0 : GH;
  // second R operand of a split GRU: columns [2H, 3H) of R^T
  const Rt2 = rPacked ? Rt + (<usize>((2 * H + 7) >> 3) * <usize>H * 32) : Rt + (<usize>(2 * H) << 2);

  // biases: bx into the projection, br inside the GRU reset product (linear_before_reset)
  for (let r = 0; r < GH; r++) {
    const wb: f32 = Bias != 0 ? load<f32>(Bias + (<usize>r << 2)) : 0;
    const rb: f32 = Bias != 0 ? load<f32>(Bias + (<usize>(GH + r) << 2)) : 0;
    const inside = kind == K_GRU && lbr && r >= 2 * H;
    store<f32>(bx + (<usize>r << 2), inside ? wb : wb + rb);
    store<f32>(br + (<usize>r << 2), inside ? rb : 0);
  }
  if (S > 0 && B > 0) gemmF32(X, I, Wt, GH, xp, GH, S * B, GH, I, 1, bx, BIAS_COL, -inf, inf, pack, wPacked);

  // initial states and lengths
  let Lmax = 0;
  for (let b = 0; b < B; b++) {
    const hb0 = hs + (<usize>(b * H) << 2), cb0 = cs + (<usize>(b * H) << 2);
    if (h0 != 0) memory.copy(hb0, h0 + (<usize>(b * h0b) << 2), <usize>H << 2); else memory.fill(hb0, 0, <usize>H << 2);
    if (c0 != 0) memory.copy(cb0, c0 + (<usize>(b * c0b) << 2), <usize>H << 2); else memory.fill(cb0, 0, <usize>H << 2);
    const L = seqLen(lens, b, S);
    if (L > Lmax) Lmax = L;
    if (Y != 0) for (let t = L; t < S; t++) memory.fill(Y + (<usize>(t * yt + b * yb) << 2), 0, <usize>H << 2);
  }

  for (let step = 0; step < Lmax; step++) {
    // recurrent product h * R^T (a split GRU: z and r columns only, the h column after the reset)
    gemmF32(hs, H, Rt, ldr, rec, GH, B, gruSplit ? 2 * H : GH, H, 1, 0, BIAS_NONE, -inf, inf, pack, rPacked);
    if (gruSplit) {
      for (let b = 0; b < B; b++) {
        const hp = hs + (<usize>(b * H) << 2), rp = rec + (<usize>(b * GH) << 2), q = rh + (<usize>(b * H) << 2);
        const L = seqLen(lens, b, S);
        if (step >= L) { memory.fill(q, 0, <usize>H << 2); continue; }
        const t = reverse ? L - 1 - step : step;
        const x = xp + (<usize>(t * xt + b * xb) * <usize>GH << 2);
        addRange(rp, rp, x, 2 * H);
        if (hasClip) clipRange(rp, 2 * H, clip);
        actRange(fc, rp, 2 * H, fa, fb);
        for (let j = 0; j < H; j++) store<f32>(q + (<usize>j << 2), load<f32>(rp + (<usize>(H + j) << 2)) * load<f32>(hp + (<usize>j << 2)));
      }
      gemmF32(rh, H, Rt2, ldr, rec + (<usize>(2 * H) << 2), GH, B, H, H, 1, 0, BIAS_NONE, -inf, inf, pack, rPacked);
    }
    for (let b = 0; b < B; b++) {
      const L = seqLen(lens, b, S);
      if (step >= L) continue;
      const t = reverse ? L - 1 - step : step;
      const x = xp + (<usize>(t * xt + b * xb) * <usize>GH << 2);
      const rp = rec + (<usize>(b * GH) << 2);
      const hp = hs + (<usize>(b * H) << 2);
      if (kind == K_RNN) {
        addRange(hp, x, rp, H);
        if (hasClip) clipRange(hp, H, clip);
        actRange(fc, hp, H, fa, fb);
      } else if (kind == K_GRU) {
        const hh = row + (<usize>(2 * H) << 2);
        if (gruSplit) {
          // rp[0, 2H) holds z and r already; rp[2H, 3H) = (r . h) * Rh^T
          addRange(hh, x + (<usize>(2 * H) << 2), rp + (<usize>(2 * H) << 2), H);
          memory.copy(row, rp, <usize>H << 2);
        } else {
          addRange(row, x, rp, 2 * H);
          if (hasClip) clipRange(row, 2 * H, clip);
          actRange(fc, row, 2 * H, fa, fb);
          for (let j = 0; j < H; j++) {
            const o = <usize>(2 * H + j) << 2;
            store<f32>(row + o, load<f32>(x + o) + load<f32>(row + (<usize>(H + j) << 2)) * (load<f32>(rp + o) + load<f32>(br + o)));
          }
        }
        if (hasClip) clipRange(hh, H, clip);
        actRange(gc, hh, H, ga, gb);
        for (let j = 0; j < H; j++) {
          const o = <usize>j << 2;
          const z = load<f32>(row + o);
          store<f32>(hp + o, (<f32>1 - z) * load<f32>(hh + o) + z * load<f32>(hp + o));
        }
      } else {
        lstmRow(row, x, rp, hp, cs + (<usize>(b * H) << 2), P, H, hasClip, clip, inputForget, fc, fa, fb, gc, ga, gb, hc, ha, hb);
      }
      if (Y != 0) memory.copy(Y + (<usize>(t * yt + b * yb) << 2), hp, <usize>H << 2);
    }
  }
  for (let b = 0; b < B; b++) {
    if (Yh != 0) memory.copy(Yh + (<usize>(b * yhb) << 2), hs + (<usize>(b * H) << 2), <usize>H << 2);
    if (Yc != 0) memory.copy(Yc + (<usize>(b * ycb) << 2), cs + (<usize>(b * H) << 2), <usize>H << 2);
  }
}

/** Sequence length of batch row b (clamped to [0, S]; S without sequence_lens). */
@inline function seqLen(lens: usize, b: i32, S: i32): i32 {
  if (lens == 0) return S;
  const L = load<i32>(lens + (<usize>b << 2));
  return L < 0 ? 0 : L > S ? S : L;
}

/**
 * One LSTM step of one batch row: row (GH + H floats) holds the gate pre-activations, x the
 * projected input (bias included), rp the recurrent product; hp / cp are updated in place.
 */
function lstmRow(row: usize, x: usize, rp: usize, hp: usize, cp: usize, P: usize, H: i32, hasClip: bool, clip: f32,
  inputForget: bool, fc: i32, fa: f32, fb: f32, gc: i32, ga: f32, gb: f32, hc: i32, ha: f32, hb: f32): void {
  const ip = row, op = row + (<usize>H << 2), fp = row + (<usize>(2 * H) << 2), gp = row + (<usize>(3 * H) << 2);
  const tmp = row + (<usize>(4 * H) << 2);
  addRange(row, x, rp, 4 * H);
  if (P != 0) {
    for (let j = 0; j < H; j++) {
      const o = <usize>j << 2;
      const c = load<f32>(cp + o);
      store<f32>(ip + o, load<f32>(ip + o) + load<f32>(P + o) * c);
      store<f32>(fp + o, load<f32>(fp + o) + load<f32>(P + (<usize>(2 * H) << 2) + o) * c);
    }
  }
  if (hasClip) {
    clipRange(ip, H, clip);
    clipRange(fp, 2 * H, clip); // f and c gates
  }
  actRange(fc, ip, H, fa, fb);
  if (inputForget) {
    for (let j = 0; j < H; j++) store<f32>(fp + (<usize>j << 2), <f32>1 - load<f32>(ip + (<usize>j << 2)));
  } else {
    actRange(fc, fp, H, fa, fb);
  }
  actRange(gc, gp, H, ga, gb);
  for (let j = 0; j < H; j++) {
    const o = <usize>j << 2;
    const C = load<f32>(fp + o) * load<f32>(cp + o) + load<f32>(ip + o) * load<f32>(gp + o);
    store<f32>(cp + o, C);
    store<f32>(tmp + o, C);
    if (P != 0) store<f32>(op + o, load<f32>(op + o) + load<f32>(P + (<usize>H << 2) + o) * C);
  }
  if (hasClip) clipRange(op, H, clip);
  actRange(fc, op, H, fa, fb);
  actRange(hc, tmp, H, ha, hb);
  for (let j = 0; j < H; j++) {
    const o = <usize>j << 2;
    store<f32>(hp + o, load<f32>(op + o) * load<f32>(tmp + o));
  }
}
