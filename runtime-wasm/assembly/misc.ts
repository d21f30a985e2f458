/**
 * Small kernels of several op families, each as the reference computes it: Det (compiler/ops/matmul.ts,
 * LU with partial pivoting in f64), ReverseSequence (compiler/ops/shape.ts) and TensorScatter
 * (compiler/ops/attention.ts), the last two on elements of any size (1, 2, 4 or 8 bytes), and the
 * batch statistics of BatchNormalization in training mode (compiler/ops/norm.ts).
 *
 * Inputs the reference rejects by value (a sequence length or write position out of range) make
 * the output zeros: a kernel never writes outside its output.
 */
import { pa, pi } from './common';
import { copyElem, loadIndex, loadAsF64, storeFromF64 } from './dtype';

/**
 * det params: 0 x [batch, n, n], 1 y [batch], 2 dtype code (f32 or f64), 3 batch, 4 n, 5 scratch
 * (8 n^2 bytes). det = sign(permutation) * prod(U diagonal) of the LU decomposition with partial
 * pivoting (the largest |pivot| in its column, first on ties; a zero pivot gives 0).
 */
export function det(p: usize): void {
  const x = pa(p, 0), y = pa(p, 1), dt = pi(p, 2), batch = pi(p, 3), n = pi(p, 4), m = pa(p, 5);
  const nn = n * n;
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < nn; i++) store<f64>(m + (<usize>i << 3), loadAsF64(x, b * nn + i, dt));
    let d: f64 = 1;
    for (let c = 0; c < n; c++) {
      let pr = c;
      for (let r = c + 1; r < n; r++) {
        if (Math.abs(load<f64>(m + (<usize>(r * n + c) << 3))) > Math.abs(load<f64>(m + (<usize>(pr * n + c) << 3)))) pr = r;
      }
      const piv = load<f64>(m + (<usize>(pr * n + c) << 3));
      if (piv == 0) { d = 0; break; }
      if (pr != c) {
        for (let k = 0; k < n; k++) {
          const a = m + (<usize>(c * n + k) << 3), q = m + (<usize>(pr * n + k) << 3);
          const t = load<f64>(a);
          store<f64>(a, load<f64>(q));
          store<f64>(q, t);
        }
        d = -d;
      }
      d *= piv;
      for (let r = c + 1; r < n; r++) {
        const f = load<f64>(m + (<usize>(r * n + c) << 3)) / piv;
        if (f == 0) continue;
        for (let k = c + 1; k < n; k++) {
          const a = m + (<usize>(r * n + k) << 3);
          store<f64>(a, load<f64>(a) - f * load<f64>(m + (<usize>(c * n + k) << 3)));
        }
      }
    }
    storeFromF64(y, b, dt, d);
  }
}

/**
 * reverse_sequence params: 0 x, 1 y (same shape), 2 sequence_lens (one per batch entry), 3 its
 * kind (0 i32, 1 i64), 4 element size, 5 batch B, 6 time T, 7 batch stride, 8 time stride
 * (elements), 9 inner (elements per (batch, time) slice). y[b, t] = x[b, lens[b] - 1 - t] for
 * t < lens[b], else x[b, t]; a length outside [0, T] makes y zeros.
 */
export function reverse_sequence(p: usize): void {
  const x = pa(p, 0), y = pa(p, 1), lens = pa(p, 2), kind = pi(p, 3), es = pi(p, 4);
  const B = pi(p, 5), T = pi(p, 6), sb = pi(p, 7), stt = pi(p, 8), inner = pi(p, 9);
  const total = <usize>B * <usize>T * <usize>inner * <usize>es;
  for (let b = 0; b < B; b++) {
    const l = loadIndex(lens, b, kind);
    if (l < 0 || l > <i64>T) { memory.fill(y, 0, total); return; }
  }
  memory.copy(y, x, total);
  for (let b = 0; b < B; b++) {
    const l = <i32>loadIndex(lens, b, kind);
    for (let t = 0; t < l; t++) {
      const o = b * sb + t * stt, s = b * sb + (l - 1 - t) * stt;
      for (let i = 0; i < inner; i++) copyElem(y + <usize>(o + i) * es, x + <usize>(s + i) * es, es);
    }
  }
}

/**
 * tensor_scatter params: 0 past, 1 update, 2 y (past's shape; may be past's buffer), 3
 * write_indices (0: all zero), 4 its kind (0 i32, 1 i64), 5 element size, 6 batch B, 7 rows per
 * batch (outer / B), 8 past length Lmax on the axis, 9 update length Ls, 10 inner (elements after
 * the axis), 11 circular. y = past; y[o, pos(s)] = update[o, s] with pos = idx[b] + s (mod Lmax
 * when circular); a position outside [0, Lmax) makes y zeros.
 */
export function tensor_scatter(p: usize): void {
  const past = pa(p, 0), upd = pa(p, 1), y = pa(p, 2), idx = pa(p, 3), kind = pi(p, 4), es = pi(p, 5);
  const B = pi(p, 6), per = pi(p, 7), L = pi(p, 8), Ls = pi(p, 9), inner = pi(p, 10), circular = pi(p, 11) != 0;
  const total = <usize>B * <usize>per * <usize>L * <usize>inner * <usize>es;
  for (let b = 0; b < B; b++) {
    const i0: i64 = idx == 0 ? 0 : loadIndex(idx, b, kind);
    if (!circular && Ls > 0 && (i0 < 0 || i0 + <i64>Ls > <i64>L)) { memory.fill(y, 0, total); return; }
  }
  if (y != past) memory.copy(y, past, total);
  const row = <usize>inner * <usize>es;
  for (let o = 0; o < B * per; o++) {
    const b = o / per;
    const i0: i64 = idx == 0 ? 0 : loadIndex(idx, b, kind);
    for (let s = 0; s < Ls; s++) {
      let pos = i0 + <i64>s;
      if (circular) pos = ((pos % <i64>L) + <i64>L) % <i64>L;
      memory.copy(y + (<usize>o * <usize>L + <usize>pos) * row, upd + (<usize>o * <usize>Ls + <usize>s) * row, row);
    }
  }
}

/**
 * bn_train params: 0 x (f32 [N, C, S]), 1 N, 2 C, 3 S, 4 scale, 5 B, 6 input_mean, 7 input_var
 * (f32 [C]), 8 scale' out, 9 shift' out (f32 [C]: y = x scale' + shift'), 10 running_mean out,
 * 11 running_var out (0: not needed), 12 momentum (f32), 13 epsilon (f32). BatchNormalization in
 * training mode: the batch mean and (population) variance per channel in f64, scale' = s /
 * sqrt(var + eps), shift' = B - mean scale'; running = input * momentum + batch * (1 - momentum).
 */
export function bn_train(p: usize): void {
  const x = pa(p, 0), N = pi(p, 1), C = pi(p, 2), S = pi(p, 3), sc = pa(p, 4), bb = pa(p, 5), im = pa(p, 6), iv = pa(p, 7);
  const ks = pa(p, 8), kd = pa(p, 9), rm = pa(p, 10), rv = pa(p, 11);
  const mom = <f64>load<f32>(p + 48), eps = <f64>load<f32>(p + 52);
  const cnt = <f64>N * <f64>S;
  for (let c = 0; c < C; c++) {
    let sum: f64 = 0;
    for (let n = 0; n < N; n++) {
      const base = x + (<usize>(n * C + c) * <usize>S << 2);
      for (let i = 0; i < S; i++) sum += <f64>load<f32>(base + (<usize>i << 2));
    }
    const mean = sum / cnt;
    let ss: f64 = 0;
    for (let n = 0; n < N; n++) {
      const base = x + (<usize>(n * C + c) * <usize>S << 2);
      for (let i = 0; i < S; i++) { const d = <f64>load<f32>(base + (<usize>i << 2)) - mean; ss += d * d; }
    }
    const variance = ss / cnt;
    const o = <usize>c << 2;
    const k = <f64>load<f32>(sc + o) / Math.sqrt(variance + eps);
    store<f32>(ks + o, <f32>k);
    store<f32>(kd + o, <f32>(<f64>load<f32>(bb + o) - mean * k));
    if (rm != 0) store<f32>(rm + o, <f32>(<f64>load<f32>(im + o) * mom + mean * (1 - mom)));
    if (rv != 0) store<f32>(rv + o, <f32>(<f64>load<f32>(iv + o) * mom + variance * (1 - mom)));
  }
}
