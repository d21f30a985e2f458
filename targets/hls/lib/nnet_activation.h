// Softmax / LogSoftmax along one axis of an [outer, n, inner] tensor, LayerNormalization over the
// trailing elements of each row, and batch normalization as a per-channel scale and shift
// (y = x * scale[c] + shift[c], folded at compile time).
#ifndef NNET_ACTIVATION_H_
#define NNET_ACTIVATION_H_

#include "nnet_common.h"

namespace nnet {

struct softmax_config {
  static const unsigned n_outer = 1, n_axis = 1, n_inner = 1;
  static const bool log = false;
  static const unsigned reuse_factor = 1;
  typedef float accum_t;
};

template<class In, class Out, class CFG>
void softmax(const In x[], Out y[]) {
  typedef typename CFG::accum_t T;
Outer:
  for (unsigned o = 0; o < CFG::n_outer; o++) {
  Inner:
    for (unsigned i = 0; i < CFG::n_inner; i++) {
#pragma HLS PIPELINE II=CFG::reuse_factor
      const unsigned base = o * CFG::n_axis * CFG::n_inner + i;
      T mx = (T)x[base];
      for (unsigned k = 1; k < CFG::n_axis; k++) { const T v = (T)x[base + k * CFG::n_inner]; if (v > mx) mx = v; }
      T sum = 0;
      for (unsigned k = 0; k < CFG::n_axis; k++) sum += std::exp((T)x[base + k * CFG::n_inner] - mx);
      const T lse = std::log(sum);
      for (unsigned k = 0; k < CFG::n_axis; k++) {
        const T d = (T)x[base + k * CFG::n_inner] - mx;
        y[base + k * CFG::n_inner] = (Out)(CFG::log ? d - lse : std::exp(d) / sum);
      }
    }
  }
}

struct layernorm_config {
  static const unsigned n_rows = 1, n_inner = 1;
  static const bool has_bias = false;
  static const bool has_stats = false;
  static constexpr float epsilon = 1e-5f;
  static const unsigned reuse_factor = 1;
  typedef float accum_t;
  typedef float scale_t;
  typedef float bias_t;
};

// LayerNormalization over the last n_inner elements of each of n_rows rows:
// y = (x - mean) / sqrt(var + epsilon) * scale[k] (+ bias[k]), scale and bias expanded to n_inner
// by the generator; two passes (mean, then the variance of the centered values) in accum_t.
// has_stats: also writes each row's Mean and InvStdDev (ONNX outputs 1 and 2).
template<class In, class Out, class Stat, class CFG>
void layernorm_stats(const In x[], Out y[], Stat mean_out[], Stat inv_out[], const typename CFG::scale_t scale[], const typename CFG::bias_t bias[]) {
  typedef typename CFG::accum_t T;
Rows:
  for (unsigned r = 0; r < CFG::n_rows; r++) {
    const unsigned base = r * CFG::n_inner;
    T sum = 0;
  Mean:
    for (unsigned k = 0; k < CFG::n_inner; k++) {
#pragma HLS PIPELINE II=1
      sum += (T)x[base + k];
    }
    const T mean = sum / (T)CFG::n_inner;
    T sq = 0;
  Var:
    for (unsigned k = 0; k < CFG::n_inner; k++) {
#pragma HLS PIPELINE II=1
      const T d = (T)x[base + k] - mean;
      sq += d * d;
    }
    const T inv = (T)1 / std::sqrt(sq / (T)CFG::n_inner + (T)CFG::epsilon);
    if (CFG::has_stats) {
      mean_out[r] = (Stat)mean;
      inv_out[r] = (Stat)inv;
    }
  Norm:
    for (unsigned k = 0; k < CFG::n_inner; k++) {
#pragma HLS PIPELINE II=CFG::reuse_factor
      T v = ((T)x[base + k] - mean) * inv * (T)scale[k];
      if (CFG::has_bias) v += (T)bias[k];
      y[base + k] = (Out)v;
    }
  }
}

// LayerNormalization with only Y read (has_stats = false: the statistics are never stored).
template<class In, class Out, class CFG>
void layernorm(const In x[], Out y[], const typename CFG::scale_t scale[], const typename CFG::bias_t bias[]) {
  layernorm_stats<In, Out, Out, CFG>(x, y, y, y, scale, bias);
}

struct batchnorm_config {
  static const unsigned n_outer = 1, n_chan = 1, n_inner = 1;
  static const unsigned reuse_factor = 1;
  typedef float accum_t;
  typedef float scale_t;
};

template<class In, class Out, class CFG>
void normalize(const In x[], Out y[], const typename CFG::scale_t scale[], const typename CFG::scale_t shift[]) {
  unsigned i = 0;
Outer:
  for (unsigned o = 0; o < CFG::n_outer; o++) {
  Chan:
    for (unsigned c = 0; c < CFG::n_chan; c++) {
    Inner:
      for (unsigned k = 0; k < CFG::n_inner; k++, i++) {
#pragma HLS PIPELINE II=CFG::reuse_factor
        y[i] = (Out)((typename CFG::accum_t)x[i] * (typename CFG::accum_t)scale[c] + (typename CFG::accum_t)shift[c]);
      }
    }
  }
}

// edgec.QSoftmax (TFLite's int8/uint8 SOFTMAX) over rows of n_axis values, all in float:
// e_j = table[255 - max + x_j], s = sum e_j in order, inv = 1 / (s * y_scale),
// y_j = clamp(round_half_away(e_j * inv) + zy) (uint8 output: trunc(e_j * inv + 0.5f)).
template<class In, class Out, class CFG>
void qsoftmax(const In x[], Out y[], const float table[256]) {
  const int32_t lo = CFG::signed_out ? -128 : 0, hi = CFG::signed_out ? 127 : 255;
Rows:
  for (unsigned r = 0; r < CFG::n_rows; r++) {
    const In *xr = x + r * CFG::n_axis;
    Out *yr = y + r * CFG::n_axis;
    int32_t mx = -1000;
    for (unsigned j = 0; j < CFG::n_axis; j++) mx = (int32_t)xr[j] > mx ? (int32_t)xr[j] : mx;
    const float *t = table + (255 - mx);
    float sum = 0.0f;
    for (unsigned j = 0; j < CFG::n_axis; j++) sum += t[(int32_t)xr[j]];
    const float inv = 1.0f / (sum * CFG::y_scale);
    for (unsigned j = 0; j < CFG::n_axis; j++) {
      const float p = t[(int32_t)xr[j]] * inv;
      const int32_t q = CFG::signed_out ? (int32_t)std::floor((double)p + 0.5) + CFG::y_zero_point : (int32_t)(p + 0.5f);
      yr[j] = (Out)(q < lo ? lo : (q > hi ? hi : q));
    }
  }
}

} // namespace nnet

#endif
