// Microcontroller int8 kernels of the c target (CMSIS-NN style): QConv through an im2col of two
// output pixels into an int16 buffer and a 2 x 2 blocked kernel (2 output channels x 2 pixels, four
// accumulators, SXTB16 + SMLAD), depthwise QConv per plane with the input zero point folded into
// the bias of interior windows, QGemm with 4-row blocking. Activations stay in the package's layout
// (NCHW); the im2col gathers each pixel's window. Same results as the hls kernels (nnet_conv.h,
// nnet_dense.h): int32 wrap-around sums, then the one requantization `out_stage` (nnet_common.h).
// EDGEC_ARM_DSP (nnet_common.h) selects the Arm DSP-extension inner loops; the portable loops
// compute the same sums in the same order of words.
#ifndef NNET_MCU_H_
#define NNET_MCU_H_

#include "nnet_common.h"
#include "nnet_conv.h"
#include "nnet_dense.h"
#include "nnet_merge.h"

namespace nnet {

// Weight ROM of mcu_qconv: each full group of 4 weights of a filter row (k = 4i .. 4i+3) is stored
// as (w0, w2, w1, w3), so that SXTB16 of the word gives the halfword pairs (w0, w1) and (w2, w3),
// which line up with the int16 im2col words (c0, c1) and (c2, c3). A tail (K mod 4) is in order.
// mcu_w_pos(k, K) is where natural index k of a row of length K is stored.
inline unsigned mcu_w_pos(unsigned k, unsigned K) {
  return k < (K & ~3u) ? ((k & ~3u) | ((k & 1u) << 1) | ((k >> 1) & 1u)) : k;
}

inline uint32_t mcu_ld32(const void *p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

#if EDGEC_ARM_DSP
// Halfword pairs (b0, b2) / (b1, b3) of a word of four 8-bit values, sign- or zero-extended.
template<class T> inline uint32_t mcu_x16_lo(uint32_t v) {
  uint32_t r;
  if ((T)-1 < (T)0) __asm__("sxtb16 %0, %1" : "=r"(r) : "r"(v));
  else __asm__("uxtb16 %0, %1" : "=r"(r) : "r"(v));
  return r;
}
template<class T> inline uint32_t mcu_x16_hi(uint32_t v) {
  uint32_t r;
  if ((T)-1 < (T)0) __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
  else __asm__("uxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
  return r;
}
inline uint32_t mcu_smlad(uint32_t a, uint32_t b, uint32_t acc) {
  __asm__("smlad %0, %1, %2, %0" : "+r"(acc) : "r"(a), "r"(b));
  return acc;
}
inline uint32_t mcu_ssub16(uint32_t a, uint32_t b) {
  uint32_t r;
  __asm__("ssub16 %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
#endif

// v clamped to [CFG::clamp_lo, CFG::clamp_hi]: one SSAT / USAT for the full int8 / uint8 range
// with EDGEC_ARM_DSP, else two compares.
template<class CFG> inline int32_t mcu_clamp(int32_t v) {
#if EDGEC_ARM_DSP
  if (CFG::clamp_lo == -128 && CFG::clamp_hi == 127) {
    __asm__("ssat %0, #8, %0" : "+r"(v));
    return v;
  }
  if (CFG::clamp_lo == 0 && CFG::clamp_hi == 255) {
    __asm__("usat %0, #8, %0" : "+r"(v));
    return v;
  }
#endif
  const int32_t lo = (int32_t)CFG::clamp_lo, hi = (int32_t)CFG::clamp_hi;
  return v < lo ? lo : (v > hi ? hi : v);
}

// The output stage of the mcu kernels: out_stage (nnet_common.h), with its 32-bit path
// (rq_fixed_hi: one SMULL, an add and a shift) chosen at compile time when every channel of the
// layer takes it (CFG::rq_hi, set by the emitter), no per-output test of the shift.
template<class CFG> inline int32_t mcu_out_stage(int32_t acc, int32_t M, int n, float s) {
  if (CFG::rq_hi && !CFG::out_raw && !CFG::rq_float && !CFG::rq_tflite) return mcu_clamp<CFG>(rq_fixed_hi(acc, M, n) + (int32_t)CFG::y_zero_point);
  return (int32_t)out_stage<CFG>(acc, M, n, s);
}

// acc[r][p] += sum_k (w_r[k] - zw_r) * col_p[k] for two filter rows (w0 and w1 = w0 + K:
// permuted ROM rows, mcu_w_pos) and two int16 columns (c0 and c1 = c0 + S): the 2 x 2 block.
// ZW: the rows have a non-zero zero point. K and S are constants, so the second row and column
// are immediate offsets (no extra pointer registers in the loop).
template<class W, bool ZW, unsigned K, unsigned S>
inline void mcu_block_2x2(const W *w0, const int16_t *c0, int32_t zw0, int32_t zw1, uint32_t acc[4]) {
  const W *w1 = w0 + K;
  const int16_t *c1 = c0 + S;
  uint32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
  unsigned k = 0;
#if EDGEC_ARM_DSP
  const uint32_t z0 = pack_i16x2(zw0, zw0), z1 = pack_i16x2(zw1, zw1);
#pragma GCC unroll 4
  for (; k + 4 <= K; k += 4) {
    const uint32_t wa = mcu_ld32(w0 + k), wb = mcu_ld32(w1 + k);
    uint32_t wa0 = mcu_x16_lo<W>(wa), wa1 = mcu_x16_hi<W>(wa), wb0 = mcu_x16_lo<W>(wb), wb1 = mcu_x16_hi<W>(wb);
    if (ZW) {
      wa0 = mcu_ssub16(wa0, z0);
      wa1 = mcu_ssub16(wa1, z0);
      wb0 = mcu_ssub16(wb0, z1);
      wb1 = mcu_ssub16(wb1, z1);
    }
    const uint32_t x0 = mcu_ld32(c0 + k), x1 = mcu_ld32(c0 + k + 2), y0 = mcu_ld32(c1 + k), y1 = mcu_ld32(c1 + k + 2);
    a00 = mcu_smlad(wa0, x0, a00);
    a01 = mcu_smlad(wa0, y0, a01);
    a10 = mcu_smlad(wb0, x0, a10);
    a11 = mcu_smlad(wb0, y0, a11);
    a00 = mcu_smlad(wa1, x1, a00);
    a01 = mcu_smlad(wa1, y1, a01);
    a10 = mcu_smlad(wb1, x1, a10);
    a11 = mcu_smlad(wb1, y1, a11);
  }
#else
  for (; k + 4 <= K; k += 4) {
    for (unsigned j = 0; j < 4; j++) {
      const unsigned s = k + ((j & 1u) << 1 | (j >> 1));  // mcu_w_pos within a full group
      const uint32_t va = (uint32_t)((int32_t)w0[s] - zw0), vb = (uint32_t)((int32_t)w1[s] - zw1);
      const uint32_t xa = (uint32_t)(int32_t)c0[k + j], xb = (uint32_t)(int32_t)c1[k + j];
      a00 += va * xa;
      a01 += va * xb;
      a10 += vb * xa;
      a11 += vb * xb;
    }
  }
#endif
  for (; k < K; k++) {
    const uint32_t va = (uint32_t)((int32_t)w0[k] - zw0), vb = (uint32_t)((int32_t)w1[k] - zw1);
    const uint32_t xa = (uint32_t)(int32_t)c0[k], xb = (uint32_t)(int32_t)c1[k];
    a00 += va * xa;
    a01 += va * xb;
    a10 += vb * xa;
    a11 += vb * xb;
  }
  acc[0] = a00;
  acc[1] = a01;
  acc[2] = a10;
  acc[3] = a11;
}

// The im2col column of output pixel p (flat index in out_d x out_h x out_w) of one group: for
// every input channel c of the group and kernel tap (kd, kh, kw), in the weight's order, x as
// int16, zx for taps in the padding (the input zero point term is folded into the bias by the
// emitter: sum (w - zw)(x - zx) = sum (w - zw) x - zx sum (w - zw), and padding taps give 0).
template<class CFG, class In>
inline void mcu_im2col(const In *xg, unsigned p, int16_t *col, int32_t zx) {
  const unsigned cpg = CFG::n_chan / CFG::n_group;
  const unsigned in_plane = CFG::in_d * CFG::in_h * CFG::in_w;
  const unsigned kvol = CFG::k_d * CFG::k_h * CFG::k_w;
  const unsigned ow = p % CFG::out_w, oh = (p / CFG::out_w) % CFG::out_h, od = p / (CFG::out_w * CFG::out_h);
  const int iw0 = (int)(ow * CFG::s_w) - CFG::p_w;
  // taps kw in [lo, hi) are inside the row
  int lo = 0, hi = (int)CFG::k_w;
  while (lo < hi && iw0 + lo * (int)CFG::dl_w < 0) lo++;
  while (hi > lo && iw0 + (hi - 1) * (int)CFG::dl_w >= (int)CFG::in_w) hi--;
  for (unsigned kd = 0; kd < CFG::k_d; kd++) {
    const int id = (int)(od * CFG::s_d + kd * CFG::dl_d) - CFG::p_d;
    for (unsigned kh = 0; kh < CFG::k_h; kh++) {
      const int ih = (int)(oh * CFG::s_h + kh * CFG::dl_h) - CFG::p_h;
      int16_t *cr = col + (kd * CFG::k_h + kh) * CFG::k_w;
      const bool in = id >= 0 && id < (int)CFG::in_d && ih >= 0 && ih < (int)CFG::in_h;
      const In *xr = xg + (in ? ((unsigned)id * CFG::in_h + (unsigned)ih) * CFG::in_w : 0u) + iw0;
      for (unsigned c = 0; c < cpg; c++, cr += kvol, xr += in_plane) {
        for (int kw = 0; kw < (int)CFG::k_w; kw++) cr[kw] = in && kw >= lo && kw < hi ? (int16_t)xr[kw * (int)CFG::dl_w] : (int16_t)zx;
      }
    }
  }
}

// The im2col columns of output pixels p and p + 1 (col0, col1): when both windows lie wholly
// inside the input on the same output row, each window row is read once for both pixels (the
// loads before the stores: the int16 stores may alias the 8-bit input for the compiler); else
// one mcu_im2col per pixel.
template<class CFG, class In>
inline void mcu_im2col2(const In *xg, unsigned p, int16_t *col0, int16_t *col1, int32_t zx) {
  const unsigned cpg = CFG::n_chan / CFG::n_group;
  const unsigned in_plane = CFG::in_d * CFG::in_h * CFG::in_w;
  const unsigned kvol = CFG::k_d * CFG::k_h * CFG::k_w;
  const unsigned ow = p % CFG::out_w, oh = (p / CFG::out_w) % CFG::out_h, od = p / (CFG::out_w * CFG::out_h);
  const int iw0 = (int)(ow * CFG::s_w) - CFG::p_w, ih0 = (int)(oh * CFG::s_h) - CFG::p_h, id0 = (int)(od * CFG::s_d) - CFG::p_d;
  const bool inside = ow + 1 < CFG::out_w && iw0 >= 0 && iw0 + (int)(CFG::s_w + (CFG::k_w - 1) * CFG::dl_w) < (int)CFG::in_w &&
                      ih0 >= 0 && ih0 + (int)((CFG::k_h - 1) * CFG::dl_h) < (int)CFG::in_h &&
                      id0 >= 0 && id0 + (int)((CFG::k_d - 1) * CFG::dl_d) < (int)CFG::in_d;
  if (!inside) {
    mcu_im2col<CFG>(xg, p, col0, zx);
    mcu_im2col<CFG>(xg, p + 1, col1, zx);
    return;
  }
  const In *x0 = xg + ((unsigned)id0 * CFG::in_h + (unsigned)ih0) * CFG::in_w + (unsigned)iw0;
  for (unsigned kd = 0; kd < CFG::k_d; kd++) {
    for (unsigned kh = 0; kh < CFG::k_h; kh++) {
      const unsigned r = (kd * CFG::k_h + kh) * CFG::k_w;
      const In *xr = x0 + (kd * CFG::dl_d * CFG::in_h + kh * CFG::dl_h) * CFG::in_w;
      int16_t *a = col0 + r, *b = col1 + r;
      for (unsigned c = 0; c < cpg; c++, a += kvol, b += kvol, xr += in_plane) {
        int32_t va[CFG::k_w], vb[CFG::k_w];
#pragma GCC unroll 16
        for (unsigned kw = 0; kw < CFG::k_w; kw++) {
          va[kw] = (int32_t)xr[kw * CFG::dl_w];
          vb[kw] = (int32_t)xr[CFG::s_w + kw * CFG::dl_w];
        }
#pragma GCC unroll 16
        for (unsigned kw = 0; kw < CFG::k_w; kw++) {
          a[kw] = (int16_t)va[kw];
          b[kw] = (int16_t)vb[kw];
        }
      }
    }
  }
}

// Depthwise QConv (one input and one output channel per group): per output channel the filter minus
// its zero point in registers; windows wholly inside the input use sum(x * w') - zx * sum(w') (the
// zero point folded into the bias, exact modulo 2^32), border windows loop over their inside taps.
template<class In, class Out, class CFG>
void mcu_qconv_dw(const In x[], Out y[], const typename CFG::weight_t w[], const typename CFG::bias_t b[], const qchan q[]) {
  const unsigned kvol = CFG::k_d * CFG::k_h * CFG::k_w;
  const unsigned in_plane = CFG::in_d * CFG::in_h * CFG::in_w;
  const unsigned out_plane = CFG::out_d * CFG::out_h * CFG::out_w;
  const int32_t zx = (int32_t)CFG::x_zero_point;
  // output columns whose window rows lie inside the input: [ow_lo, ow_hi)
  unsigned ow_lo = 0, ow_hi = CFG::out_w;
  while (ow_lo < CFG::out_w && (int)(ow_lo * CFG::s_w) - CFG::p_w < 0) ow_lo++;
  while (ow_hi > ow_lo && (int)((ow_hi - 1) * CFG::s_w + (CFG::k_w - 1) * CFG::dl_w) - CFG::p_w >= (int)CFG::in_w) ow_hi--;
  for (unsigned n = 0; n < CFG::n_batch; n++) {
    for (unsigned m = 0; m < CFG::n_filt; m++) {
      const In *xp = x + (n * CFG::n_chan + m) * in_plane;
      Out *yp = y + (n * CFG::n_filt + m) * out_plane;
      const int32_t zw = q[m].w_zero_point, qm = q[m].multiplier, qn = q[m].shift;
      const float qs = q[m].scale;
      int32_t wv[kvol];
      uint32_t wsum = 0;
      for (unsigned k = 0; k < kvol; k++) {
        wv[k] = (int32_t)w[m * kvol + k] - zw;
        wsum += (uint32_t)wv[k];
      }
      const uint32_t bias = CFG::has_bias ? (uint32_t)(int32_t)b[m] : 0u;
      const uint32_t inner = bias - (uint32_t)zx * wsum;
      for (unsigned od = 0; od < CFG::out_d; od++) {
        const int id0 = (int)(od * CFG::s_d) - CFG::p_d;
        const bool din = id0 >= 0 && id0 + (int)((CFG::k_d - 1) * CFG::dl_d) < (int)CFG::in_d;
        for (unsigned oh = 0; oh < CFG::out_h; oh++) {
          const int ih0 = (int)(oh * CFG::s_h) - CFG::p_h;
          const bool rin = din && ih0 >= 0 && ih0 + (int)((CFG::k_h - 1) * CFG::dl_h) < (int)CFG::in_h;
          Out *yr = yp + (od * CFG::out_h + oh) * CFG::out_w;
          unsigned ow = 0;
          if (rin) {
            const In *xw = xp + ((unsigned)id0 * CFG::in_h + (unsigned)ih0) * CFG::in_w;
            for (ow = ow_lo; ow < ow_hi; ow++) {
              const In *xo = xw + (ow * CFG::s_w - CFG::p_w);
              uint32_t acc = inner;
#pragma GCC unroll 64
              for (unsigned k = 0; k < kvol; k++) {
                const unsigned kd = k / (CFG::k_h * CFG::k_w), kh = (k / CFG::k_w) % CFG::k_h, kw = k % CFG::k_w;
                acc += (uint32_t)(int32_t)xo[(kd * CFG::dl_d * CFG::in_h + kh * CFG::dl_h) * CFG::in_w + kw * CFG::dl_w] * (uint32_t)wv[k];
              }
              yr[ow] = (Out)mcu_out_stage<CFG>((int32_t)acc, qm, qn, qs);
            }
            ow = 0;
          }
          for (; ow < CFG::out_w; ow++) {
            if (rin && ow >= ow_lo && ow < ow_hi) {
              ow = ow_hi - 1;
              continue;
            }
            // border window: the taps inside the input
            uint32_t acc = bias;
            const int iw0 = (int)(ow * CFG::s_w) - CFG::p_w;
            for (unsigned kd = 0; kd < CFG::k_d; kd++) {
              const int id = id0 + (int)(kd * CFG::dl_d);
              if (id < 0 || id >= (int)CFG::in_d) continue;
              for (unsigned kh = 0; kh < CFG::k_h; kh++) {
                const int ih = ih0 + (int)(kh * CFG::dl_h);
                if (ih < 0 || ih >= (int)CFG::in_h) continue;
                const In *xr = xp + ((unsigned)id * CFG::in_h + (unsigned)ih) * CFG::in_w;
                const int32_t *wr = wv + (kd * CFG::k_h + kh) * CFG::k_w;
                for (unsigned kw = 0; kw < CFG::k_w; kw++) {
                  const int iw = iw0 + (int)(kw * CFG::dl_w);
                  if (iw >= 0 && iw < (int)CFG::in_w) acc += (uint32_t)((int32_t)xr[iw] - zx) * (uint32_t)wr[kw];
                }
              }
            }
            yr[ow] = (Out)mcu_out_stage<CFG>((int32_t)acc, qm, qn, qs);
          }
        }
      }
    }
  }
}

// 2-D depthwise QConv through a padded plane (what the emitter picks when in_d = k_d = 1): per
// channel the input plane minus zx goes into `pad` (int16, pad_h x pad_w, zeros in the padding),
// so every window is inside it; the taps of a window row go in pairs (one word of two int16
// values, SMLAD with the packed weight pair), an odd last tap alone.
template<class In, class Out, class CFG>
void mcu_qconv_dw2d(const In x[], Out y[], const typename CFG::weight_t w[], const typename CFG::bias_t b[], const qchan q[], int16_t pad[]) {
  const unsigned kvol = CFG::k_h * CFG::k_w;
  const unsigned in_plane = CFG::in_h * CFG::in_w;
  const unsigned out_plane = CFG::out_h * CFG::out_w;
  const unsigned PW = CFG::pad_w;
  const int32_t zx = (int32_t)CFG::x_zero_point;
  for (unsigned i = 0; i < CFG::pad_h * PW; i++) pad[i] = 0;
  for (unsigned n = 0; n < CFG::n_batch; n++) {
    for (unsigned m = 0; m < CFG::n_filt; m++) {
      const In *xp = x + (n * CFG::n_chan + m) * in_plane;
      Out *yp = y + (n * CFG::n_filt + m) * out_plane;
      // the plane (rows and columns beyond pad_h / pad_w are never read by a window)
      for (unsigned ih = 0; ih < CFG::in_h && ih + CFG::p_h < CFG::pad_h; ih++) {
        int16_t *pr = pad + (ih + CFG::p_h) * PW + CFG::p_w;
        const In *xr = xp + ih * CFG::in_w;
        for (unsigned iw = 0; iw < CFG::in_w && iw + CFG::p_w < PW; iw++) pr[iw] = (int16_t)((int32_t)xr[iw] - zx);
      }
      const int32_t zw = q[m].w_zero_point, qm = q[m].multiplier, qn = q[m].shift;
      const float qs = q[m].scale;
      int32_t wv[kvol];
      for (unsigned k = 0; k < kvol; k++) wv[k] = (int32_t)w[m * kvol + k] - zw;
#if EDGEC_ARM_DSP
      uint32_t wp[kvol];  // (w[k], w[k + 1]) of each pair of a row
      for (unsigned kh = 0; kh < CFG::k_h; kh++)
        for (unsigned kw = 0; kw + 1 < CFG::k_w; kw += 2) wp[kh * CFG::k_w + kw] = pack_i16x2(wv[kh * CFG::k_w + kw], wv[kh * CFG::k_w + kw + 1]);
#endif
      const uint32_t bias = CFG::has_bias ? (uint32_t)(int32_t)b[m] : 0u;
      for (unsigned oh = 0; oh < CFG::out_h; oh++) {
        const int16_t *pw0 = pad + oh * CFG::s_h * PW;
        Out *yr = yp + oh * CFG::out_w;
        for (unsigned ow = 0; ow < CFG::out_w; ow++) {
          const int16_t *xo = pw0 + ow * CFG::s_w;
          uint32_t acc = bias;
#pragma GCC unroll 16
          for (unsigned kh = 0; kh < CFG::k_h; kh++) {
            const int16_t *xr = xo + kh * CFG::dl_h * PW;
            unsigned kw = 0;
#if EDGEC_ARM_DSP
            if (CFG::dl_w == 1) {
#pragma GCC unroll 16
              for (; kw + 1 < CFG::k_w; kw += 2) acc = mcu_smlad(mcu_ld32(xr + kw), wp[kh * CFG::k_w + kw], acc);
            }
#endif
#pragma GCC unroll 16
            for (; kw < CFG::k_w; kw++) acc += (uint32_t)(int32_t)xr[kw * CFG::dl_w] * (uint32_t)wv[kh * CFG::k_w + kw];
          }
          yr[ow] = (Out)mcu_out_stage<CFG>((int32_t)acc, qm, qn, qs);
        }
      }
    }
  }
}

// int8 QConv (any geometry and group count) for microcontrollers: per group, two output pixels
// at a time are gathered into `col` (int16, 2 x col_stride values), then every pair of output
// channels runs the 2 x 2 block over the K = (C / G) * k_d * k_h * k_w taps. Weights: the
// permuted ROM (mcu_w_pos). Depthwise (one input and one output channel per group, weights in
// order): mcu_qconv_dw2d with col as its padded plane (CFG::pad_h > 0, 2-D), else mcu_qconv_dw.
template<class In, class Out, class CFG>
void mcu_qconv(const In x[], Out y[], const typename CFG::weight_t w[], const typename CFG::bias_t b[], const qchan q[], int16_t col[]) {
  typedef typename CFG::weight_t W;
  const unsigned cpg = CFG::n_chan / CFG::n_group;
  if (cpg == 1 && CFG::n_filt == CFG::n_group) {
    if (CFG::pad_h > 0) mcu_qconv_dw2d<In, Out, CFG>(x, y, w, b, q, col);
    else mcu_qconv_dw<In, Out, CFG>(x, y, w, b, q);
    return;
  }
  const unsigned mpg = CFG::n_filt / CFG::n_group;
  const unsigned K = cpg * CFG::k_d * CFG::k_h * CFG::k_w;
  const unsigned in_plane = CFG::in_d * CFG::in_h * CFG::in_w;
  const unsigned P = CFG::out_d * CFG::out_h * CFG::out_w;
  const int32_t zx = (int32_t)CFG::x_zero_point;
  int16_t *col1 = col + CFG::col_stride;
  // the weight ROM has one row of padding after the last filter when a group has an odd number of
  // filters (the second row of the last block; its sums are dropped), and col1 of a last single
  // pixel holds stale values (its sums are dropped)
  for (unsigned n = 0; n < CFG::n_batch; n++) {
    for (unsigned g = 0; g < CFG::n_group; g++) {
      const In *xg = x + (n * CFG::n_chan + g * cpg) * in_plane;
      for (unsigned p = 0; p < P; p += 2) {
        const bool two = p + 1 < P;
        if (two) mcu_im2col2<CFG>(xg, p, col, col1, zx);
        else mcu_im2col<CFG>(xg, p, col, zx);
        for (unsigned mi = 0; mi < mpg; mi += 2) {
          const unsigned m0 = g * mpg + mi, m1 = mi + 1 < mpg ? m0 + 1 : m0;
          uint32_t acc[4];
          acc[0] = acc[1] = CFG::has_bias ? (uint32_t)(int32_t)b[m0] : 0u;
          acc[2] = acc[3] = CFG::has_bias ? (uint32_t)(int32_t)b[m1] : 0u;
          const int32_t zw0 = q[m0].w_zero_point, zw1 = q[m1].w_zero_point;
          if (CFG::w_zero || (zw0 == 0 && zw1 == 0)) mcu_block_2x2<W, false, K, CFG::col_stride>(w + m0 * K, col, 0, 0, acc);
          else mcu_block_2x2<W, true, K, CFG::col_stride>(w + m0 * K, col, zw0, zw1, acc);
          // the output stage's parameters in locals (the 8-bit stores may alias q for the compiler)
          const qchan q0 = q[m0], q1 = q[m1];
          Out *y0 = y + (n * CFG::n_filt + m0) * P + p;
          const Out r00 = (Out)mcu_out_stage<CFG>((int32_t)acc[0], q0.multiplier, q0.shift, q0.scale);
          const Out r01 = (Out)mcu_out_stage<CFG>((int32_t)acc[1], q0.multiplier, q0.shift, q0.scale);
          const Out r10 = (Out)mcu_out_stage<CFG>((int32_t)acc[2], q1.multiplier, q1.shift, q1.scale);
          const Out r11 = (Out)mcu_out_stage<CFG>((int32_t)acc[3], q1.multiplier, q1.shift, q1.scale);
          y0[0] = r00;
          if (two) y0[1] = r01;
          if (m1 != m0) {
            Out *y1 = y + (n * CFG::n_filt + m1) * P + p;
            y1[0] = r10;
            if (two) y1[1] = r11;
          }
        }
      }
    }
  }
}

// int8 QGemm for microcontrollers: four output rows at a time share each unpacked word of x
// (x - zx as halfword pairs), the rows' weights are unpacked once per word. The weight ROM has
// n_out rounded up to a multiple of 4 rows (zero rows after the last).
template<class In, class Out, class CFG>
void mcu_qdense(const In x[], Out y[], const typename CFG::weight_t w[], const typename CFG::bias_t b[], const qchan q[]) {
  typedef typename CFG::weight_t W;
  const unsigned K = CFG::n_in, N = CFG::n_out;
  const int32_t zx = (int32_t)CFG::x_zero_point;
  for (unsigned r = 0; r < CFG::n_rows; r++) {
    const In *xr = x + r * K;
    for (unsigned j0 = 0; j0 < N; j0 += 4) {
      unsigned jj[4];
      uint32_t acc[4];
      int32_t zw[4];
      bool anyz = false;
      for (unsigned t = 0; t < 4; t++) {
        jj[t] = j0 + t < N ? j0 + t : j0;
        acc[t] = CFG::has_bias ? (uint32_t)(int32_t)b[jj[t]] : 0u;
        zw[t] = q[jj[t]].w_zero_point;
        anyz = anyz || zw[t] != 0;
      }
      // rows j0 .. j0 + 3 at constant offsets: the ROM is padded to a multiple of 4 rows (the sums
      // of padding rows are dropped)
      const W *w0 = w + j0 * K, *w1 = w0 + K, *w2 = w0 + 2 * K, *w3 = w0 + 3 * K;
      unsigned k = 0;
#if EDGEC_ARM_DSP
      if (!anyz && sizeof(In) == 1 && sizeof(W) == 1) {
        const uint32_t zx2 = pack_i16x2(zx, zx);
        uint32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
        for (; k + 4 <= K; k += 4) {
          const uint32_t xv = mcu_ld32(xr + k);
          const uint32_t xl = mcu_ssub16(mcu_x16_lo<In>(xv), zx2), xh = mcu_ssub16(mcu_x16_hi<In>(xv), zx2);
          uint32_t v = mcu_ld32(w0 + k);
          a0 = mcu_smlad(mcu_x16_lo<W>(v), xl, a0);
          a0 = mcu_smlad(mcu_x16_hi<W>(v), xh, a0);
          v = mcu_ld32(w1 + k);
          a1 = mcu_smlad(mcu_x16_lo<W>(v), xl, a1);
          a1 = mcu_smlad(mcu_x16_hi<W>(v), xh, a1);
          v = mcu_ld32(w2 + k);
          a2 = mcu_smlad(mcu_x16_lo<W>(v), xl, a2);
          a2 = mcu_smlad(mcu_x16_hi<W>(v), xh, a2);
          v = mcu_ld32(w3 + k);
          a3 = mcu_smlad(mcu_x16_lo<W>(v), xl, a3);
          a3 = mcu_smlad(mcu_x16_hi<W>(v), xh, a3);
        }
        acc[0] = a0;
        acc[1] = a1;
        acc[2] = a2;
        acc[3] = a3;
      }
#endif
      for (; k < K; k++) {
        const uint32_t xv = (uint32_t)((int32_t)xr[k] - zx);
        acc[0] += xv * (uint32_t)((int32_t)w0[k] - zw[0]);
        acc[1] += xv * (uint32_t)((int32_t)w1[k] - zw[1]);
        acc[2] += xv * (uint32_t)((int32_t)w2[k] - zw[2]);
        acc[3] += xv * (uint32_t)((int32_t)w3[k] - zw[3]);
      }
      for (unsigned t = 0; t < 4 && j0 + t < N; t++) {
        y[r * N + j0 + t] = (Out)mcu_out_stage<CFG>((int32_t)acc[t], q[j0 + t].multiplier, q[j0 + t].shift, q[j0 + t].scale);
      }
    }
  }
}

// max |v - z| over the values v of an integer type T (8/16/32-bit; z within int32).
template<class T> inline int64_t mcu_max_abs_diff(int64_t z) {
  const int64_t lo = (T)-1 < (T)0 ? -((int64_t)1 << (8 * sizeof(T) - 1)) : 0;
  const int64_t hi = (T)-1 < (T)0 ? ((int64_t)1 << (8 * sizeof(T) - 1)) - 1 : ((int64_t)1 << (8 * sizeof(T))) - 1;
  const int64_t d0 = z - lo, d1 = hi - z;
  return d0 > d1 ? d0 : d1;
}

// True when mcu_qadd takes its 32-bit loop: a and b have the output's shape (no broadcast), both
// are 8-bit, 1 <= n <= 30, and |Ma| max|a - za| + |Mb| max|b - zb| + 2^(n-1) < 2^31 over the
// operand types' ranges (the usual 8-bit multipliers are < 2^22).
template<class InA, class InB, class CFG> inline bool mcu_qadd_fast() {
  const bool flat = (CFG::d5 <= 1 || (CFG::sa5 == 1 && CFG::sb5 == 1)) &&
                    (CFG::d4 <= 1 || (CFG::sa4 == CFG::d5 && CFG::sb4 == CFG::d5)) &&
                    (CFG::d3 <= 1 || (CFG::sa3 == CFG::d5 * CFG::d4 && CFG::sb3 == CFG::d5 * CFG::d4)) &&
                    (CFG::d2 <= 1 || (CFG::sa2 == CFG::d5 * CFG::d4 * CFG::d3 && CFG::sb2 == CFG::d5 * CFG::d4 * CFG::d3)) &&
                    (CFG::d1 <= 1 || (CFG::sa1 == CFG::d5 * CFG::d4 * CFG::d3 * CFG::d2 && CFG::sb1 == CFG::d5 * CFG::d4 * CFG::d3 * CFG::d2)) &&
                    (CFG::d0 <= 1 || (CFG::sa0 == CFG::d5 * CFG::d4 * CFG::d3 * CFG::d2 * CFG::d1 && CFG::sb0 == CFG::d5 * CFG::d4 * CFG::d3 * CFG::d2 * CFG::d1));
  const int64_t ra = mcu_max_abs_diff<InA>(CFG::a_zero_point), rb = mcu_max_abs_diff<InB>(CFG::b_zero_point);
  const int64_t ma = CFG::a_multiplier < 0 ? -CFG::a_multiplier : CFG::a_multiplier;
  const int64_t mb = CFG::b_multiplier < 0 ? -CFG::b_multiplier : CFG::b_multiplier;
  const bool shift_ok = CFG::shift >= 1 && CFG::shift <= 30;
  return flat && sizeof(InA) == 1 && sizeof(InB) == 1 && shift_ok && ma < ((int64_t)1 << 31) && mb < ((int64_t)1 << 31) &&
         ma * ra + mb * rb + ((int64_t)1 << (shift_ok ? CFG::shift - 1 : 0)) < ((int64_t)1 << 31);
}

// int8 QAdd (rq_mode 'fixed', nnet_merge.h qadd) for microcontrollers: where mcu_qadd_fast, one
// flat loop in 32-bit arithmetic, Ma a + Mb b + (2^(n-1) - Ma za - Mb zb) then >> n (floor): the
// same value as qadd's 64-bit round_shift (the sum is computed modulo 2^32 and its exact value
// fits int32). Otherwise qadd itself.
template<class InA, class InB, class Out, class CFG>
void mcu_qadd(const InA a[], const InB b[], Out y[]) {
  if (!mcu_qadd_fast<InA, InB, CFG>()) {
    qadd<InA, InB, Out, CFG>(a, b, y);
    return;
  }
  const unsigned n = CFG::d0 * CFG::d1 * CFG::d2 * CFG::d3 * CFG::d4 * CFG::d5;
  const uint32_t Ma = (uint32_t)(int32_t)CFG::a_multiplier, Mb = (uint32_t)(int32_t)CFG::b_multiplier;
  const int S = CFG::shift >= 1 && CFG::shift <= 30 ? CFG::shift : 1;  // (CFG::shift on this path)
  const uint32_t c = ((uint32_t)1 << (S - 1)) - Ma * (uint32_t)(int32_t)CFG::a_zero_point - Mb * (uint32_t)(int32_t)CFG::b_zero_point;
  const int32_t zy = (int32_t)CFG::y_zero_point;
  for (unsigned i = 0; i < n; i++) {
    const int32_t v = ((int32_t)(Ma * (uint32_t)(int32_t)a[i] + Mb * (uint32_t)(int32_t)b[i] + c) >> S) + zy;
    y[i] = (Out)mcu_clamp<CFG>(v);
  }
}

} // namespace nnet

#endif
