/**
 * LinearAttention (compiler/ops/attention.ts is the spec): the recurrent state S (d_k x d_v per KV
 * head) in f64 scratch, stepped through the sequence exactly as the reference does:
 *   gated rules: S *= exp(decay_t) (per head or per key dim);
 *   delta rules: v_t = beta_t * (v_t - S^T (erase_t * k_t));
 *   S += k_t v_t^T;  o_t = scale * q_t^T S (query head h reads KV head floor(h / group)).
 * Tensors are f32 or f64 (dtype codes of dtype.ts); the results round once to their dtype.
 */
import { pa, pf, pi } from './common';
import { loadAsF64, storeFromF64 } from './dtype';

/** Gate layouts of the decay / beta / erase_gate inputs ([B, T, n]). */
const G_NONE = 0, G_HEAD_DIM = 1, G_HEAD = 2, G_STEP = 3;

@inline function gate(x: usize, dt: i32, mode: i32, last: i32, b: i32, T: i32, s: i32, h: i32, dk: i32, d: i32): f64 {
  if (mode == G_HEAD_DIM) return loadAsF64(x, (b * T + s) * last + h * dk + d, dt);
  if (mode == G_HEAD) return loadAsF64(x, (b * T + s) * last + h, dt);
  return loadAsF64(x, b * T + s, dt);
}

/**
 * linear_attention params: 0 query [B, T, Hq dk], 1 key [B, T, Hkv dk], 2 value [B, T, Hkv dv],
 * 3 past_state [B, Hkv, dk, dv] (0: zeros), 4 decay, 5 beta, 6 erase_gate (0: absent), 7 output
 * [B, T, Hq dv], 8 present_state (0: not needed), 9 dtype of q/k/v/gates/output, 10 dtype of the
 * states, 11 B, 12 T, 13 Hq, 14 Hkv, 15 dk, 16 dv, 17..19 gate layouts of decay, beta, erase
 * (G_*), 20..22 their last dims, 23 scale (f32; 0: 1/sqrt(dk)), 24 scratch (8 (B Hkv dk dv + dv)
 * bytes).
 */
export function linear_attention(p: usize): void {
  const q = pa(p, 0), k = pa(p, 1), v = pa(p, 2), past = pa(p, 3), decay = pa(p, 4), beta = pa(p, 5), erase = pa(p, 6);
  const y = pa(p, 7), present = pa(p, 8), dt = pi(p, 9), sdt = pi(p, 10);
  const B = pi(p, 11), T = pi(p, 12), Hq = pi(p, 13), Hkv = pi(p, 14), dk = pi(p, 15), dv = pi(p, 16);
  const gm = pi(p, 17), bm = pi(p, 18), em = pi(p, 19), gl = pi(p, 20), bl = pi(p, 21), el = pi(p, 22);
  const sc = <f64>pf(p, 23), st = pa(p, 24);
  const scale: f64 = sc == 0 ? 1 / Math.sqrt(<f64>dk) : sc;
  const G = Hq / Hkv;
  const nState = B * Hkv * dk * dv;
  const vt = st + (<usize>nState << 3);
  for (let i = 0; i < nState; i++) store<f64>(st + (<usize>i << 3), past != 0 ? loadAsF64(past, i, sdt) : 0);
  for (let s = 0; s < T; s++) {
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < Hkv; h++) {
        const so = (b * Hkv + h) * dk * dv;
        const kOff = (b * T + s) * Hkv * dk + h * dk;
        const vOff = (b * T + s) * Hkv * dv + h * dv;
        if (decay != 0) {
          for (let d = 0; d < dk; d++) {
            const g = Math.exp(gate(decay, dt, gm, gl, b, T, s, h, dk, d));
            for (let m = 0; m < dv; m++) {
              const a = st + (<usize>(so + d * dv + m) << 3);
              store<f64>(a, load<f64>(a) * g);
            }
          }
        }
        for (let m = 0; m < dv; m++) store<f64>(vt + (<usize>m << 3), loadAsF64(v, vOff + m, dt));
        if (beta != 0) {
          const bt = gate(beta, dt, bm, bl, b, T, s, h, dk, 0);
          for (let m = 0; m < dv; m++) {
            let got: f64 = 0;
            for (let d = 0; d < dk; d++) {
              const ke = loadAsF64(k, kOff + d, dt) * (erase != 0 ? gate(erase, dt, em, el, b, T, s, h, dk, d) : 1);
              got += load<f64>(st + (<usize>(so + d * dv + m) << 3)) * ke;
            }
            const a = vt + (<usize>m << 3);
            store<f64>(a, bt * (load<f64>(a) - got));
          }
        }
        for (let d = 0; d < dk; d++) {
          const kd = loadAsF64(k, kOff + d, dt);
          for (let m = 0; m < dv; m++) {
            const a = st + (<usize>(so + d * dv + m) << 3);
            store<f64>(a, load<f64>(a) + kd * load<f64>(vt + (<usize>m << 3)));
          }
        }
      }
      for (let h = 0; h < Hq; h++) {
        const so = (b * Hkv + h / G) * dk * dv;
        const qOff = (b * T + s) * Hq * dk + h * dk;
        const oOff = (b * T + s) * Hq * dv + h * dv;
        for (let m = 0; m < dv; m++) {
          let acc: f64 = 0;
          for (let d = 0; d < dk; d++) acc += loadAsF64(q, qOff + d, dt) * load<f64>(st + (<usize>(so + d * dv + m) << 3));
          storeFromF64(y, oOff + m, dt, scale * acc);
        }
      }
    }
  }
  if (present != 0) for (let i = 0; i < nState; i++) storeFromF64(present, i, sdt, load<f64>(st + (<usize>i << 3)));
}
