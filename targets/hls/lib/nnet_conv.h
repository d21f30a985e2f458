// Convolution kernels: conv1d / conv2d (also 3-D, grouped and depthwise) in NCHW layout, float and
// int8 (QConv). Geometry comes from the layer config: the generator lifts every problem to three
// spatial dims (leading dims of size 1), so conv1d is conv2d with in_d = in_h = 1.
#ifndef NNET_CONV_H_
#define NNET_CONV_H_

#include "nnet_common.h"

namespace nnet {

// Base config; generated configs derive from it and override what they need.
struct conv_config {
  static const unsigned n_batch = 1, n_chan = 1, n_filt = 1, n_group = 1;
  static const unsigned in_d = 1, in_h = 1, in_w = 1, out_d = 1, out_h = 1, out_w = 1;
  static const unsigned k_d = 1, k_h = 1, k_w = 1, s_d = 1, s_h = 1, s_w = 1, dl_d = 1, dl_h = 1, dl_w = 1;
  static const int p_d = 0, p_h = 0, p_w = 0;
  static const bool has_bias = true;
  static const int activation = ACT_NONE;
  static const unsigned reuse_factor = 1;
  static const unsigned n_partitions = 1;
  typedef float accum_t;
  typedef float weight_t;
  typedef float bias_t;
};

// Per-output-channel integer parameters of QConv/QGemm: weight zero point and output rescale.
struct qchan {
  int32_t w_zero_point;
  int32_t multiplier;
  int32_t shift;
  float scale;
};

// One tap operand as an accumulator value: float kernels cast, int8 kernels subtract the zero point.
template<class Acc, bool Centered> struct conv_tap {
  template<class T> static Acc of(T v, int32_t) { return (Acc)v; }
};
template<class Acc> struct conv_tap<Acc, true> {
  template<class T> static Acc of(T v, int32_t z) { return (Acc)((int32_t)v - z); }
};

// acc += sum over the kernel window of output (od, oh, ow) of tap(x, zx) * tap(w, zw), for one
// input plane xp and its filter slice wp; taps in the padding are skipped (zero padding, or zx for
// int8, which adds 0). Shared by conv_nd and qconv_nd.
template<class Acc, bool Centered, class CFG, class In, class W>
inline void conv_window_mac(Acc &acc, const In *xp, const W *wp, unsigned od, unsigned oh, unsigned ow, int32_t zx, int32_t zw) {
  for_each_window_tap<CFG>(od, oh, ow, [&](unsigned xi, unsigned ki) {
    acc += conv_tap<Acc, Centered>::of(xp[xi], zx) * conv_tap<Acc, Centered>::of(wp[ki], zw);
  });
}

template<class In, class Out, class CFG>
void conv_nd(const In x[CFG::n_batch * CFG::n_chan * CFG::in_d * CFG::in_h * CFG::in_w], Out y[CFG::n_batch * CFG::n_filt * CFG::out_d * CFG::out_h * CFG::out_w],
             const typename CFG::weight_t w[CFG::n_filt * (CFG::n_chan / CFG::n_group) * CFG::k_d * CFG::k_h * CFG::k_w], const typename CFG::bias_t b[CFG::n_filt]) {
  const unsigned cpg = CFG::n_chan / CFG::n_group;
  const unsigned mpg = CFG::n_filt / CFG::n_group;
  const unsigned in_plane = CFG::in_d * CFG::in_h * CFG::in_w;
  const unsigned k_vol = CFG::k_d * CFG::k_h * CFG::k_w;
  const typename CFG::accum_t p0 = CFG::act_p0, p1 = CFG::act_p1;
#pragma HLS ARRAY_PARTITION variable=w cyclic factor=CFG::n_partitions
Batch:
  for (unsigned n = 0; n < CFG::n_batch; n++) {
  Filt:
    for (unsigned m = 0; m < CFG::n_filt; m++) {
      const unsigned g = m / mpg;
    OutD:
      for (unsigned od = 0; od < CFG::out_d; od++) {
      OutH:
        for (unsigned oh = 0; oh < CFG::out_h; oh++) {
        OutW:
          for (unsigned ow = 0; ow < CFG::out_w; ow++) {
#pragma HLS PIPELINE II=CFG::reuse_factor
            typename CFG::accum_t acc = CFG::has_bias ? (typename CFG::accum_t)b[m] : (typename CFG::accum_t)0;
          Chan:
            for (unsigned c = 0; c < cpg; c++) {
              const In *xp = x + (n * CFG::n_chan + g * cpg + c) * in_plane;
              const typename CFG::weight_t *wp = w + (m * cpg + c) * k_vol;
              conv_window_mac<typename CFG::accum_t, false, CFG>(acc, xp, wp, od, oh, ow, 0, 0);
            }
            y[((n * CFG::n_filt + m) * CFG::out_d + od) * CFG::out_h * CFG::out_w + oh * CFG::out_w + ow] =
                (Out)act_apply<typename CFG::accum_t>(CFG::activation, acc, p0, p1);
          }
        }
      }
    }
  }
}

template<class In, class Out, class CFG>
void conv2d(const In x[CFG::n_batch * CFG::n_chan * CFG::in_d * CFG::in_h * CFG::in_w], Out y[CFG::n_batch * CFG::n_filt * CFG::out_d * CFG::out_h * CFG::out_w],
             const typename CFG::weight_t w[CFG::n_filt * (CFG::n_chan / CFG::n_group) * CFG::k_d * CFG::k_h * CFG::k_w], const typename CFG::bias_t b[CFG::n_filt]) {
  conv_nd<In, Out, CFG>(x, y, w, b);
}

template<class In, class Out, class CFG>
void conv1d(const In x[CFG::n_batch * CFG::n_chan * CFG::in_d * CFG::in_h * CFG::in_w], Out y[CFG::n_batch * CFG::n_filt * CFG::out_d * CFG::out_h * CFG::out_w],
             const typename CFG::weight_t w[CFG::n_filt * (CFG::n_chan / CFG::n_group) * CFG::k_d * CFG::k_h * CFG::k_w], const typename CFG::bias_t b[CFG::n_filt]) {
  conv_nd<In, Out, CFG>(x, y, w, b);
}

// Depthwise: groups == channels (a config with n_group = n_chan).
template<class In, class Out, class CFG>
void depthwise_conv2d(const In x[CFG::n_batch * CFG::n_chan * CFG::in_d * CFG::in_h * CFG::in_w], Out y[CFG::n_batch * CFG::n_filt * CFG::out_d * CFG::out_h * CFG::out_w],
             const typename CFG::weight_t w[CFG::n_filt * (CFG::n_chan / CFG::n_group) * CFG::k_d * CFG::k_h * CFG::k_w], const typename CFG::bias_t b[CFG::n_filt]) {
  conv_nd<In, Out, CFG>(x, y, w, b);
}

// int8 QConv: acc = bias + sum (x - zx)(w - zw[m]) wrapped to int32; padding reads zx (adds 0);
// y = clamp(rq(acc) + zy, lo, hi) or the raw accumulator (out_raw).
template<class In, class Out, class CFG>
void qconv_nd(const In x[CFG::n_batch * CFG::n_chan * CFG::in_d * CFG::in_h * CFG::in_w], Out y[CFG::n_batch * CFG::n_filt * CFG::out_d * CFG::out_h * CFG::out_w],
             const typename CFG::weight_t w[CFG::n_filt * (CFG::n_chan / CFG::n_group) * CFG::k_d * CFG::k_h * CFG::k_w], const typename CFG::bias_t b[CFG::n_filt], const qchan q[CFG::n_filt]) {
  const unsigned cpg = CFG::n_chan / CFG::n_group;
  const unsigned mpg = CFG::n_filt / CFG::n_group;
  const unsigned in_plane = CFG::in_d * CFG::in_h * CFG::in_w;
  const unsigned k_vol = CFG::k_d * CFG::k_h * CFG::k_w;
  const int32_t zx = CFG::x_zero_point;
#pragma HLS ARRAY_PARTITION variable=w cyclic factor=CFG::n_partitions
Batch:
  for (unsigned n = 0; n < CFG::n_batch; n++) {
  Filt:
    for (unsigned m = 0; m < CFG::n_filt; m++) {
      const unsigned g = m / mpg;
      const int32_t zw = q[m].w_zero_point;
    OutD:
      for (unsigned od = 0; od < CFG::out_d; od++) {
      OutH:
        for (unsigned oh = 0; oh < CFG::out_h; oh++) {
        OutW:
          for (unsigned ow = 0; ow < CFG::out_w; ow++) {
#pragma HLS PIPELINE II=CFG::reuse_factor
            typename CFG::accum_t acc = CFG::has_bias ? (typename CFG::accum_t)b[m] : 0;
          Chan:
            for (unsigned c = 0; c < cpg; c++) {
              const In *xp = x + (n * CFG::n_chan + g * cpg + c) * in_plane;
              const typename CFG::weight_t *wp = w + (m * cpg + c) * k_vol;
              conv_window_mac<typename CFG::accum_t, true, CFG>(acc, xp, wp, od, oh, ow, zx, zw);
            }
            y[((n * CFG::n_filt + m) * CFG::out_d + od) * CFG::out_h * CFG::out_w + oh * CFG::out_w + ow] =
                (Out)out_stage<CFG>(wrap_i32(acc), q[m].multiplier, q[m].shift, q[m].scale);
          }
        }
      }
    }
  }
}

template<class In, class Out, class CFG>
void qconv2d(const In x[CFG::n_batch * CFG::n_chan * CFG::in_d * CFG::in_h * CFG::in_w], Out y[CFG::n_batch * CFG::n_filt * CFG::out_d * CFG::out_h * CFG::out_w],
             const typename CFG::weight_t w[CFG::n_filt * (CFG::n_chan / CFG::n_group) * CFG::k_d * CFG::k_h * CFG::k_w], const typename CFG::bias_t b[CFG::n_filt], const qchan q[CFG::n_filt]) {
  qconv_nd<In, Out, CFG>(x, y, w, b, q);
}

template<class In, class Out, class CFG>
void qconv1d(const In x[CFG::n_batch * CFG::n_chan * CFG::in_d * CFG::in_h * CFG::in_w], Out y[CFG::n_batch * CFG::n_filt * CFG::out_d * CFG::out_h * CFG::out_w],
             const typename CFG::weight_t w[CFG::n_filt * (CFG::n_chan / CFG::n_group) * CFG::k_d * CFG::k_h * CFG::k_w], const typename CFG::bias_t b[CFG::n_filt], const qchan q[CFG::n_filt]) {
  qconv_nd<In, Out, CFG>(x, y, w, b, q);
}

} // namespace nnet

#endif
