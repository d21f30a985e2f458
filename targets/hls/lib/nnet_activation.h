// Softmax / LogSoftmax along one axis of an [outer, n, inner] tensor, and batch normalization as a
// per-channel scale and shift (y = x * scale[c] + shift[c], folded at compile time).
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

} // namespace nnet

#endif
