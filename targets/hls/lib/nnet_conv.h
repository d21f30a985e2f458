// Convolution kernels: conv1d / conv2d (also 3-D, grouped and depthwise) in NCHW layout: float
// (fp32 or half storage), block-wise int4 weights (conv_nd_int4) and int8 (QConv). Geometry comes from the layer config: the generator lifts every problem to three
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
  static const unsigned block_size = 32, n_blocks = 1;
  typedef float accum_t;
  typedef float weight_t;
  typedef float bias_t;
  typedef float scale_t;
};

// Per-output-channel integer parameters of QConv/QGemm: weight zero point and output rescale.
struct qchan {
  int32_t w_zero_point;
  int32_t multiplier;
  int32_t shift;
  float scale;
};

// acc += sum over the kernel window of output (od, oh, ow) of (x - zx)(w - zw), for one input
// plane xp and its filter slice wp (int8 QConv); taps in the padding are skipped (they would read
// zx, which adds 0).
template<class Acc, class CFG, class In, class W>
inline void qconv_window_mac(Acc &acc, const In *xp, const W *wp, unsigned od, unsigned oh, unsigned ow, int32_t zx, int32_t zw) {
#if EDGEC_ARM_DSP
  if (CFG::dl_w == 1) {
    // rows of the window: the taps inside the input are contiguous in x and w (dot_q, SMLAD)
    const int iw0 = (int)(ow * CFG::s_w) - CFG::p_w;
    const int lo = iw0 < 0 ? -iw0 : 0;
    const int hi = (int)CFG::in_w - iw0 < (int)CFG::k_w ? (int)CFG::in_w - iw0 : (int)CFG::k_w;
    if (hi <= lo) return;
    for (unsigned kd = 0; kd < CFG::k_d; kd++) {
      const int id = (int)(od * CFG::s_d + kd * CFG::dl_d) - CFG::p_d;
      if (id < 0 || id >= (int)CFG::in_d) continue;
      for (unsigned kh = 0; kh < CFG::k_h; kh++) {
        const int ih = (int)(oh * CFG::s_h + kh * CFG::dl_h) - CFG::p_h;
        if (ih < 0 || ih >= (int)CFG::in_h) continue;
        const unsigned xi = ((unsigned)id * CFG::in_h + (unsigned)ih) * CFG::in_w + (unsigned)(iw0 + lo);
        acc += (Acc)(int32_t)dot_q(xp + xi, wp + (kd * CFG::k_h + kh) * CFG::k_w + (unsigned)lo, (unsigned)(hi - lo), zx, zw);
      }
    }
    return;
  }
#endif
  for_each_window_tap<CFG>(od, oh, ow, [&](unsigned xi, unsigned ki) {
    acc += (Acc)((int32_t)xp[xi] - zx) * (Acc)((int32_t)wp[ki] - zw);
  });
}

// Weight readers of the float convolution: filter(m) is called when filter m starts, then
// (c, ki) returns tap ki for input channel c of the filter's group as an accumulator value.
// Plain weights (float or half storage):
template<class Acc, class CFG> struct conv_weights {
  static const unsigned f_vol = (CFG::n_chan / CFG::n_group) * CFG::k_d * CFG::k_h * CFG::k_w;
  const typename CFG::weight_t *w, *wm;
  explicit conv_weights(const typename CFG::weight_t *w_) : w(w_), wm(w_) {}
  void filter(unsigned m) { wm = w + m * f_vol; }
  Acc operator()(unsigned c, unsigned ki) const { return (Acc)wm[c * CFG::k_d * CFG::k_h * CFG::k_w + ki]; }
};

// Block-wise int4 weights (--int4; ONNX DequantizeLinear, axis 1, block_size): the 4-bit ROM q and
// the scale ROM s[m][c / block_size][k]; filter(m) dequantizes the filter once, w = float(q) * s
// (exactly the reference's f32 weight), into a float buffer the MAC loop reads.
template<class Acc, class CFG> struct conv_weights_int4 {
  static const unsigned k_vol = CFG::k_d * CFG::k_h * CFG::k_w;
  static const unsigned f_vol = (CFG::n_chan / CFG::n_group) * k_vol;
  const typename CFG::weight_t *w;
  const typename CFG::scale_t *s;
  Acc *buf;
  conv_weights_int4(const typename CFG::weight_t *w_, const typename CFG::scale_t *s_, Acc *buf_) : w(w_), s(s_), buf(buf_) {}
  void filter(unsigned m) {
  Dequant:
    for (unsigned i = 0; i < f_vol; i++) {
#pragma HLS PIPELINE II=1
      const unsigned c = i / k_vol, ki = i % k_vol;
      buf[i] = (Acc)w[m * f_vol + i] * (Acc)s[(m * CFG::n_blocks + c / CFG::block_size) * k_vol + ki];
    }
  }
  Acc operator()(unsigned c, unsigned ki) const { return buf[c * k_vol + ki]; }
};

// Float convolution over a weight reader `wr` (conv_weights or conv_weights_int4).
template<class In, class Out, class CFG, class WR>
inline void conv_float_core(const In x[CFG::n_batch * CFG::n_chan * CFG::in_d * CFG::in_h * CFG::in_w], Out y[CFG::n_batch * CFG::n_filt * CFG::out_d * CFG::out_h * CFG::out_w],
                            const typename CFG::bias_t b[CFG::n_filt], WR &wr) {
  typedef typename CFG::accum_t Acc;
  const unsigned cpg = CFG::n_chan / CFG::n_group;
  const unsigned mpg = CFG::n_filt / CFG::n_group;
  const unsigned in_plane = CFG::in_d * CFG::in_h * CFG::in_w;
  const Acc p0 = CFG::act_p0, p1 = CFG::act_p1;
Batch:
  for (unsigned n = 0; n < CFG::n_batch; n++) {
  Filt:
    for (unsigned m = 0; m < CFG::n_filt; m++) {
      const unsigned g = m / mpg;
      wr.filter(m);
    OutD:
      for (unsigned od = 0; od < CFG::out_d; od++) {
      OutH:
        for (unsigned oh = 0; oh < CFG::out_h; oh++) {
        OutW:
          for (unsigned ow = 0; ow < CFG::out_w; ow++) {
#pragma HLS PIPELINE II=CFG::reuse_factor
            Acc acc = CFG::has_bias ? (Acc)b[m] : (Acc)0;
          Chan:
            for (unsigned c = 0; c < cpg; c++) {
              const In *xp = x + (n * CFG::n_chan + g * cpg + c) * in_plane;
              for_each_window_tap<CFG>(od, oh, ow, [&](unsigned xi, unsigned ki) { acc += (Acc)xp[xi] * wr(c, ki); });
            }
            y[((n * CFG::n_filt + m) * CFG::out_d + od) * CFG::out_h * CFG::out_w + oh * CFG::out_w + ow] =
                (Out)act_apply<Acc>(CFG::activation, acc, p0, p1);
          }
        }
      }
    }
  }
}

template<class In, class Out, class CFG>
void conv_nd(const In x[CFG::n_batch * CFG::n_chan * CFG::in_d * CFG::in_h * CFG::in_w], Out y[CFG::n_batch * CFG::n_filt * CFG::out_d * CFG::out_h * CFG::out_w],
             const typename CFG::weight_t w[CFG::n_filt * (CFG::n_chan / CFG::n_group) * CFG::k_d * CFG::k_h * CFG::k_w], const typename CFG::bias_t b[CFG::n_filt]) {
#pragma HLS ARRAY_PARTITION variable=w cyclic factor=CFG::n_partitions
  conv_weights<typename CFG::accum_t, CFG> wr(w);
  conv_float_core<In, Out, CFG>(x, y, b, wr);
}

// Block-wise int4 weights: 4-bit weight ROM w, scales s (n_blocks = ceil(C/G / block_size) per
// filter and kernel tap), one dequantizer filling the filter buffer, float accumulation.
template<class In, class Out, class CFG>
void conv_nd_int4(const In x[CFG::n_batch * CFG::n_chan * CFG::in_d * CFG::in_h * CFG::in_w], Out y[CFG::n_batch * CFG::n_filt * CFG::out_d * CFG::out_h * CFG::out_w],
                  const typename CFG::weight_t w[CFG::n_filt * (CFG::n_chan / CFG::n_group) * CFG::k_d * CFG::k_h * CFG::k_w],
                  const typename CFG::scale_t s[CFG::n_filt * CFG::n_blocks * CFG::k_d * CFG::k_h * CFG::k_w], const typename CFG::bias_t b[CFG::n_filt]) {
  typename CFG::accum_t buf[(CFG::n_chan / CFG::n_group) * CFG::k_d * CFG::k_h * CFG::k_w];
#pragma HLS ARRAY_PARTITION variable=buf cyclic factor=CFG::n_partitions
  conv_weights_int4<typename CFG::accum_t, CFG> wr(w, s, buf);
  conv_float_core<In, Out, CFG>(x, y, b, wr);
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
              qconv_window_mac<typename CFG::accum_t, CFG>(acc, xp, wp, od, oh, ow, zx, zw);
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
