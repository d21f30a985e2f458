/**
 * Recurrent layers (ONNX RNN, GRU, LSTM), f32: one call runs one direction over the whole sequence.
 *
 * 1. Input projection for every time step and batch row as one GEMM on the SIMD GEMM path:
 *    XP[S*B, G*H] = X[S*B, I] * W^T + bx (bx = Wb + Rb, except the GRU h gate with
 *    linear_before_reset, whose Rb goes inside the reset product).
 * 2. Per step: the recurrent product h[B, H] * R^T: with B < 4 and constant R, one GEMV per batch
 *    row over R pre-packed in 28-column chunks (gemvChunks: one h[k] broadcast feeds 7 accumulators,
 *    which start from the projected input), else a GEMM with M = B. Then the gates, activations,
 *    clip and peepholes row by row, fused in one pass for the default sigmoid / tanh activations. Batch rows at or past their sequence
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

/**
 * Weight operand modes: raw ONNX [G*H, K] (transposed into scratch here), [K, G*H], packed K x 8
 * panels (the GEMM's), or (R only, B < 4) the W_GEMV chunks of gemvChunks.
 */
const W_RAW: i32 = 0;
const W_PACKED: i32 = 2;
const W_GEMV: i32 = 3;

// Every v128 use below sits in an `if (ASC_FEATURE_SIMD)` block whose scalar counterpart (the
// same operations in the same order, lane by lane) gives bit-identical results, so this file also
// builds without SIMD. The scalar forms are also the SIMD loops' tails.

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

/** expV on one float (the same operations: bit-identical to a lane of expV). */
@inline function expS(x: f32): f32 {
  x = x < <f32>-87.3 ? <f32>-87.3 : x; // pmax
  x = <f32>88.3 < x ? <f32>88.3 : x; // pmin
  const n = nearest<f32>(x * <f32>1.44269504088896341);
  let r = x - n * <f32>0.693359375;
  r = r - n * <f32>-2.12194440e-4;
  let q = <f32>1.9875691500e-4;
  q = q * r + <f32>1.3981999507e-3;
  q = q * r + <f32>8.3334519073e-3;
  q = q * r + <f32>4.1665795894e-2;
  q = q * r + <f32>1.6666665459e-1;
  q = q * r + <f32>5.0000001201e-1;
  const y = q * (r * r) + r + <f32>1;
  const ni: i32 = n != n ? 0 : <i32>n; // trunc_sat: NaN -> 0
  return y * reinterpret<f32>((ni + 127) << 23);
}

/** Sigmoid on four lanes: 1 / (1 + e^-|x|), mirrored for x < 0 (no overflow). */
@inline function sigmoidV(x: v128): v128 {
  const e = expV(f32x4.neg(f32x4.abs(x)));
  const s = f32x4.div(f32x4.splat(1), f32x4.add(f32x4.splat(1), e));
  return v128.bitselect(s, f32x4.mul(e, s), f32x4.ge(x, f32x4.splat(0)));
}

/** sigmoidV on one float. */
@inline function sigmoidS(x: f32): f32 {
  const e = expS(-Mathf.abs(x));
  const s = <f32>1 / (<f32>1 + e);
  return x >= 0 ? s : e * s;
}

/** tanh on four lanes: (1 - e^-2|x|) / (1 + e^-2|x|) with the sign of x; x itself for |x| < 4e-4 (as tanhf). */
@inline function tanhV(x: v128): v128 {
  const ax = f32x4.abs(x);
  const t = expV(f32x4.mul(ax, f32x4.splat(-2)));
  const y = f32x4.div(f32x4.sub(f32x4.splat(1), t), f32x4.add(f32x4.splat(1), t));
  const signed = v128.or(y, v128.and(x, f32x4.splat(-0.0)));
  return v128.bitselect(x, signed, f32x4.lt(ax, f32x4.splat(0.0004)));
}

/** tanhV on one float. */
@inline function tanhS(x: f32): f32 {
  const ax = Mathf.abs(x);
  const t = expS(ax * <f32>-2);
  const y = (<f32>1 - t) / (<f32>1 + t);
  return ax < <f32>0.0004 ? x : copysign<f32>(y, x);
}

/** Clamps to [lo, hi] as f32x4.pmin(f32x4.pmax(x, lo), hi) does (NaN kept). */
@inline function clampS(x: f32, lo: f32, hi: f32): f32 {
  x = x < lo ? lo : x;
  return hi < x ? hi : x;
}

/** Applies RNN activation `code` (alpha a, beta b) in place over n floats at p. */
function actRange(code: i32, p: usize, n: i32, a: f32, b: f32): void {
  if (code == ACT_SIGMOID || code == ACT_TANH) {
    const sig = code == ACT_SIGMOID;
    let i = 0;
    if (ASC_FEATURE_SIMD) {
      for (; i + 4 <= n; i += 4) {
        const q = p + (<usize>i << 2);
        const v = v128.load(q);
        v128.store(q, sig ? sigmoidV(v) : tanhV(v));
      }
    }
    for (; i < n; i++) {
      const q = p + (<usize>i << 2);
      const v = load<f32>(q);
      store<f32>(q, sig ? sigmoidS(v) : tanhS(v));
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
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const lo = f32x4.splat(-c), hi = f32x4.splat(c);
    for (; i + 4 <= n; i += 4) {
      const q = p + (<usize>i << 2);
      v128.store(q, f32x4.pmin(f32x4.pmax(v128.load(q), lo), hi));
    }
  }
  for (; i < n; i++) {
    const q = p + (<usize>i << 2);
    store<f32>(q, clampS(load<f32>(q), -c, c));
  }
}

/** d[i] = a[i] + b[i] for i < n. */
function addRange(d: usize, a: usize, b: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(d + o, f32x4.add(v128.load(a + o), v128.load(b + o)));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(d + o, load<f32>(a + o) + load<f32>(b + o));
  }
}

/**
 * Columns of one chunk of the W_GEMV layout: seven 4-lane accumulators (measured on V8 / x64:
 * 4 accumulators reach ~36 GFLOP/s, 6 ~41, 7 ~45, and 8 run at half speed).
 */
const CHUNK: i32 = 28;

/** The first cnt floats at p (cnt < 4: the rest zero; never reads past them). */
@inline function loadPart(p: usize, cnt: i32): v128 {
  if (cnt >= 4) return v128.load(p);
  let v = f32x4.splat(0);
  if (cnt > 0) v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (cnt > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (cnt > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}

/** Stores the first cnt lanes of v at p (never writes past them). */
@inline function storePart(p: usize, v: v128, cnt: i32): void {
  if (cnt >= 4) { v128.store(p, v); return; }
  if (cnt > 0) store<f32>(p, f32x4.extract_lane(v, 0));
  if (cnt > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
  if (cnt > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
}

/**
 * out[n] = init[n] + sum_k h[k] * W[k, n] for n < N (init 0: zeros), W in the W_GEMV layout: the
 * columns in chunks of 28, each chunk stored [K][28] (the last one zero-padded), so one broadcast
 * h[k] feeds seven 4-lane accumulators and the weights stream contiguously. Each output sums k in
 * order, so SIMD and scalar agree bit for bit.
 */
export function gemvChunks(h: usize, W: usize, out: usize, init: usize, N: i32, K: i32): void {
  const chunkBytes = <usize>K * <usize>(CHUNK << 2);
  if (ASC_FEATURE_SIMD) {
    for (let n = 0, w0 = W; n < N; n += CHUNK, w0 += chunkBytes) {
      const cnt = N - n, o = <usize>n << 2;
      let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0;
      if (init != 0) {
        const ip = init + o;
        a0 = loadPart(ip, cnt); a1 = loadPart(ip + 16, cnt - 4); a2 = loadPart(ip + 32, cnt - 8);
        a3 = loadPart(ip + 48, cnt - 12); a4 = loadPart(ip + 64, cnt - 16); a5 = loadPart(ip + 80, cnt - 20);
        a6 = loadPart(ip + 96, cnt - 24);
      }
      let w = w0, hp = h;
      for (let k = 0; k < K; k++) {
        const x = v128.load32_splat(hp);
        a0 = f32x4.add(a0, f32x4.mul(x, v128.load(w)));
        a1 = f32x4.add(a1, f32x4.mul(x, v128.load(w, 16)));
        a2 = f32x4.add(a2, f32x4.mul(x, v128.load(w, 32)));
        a3 = f32x4.add(a3, f32x4.mul(x, v128.load(w, 48)));
        a4 = f32x4.add(a4, f32x4.mul(x, v128.load(w, 64)));
        a5 = f32x4.add(a5, f32x4.mul(x, v128.load(w, 80)));
        a6 = f32x4.add(a6, f32x4.mul(x, v128.load(w, 96)));
        w += CHUNK << 2; hp += 4;
      }
      const op = out + o;
      storePart(op, a0, cnt); storePart(op + 16, a1, cnt - 4); storePart(op + 32, a2, cnt - 8);
      storePart(op + 48, a3, cnt - 12); storePart(op + 64, a4, cnt - 16); storePart(op + 80, a5, cnt - 20);
      storePart(op + 96, a6, cnt - 24);
    }
  } else {
    for (let n = 0; n < N; n++) {
      let a: f32 = init != 0 ? load<f32>(init + (<usize>n << 2)) : 0;
      let w = W + <usize>(n / CHUNK) * chunkBytes + (<usize>(n % CHUNK) << 2), hp = h;
      for (let k = 0; k < K; k++) {
        a = a + load<f32>(hp) * load<f32>(w);
        w += CHUNK << 2; hp += 4;
      }
      store<f32>(out + (<usize>n << 2), a);
    }
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
 * 12 R mode (as W with K = H, or 3: the W_GEMV chunks of gemvChunks, for B < 4; a GRU without
 * linear_before_reset splits the [H, GH] form into columns [0, 2H) and [2H, 3H), packed separately
 * in modes 2 and 3), 13 B ([2*GH]: Wb then Rb; 0 none),
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
  const Rt2 = rPacked ? Rt + (<usize>((2 * H + 7) >> 3) * <usize>H * 32)
    : rMode == W_GEMV ? Rt + (<usize>((2 * H + CHUNK - 1) / CHUNK) * <usize>H * <usize>(CHUNK << 2)) : Rt + (<usize>(2 * H) << 2);

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

  const gemv = rMode == W_GEMV;
  const sigTanh = fc == ACT_SIGMOID && gc == ACT_TANH; // the default gate activations (fused code)
  for (let step = 0; step < Lmax; step++) {
    if (!gemv) {
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
          gruResetRow(rp, hp, q, H, hasClip, clip, fc, fa, fb);
        }
        gemmF32(rh, H, Rt2, ldr, rec + (<usize>(2 * H) << 2), GH, B, H, H, 1, 0, BIAS_NONE, -inf, inf, pack, rPacked);
      }
    }
    for (let b = 0; b < B; b++) {
      const L = seqLen(lens, b, S);
      if (step >= L) continue;
      const t = reverse ? L - 1 - step : step;
      const x = xp + (<usize>(t * xt + b * xb) * <usize>GH << 2);
      const rp = rec + (<usize>(b * GH) << 2);
      const hp = hs + (<usize>(b * H) << 2);
      // xin: the projected input still to add to rp (0: the W_GEMV product started from it)
      let xin = x;
      if (gemv) {
        if (gruSplit) {
          const q = rh + (<usize>(b * H) << 2);
          gemvChunks(hp, Rt, rp, x, 2 * H, H);
          gruResetRow(rp, hp, q, H, hasClip, clip, fc, fa, fb);
          gemvChunks(q, Rt2, rp + (<usize>(2 * H) << 2), x + (<usize>(2 * H) << 2), H, H);
          xin = 0;
        } else if (kind == K_GRU) {
          gemvChunks(hp, Rt, rp, 0, GH, H); // linear_before_reset: x stays outside the reset product
        } else {
          gemvChunks(hp, Rt, rp, x, GH, H);
          xin = 0;
        }
      }
      if (kind == K_RNN) {
        if (xin != 0) addRange(hp, xin, rp, H); else memory.copy(hp, rp, <usize>H << 2);
        if (hasClip) clipRange(hp, H, clip);
        actRange(fc, hp, H, fa, fb);
      } else if (kind == K_GRU) {
        const hh = row + (<usize>(2 * H) << 2);
        if (gruSplit) {
          // rp[0, 2H) holds z and r already; rp[2H, 3H) = (r . h) * Rh^T (+ x_h when xin = 0)
          if (xin != 0) addRange(hh, xin + (<usize>(2 * H) << 2), rp + (<usize>(2 * H) << 2), H);
          else memory.copy(hh, rp + (<usize>(2 * H) << 2), <usize>H << 2);
          memory.copy(row, rp, <usize>H << 2);
        } else if (sigTanh) {
          gruLbrFused(x, rp, br, hp, H, hasClip, clip);
          if (Y != 0) memory.copy(Y + (<usize>(t * yt + b * yb) << 2), hp, <usize>H << 2);
          continue;
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
        const cp = cs + (<usize>(b * H) << 2);
        if (sigTanh && hc == ACT_TANH) {
          let pre = rp;
          if (xin != 0) { addRange(row, xin, rp, 4 * H); pre = row; }
          lstmFused(pre, hp, cp, P, H, hasClip, clip, inputForget);
        } else {
          lstmRow(row, xin, rp, hp, cp, P, H, hasClip, clip, inputForget, fc, fa, fb, gc, ga, gb, hc, ha, hb);
        }
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
 * projected input (bias included; 0 when rp includes it already), rp the recurrent product; hp / cp
 * are updated in place.
 */
function lstmRow(row: usize, x: usize, rp: usize, hp: usize, cp: usize, P: usize, H: i32, hasClip: bool, clip: f32,
  inputForget: bool, fc: i32, fa: f32, fb: f32, gc: i32, ga: f32, gb: f32, hc: i32, ha: f32, hb: f32): void {
  const ip = row, op = row + (<usize>H << 2), fp = row + (<usize>(2 * H) << 2), gp = row + (<usize>(3 * H) << 2);
  const tmp = row + (<usize>(4 * H) << 2);
  if (x != 0) addRange(row, x, rp, 4 * H); else memory.copy(row, rp, <usize>(4 * H) << 2);
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

/**
 * The first half of a GRU step without linear_before_reset: rp[0, 2H) (z and r pre-activations,
 * input included) through clip and f in place, then q = r . h (the input of the h-gate product).
 */
function gruResetRow(rp: usize, hp: usize, q: usize, H: i32, hasClip: bool, clip: f32, fc: i32, fa: f32, fb: f32): void {
  if (hasClip) clipRange(rp, 2 * H, clip);
  actRange(fc, rp, 2 * H, fa, fb);
  const r = rp + (<usize>H << 2);
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    for (; j + 4 <= H; j += 4) {
      const o = <usize>j << 2;
      v128.store(q + o, f32x4.mul(v128.load(r + o), v128.load(hp + o)));
    }
  }
  for (; j < H; j++) {
    const o = <usize>j << 2;
    store<f32>(q + o, load<f32>(r + o) * load<f32>(hp + o));
  }
}

/**
 * One GRU step (linear_before_reset, f = sigmoid, g = tanh) of one batch row, fused in one pass:
 * z = f(x_z + rp_z), r = f(x_r + rp_r), n = g(x_h + r . (rp_h + br_h)), h = (1 - z) . n + z . h
 * (each pre-activation clipped first when hasClip); the same arithmetic as the unfused path.
 */
export function gruLbrFused(x: usize, rp: usize, br: usize, hp: usize, H: i32, hasClip: bool, clip: f32): void {
  const hB = <usize>H << 2, h2B = <usize>(2 * H) << 2;
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    const lo = f32x4.splat(hasClip ? -clip : <f32>-Infinity), hi = f32x4.splat(hasClip ? clip : <f32>Infinity);
    const one = f32x4.splat(1);
    for (; j + 4 <= H; j += 4) {
      const o = <usize>j << 2;
      const z = sigmoidV(f32x4.pmin(f32x4.pmax(f32x4.add(v128.load(x + o), v128.load(rp + o)), lo), hi));
      const r = sigmoidV(f32x4.pmin(f32x4.pmax(f32x4.add(v128.load(x + hB + o), v128.load(rp + hB + o)), lo), hi));
      const pre = f32x4.add(v128.load(x + h2B + o), f32x4.mul(r, f32x4.add(v128.load(rp + h2B + o), v128.load(br + h2B + o))));
      const n = tanhV(f32x4.pmin(f32x4.pmax(pre, lo), hi));
      v128.store(hp + o, f32x4.add(f32x4.mul(f32x4.sub(one, z), n), f32x4.mul(z, v128.load(hp + o))));
    }
  }
  const lo: f32 = hasClip ? -clip : <f32>-Infinity, hi: f32 = hasClip ? clip : <f32>Infinity;
  for (; j < H; j++) {
    const o = <usize>j << 2;
    const z = sigmoidS(clampS(load<f32>(x + o) + load<f32>(rp + o), lo, hi));
    const r = sigmoidS(clampS(load<f32>(x + hB + o) + load<f32>(rp + hB + o), lo, hi));
    const n = tanhS(clampS(load<f32>(x + h2B + o) + r * (load<f32>(rp + h2B + o) + load<f32>(br + h2B + o)), lo, hi));
    store<f32>(hp + o, (<f32>1 - z) * n + z * load<f32>(hp + o));
  }
}

/**
 * One LSTM step (f = sigmoid, g = h = tanh) of one batch row, fused in one pass over the hidden
 * units: pre holds the 4H gate pre-activations [i, o, f, c] (input and recurrent product summed);
 * peepholes, clip and input_forget as in lstmRow, with the same arithmetic.
 */
export function lstmFused(pre: usize, hp: usize, cp: usize, P: usize, H: i32, hasClip: bool, clip: f32, inputForget: bool): void {
  const hB = <usize>H << 2, h2B = <usize>(2 * H) << 2, h3B = <usize>(3 * H) << 2;
  const peep = P != 0;
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    const lo = f32x4.splat(hasClip ? -clip : <f32>-Infinity), hi = f32x4.splat(hasClip ? clip : <f32>Infinity);
    const one = f32x4.splat(1);
    for (; j + 4 <= H; j += 4) {
      const o = <usize>j << 2;
      const c = v128.load(cp + o);
      let iv = v128.load(pre + o), fv = v128.load(pre + h2B + o);
      if (peep) {
        iv = f32x4.add(iv, f32x4.mul(v128.load(P + o), c));
        fv = f32x4.add(fv, f32x4.mul(v128.load(P + h2B + o), c));
      }
      const ig = sigmoidV(f32x4.pmin(f32x4.pmax(iv, lo), hi));
      const fg = inputForget ? f32x4.sub(one, ig) : sigmoidV(f32x4.pmin(f32x4.pmax(fv, lo), hi));
      const gg = tanhV(f32x4.pmin(f32x4.pmax(v128.load(pre + h3B + o), lo), hi));
      const C = f32x4.add(f32x4.mul(fg, c), f32x4.mul(ig, gg));
      v128.store(cp + o, C);
      let ov = v128.load(pre + hB + o);
      if (peep) ov = f32x4.add(ov, f32x4.mul(v128.load(P + hB + o), C));
      v128.store(hp + o, f32x4.mul(sigmoidV(f32x4.pmin(f32x4.pmax(ov, lo), hi)), tanhV(C)));
    }
  }
  const lo: f32 = hasClip ? -clip : <f32>-Infinity, hi: f32 = hasClip ? clip : <f32>Infinity;
  for (; j < H; j++) {
    const o = <usize>j << 2;
    const c = load<f32>(cp + o);
    let iv = load<f32>(pre + o), fv = load<f32>(pre + h2B + o);
    if (peep) {
      iv = iv + load<f32>(P + o) * c;
      fv = fv + load<f32>(P + h2B + o) * c;
    }
    const ig = sigmoidS(clampS(iv, lo, hi));
    const fg = inputForget ? <f32>1 - ig : sigmoidS(clampS(fv, lo, hi));
    const gg = tanhS(clampS(load<f32>(pre + h3B + o), lo, hi));
    const C = fg * c + ig * gg;
    store<f32>(cp + o, C);
    let ov = load<f32>(pre + hB + o);
    if (peep) ov = ov + load<f32>(P + hB + o) * C;
    store<f32>(hp + o, sigmoidS(clampS(ov, lo, hi)) * tanhS(C));
  }
}
