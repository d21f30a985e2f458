// Pooling and reductions: max/average pooling (1-D/2-D/3-D windows, pads, ceil mode,
// count_include_pad), global pooling and axis reductions as [outer, n, inner] problems, and the
// int8 forms (QAvgPool, QReduceMean).
#ifndef NNET_POOLING_H_
#define NNET_POOLING_H_

#include "nnet_common.h"

namespace nnet {

enum pool_op { POOL_MAX = 0, POOL_AVG = 1 };
enum reduce_op { RED_SUM = 0, RED_MEAN = 1, RED_MAX = 2, RED_MIN = 3, RED_PROD = 4, RED_LOGSUMEXP = 5,
                 RED_SUMSQUARE = 6, RED_L1 = 7, RED_L2 = 8, RED_LOGSUM = 9 };

struct pool_config {
  static const unsigned n_planes = 1;
  static const unsigned in_d = 1, in_h = 1, in_w = 1, out_d = 1, out_h = 1, out_w = 1;
  static const unsigned k_d = 1, k_h = 1, k_w = 1, s_d = 1, s_h = 1, s_w = 1, dl_d = 1, dl_h = 1, dl_w = 1;
  static const int p_d = 0, p_h = 0, p_w = 0, e_d = 0, e_h = 0, e_w = 0;
  static const int pool = POOL_MAX;
  static const bool count_include_pad = false;
  static const unsigned reuse_factor = 1;
  typedef float accum_t;
};

// Taps of window o along one dim whose index lies in [lo, hi).
inline int tap_count(int o, int s, int p, int d, int k, int lo, int hi) {
  int c = 0;
  for (int t = 0; t < k; t++) {
    const int i = o * s - p + t * d;
    if (i >= lo && i < hi) c++;
  }
  return c;
}

// Taps average pooling divides by for output (od, oh, ow): those inside the input, or inside the
// padded input (plus the ceil-mode extension e_*) when count_include_pad.
template<class CFG>
inline int window_count(unsigned od, unsigned oh, unsigned ow) {
  const bool inc = CFG::count_include_pad;
  const int cd = tap_count(od, CFG::s_d, CFG::p_d, CFG::dl_d, CFG::k_d, inc ? -CFG::p_d : 0, inc ? (int)CFG::in_d + CFG::e_d : (int)CFG::in_d);
  const int ch = tap_count(oh, CFG::s_h, CFG::p_h, CFG::dl_h, CFG::k_h, inc ? -CFG::p_h : 0, inc ? (int)CFG::in_h + CFG::e_h : (int)CFG::in_h);
  const int cw = tap_count(ow, CFG::s_w, CFG::p_w, CFG::dl_w, CFG::k_w, inc ? -CFG::p_w : 0, inc ? (int)CFG::in_w + CFG::e_w : (int)CFG::in_w);
  return cd * ch * cw;
}

template<class In, class Out, class CFG>
void pooling(const In x[], Out y[]) {
  const unsigned in_plane = CFG::in_d * CFG::in_h * CFG::in_w;
  unsigned yi = 0;
Planes:
  for (unsigned pl = 0; pl < CFG::n_planes; pl++) {
    const In *xp = x + pl * in_plane;
    for (unsigned od = 0; od < CFG::out_d; od++) {
      for (unsigned oh = 0; oh < CFG::out_h; oh++) {
        for (unsigned ow = 0; ow < CFG::out_w; ow++) {
#pragma HLS PIPELINE II=CFG::reuse_factor
          typename CFG::accum_t acc = 0;
          bool first = true;
          for_each_window_tap<CFG>(od, oh, ow, [&](unsigned xi, unsigned) {
            const typename CFG::accum_t v = (typename CFG::accum_t)xp[xi];
            if (CFG::pool == POOL_MAX) {
              if (first || v > acc || v != v) acc = v;
            } else {
              acc += v;
            }
            first = false;
          });
          if (CFG::pool == POOL_AVG) acc = acc / (typename CFG::accum_t)window_count<CFG>(od, oh, ow);
          y[yi++] = (Out)acc;
        }
      }
    }
  }
}

// int8 QAvgPool: y = clamp(zy + rq(sum_window(x - zx), M[cnt-1], n[cnt-1])); rq_tflite: TFLite's
// rounded division of the window sum by cnt instead.
template<class In, class Out, class CFG>
void qavgpool(const In x[], Out y[], const int32_t mult[], const int32_t shift[]) {
  const unsigned in_plane = CFG::in_d * CFG::in_h * CFG::in_w;
  unsigned yi = 0;
Planes:
  for (unsigned pl = 0; pl < CFG::n_planes; pl++) {
    const In *xp = x + pl * in_plane;
    for (unsigned od = 0; od < CFG::out_d; od++) {
      for (unsigned oh = 0; oh < CFG::out_h; oh++) {
        for (unsigned ow = 0; ow < CFG::out_w; ow++) {
#pragma HLS PIPELINE II=CFG::reuse_factor
          int64_t acc = 0;
          for_each_window_tap<CFG>(od, oh, ow, [&](unsigned xi, unsigned) { acc += (int32_t)xp[xi] - CFG::x_zero_point; });
          const int cnt = window_count<CFG>(od, oh, ow);
          const int64_t v = (CFG::rq_tflite ? rounded_div(acc, cnt) : rq_fixed(acc, mult[cnt - 1], shift[cnt - 1])) + CFG::y_zero_point;
          y[yi++] = (Out)clamp64(v, CFG::clamp_lo, CFG::clamp_hi);
        }
      }
    }
  }
}

struct reduce_config {
  static const unsigned n_outer = 1, n_reduce = 1, n_inner = 1;
  static const int op = RED_MEAN;
  static const unsigned reuse_factor = 1;
  typedef float accum_t;
};

// Reduction of the middle axis of an [outer, n, inner] tensor (global pooling, ReduceX over a
// contiguous run of axes).
template<class In, class Out, class CFG>
void reduce(const In x[], Out y[]) {
  typedef typename CFG::accum_t T;
Outer:
  for (unsigned o = 0; o < CFG::n_outer; o++) {
  Inner:
    for (unsigned i = 0; i < CFG::n_inner; i++) {
#pragma HLS PIPELINE II=CFG::reuse_factor
      const In *xp = x + o * CFG::n_reduce * CFG::n_inner + i;
      T mx = (T)xp[0];
      if (CFG::op == RED_LOGSUMEXP) {
        for (unsigned r = 1; r < CFG::n_reduce; r++) { T v = (T)xp[r * CFG::n_inner]; if (v > mx) mx = v; }
      }
      T acc = CFG::op == RED_PROD ? (T)1 : (T)0;
      if (CFG::op == RED_MAX || CFG::op == RED_MIN) acc = (T)xp[0];
    Reduce:
      for (unsigned r = 0; r < CFG::n_reduce; r++) {
        const T v = (T)xp[r * CFG::n_inner];
        switch (CFG::op) {
          case RED_MAX: if (v > acc || v != v) acc = v; break;
          case RED_MIN: if (v < acc || v != v) acc = v; break;
          case RED_PROD: acc *= v; break;
          case RED_LOGSUMEXP: acc += std::exp(v - mx); break;
          case RED_SUMSQUARE: case RED_L2: acc += v * v; break;
          case RED_L1: acc += std::fabs(v); break;
          default: acc += v; break;
        }
      }
      if (CFG::op == RED_MEAN) acc = acc / (T)CFG::n_reduce;
      if (CFG::op == RED_LOGSUMEXP) acc = mx + std::log(acc);
      if (CFG::op == RED_L2) acc = std::sqrt(acc);
      if (CFG::op == RED_LOGSUM) acc = std::log(acc);
      y[o * CFG::n_inner + i] = (Out)acc;
    }
  }
}

// int8 QReduceMean / GlobalAveragePool: y = clamp(zy + rq(wrap32(sum(x - zx)), M, n)).
template<class In, class Out, class CFG>
void qreduce_mean(const In x[], Out y[]) {
Outer:
  for (unsigned o = 0; o < CFG::n_outer; o++) {
  Inner:
    for (unsigned i = 0; i < CFG::n_inner; i++) {
#pragma HLS PIPELINE II=CFG::reuse_factor
      int64_t acc = 0;
    Reduce:
      for (unsigned r = 0; r < CFG::n_reduce; r++) {
        acc += (int32_t)x[(o * CFG::n_reduce + r) * CFG::n_inner + i] - CFG::x_zero_point;
      }
      // rq_tflite: TFLite's MEAN, MultiplyByQuantizedMultiplier of the sum, then / count rounded half away
      y[o * CFG::n_inner + i] = CFG::rq_tflite
        ? (Out)clamp64(rounded_div(rq_tflite(wrap_i32(acc), CFG::multiplier, CFG::shift), CFG::n_reduce) + CFG::y_zero_point, CFG::clamp_lo, CFG::clamp_hi)
        : (Out)out_stage<CFG>(wrap_i32(acc), CFG::multiplier, CFG::shift, CFG::scale);
    }
  }
}

} // namespace nnet

#endif
