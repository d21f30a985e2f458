// Dense (fully connected) kernels: y[r, j] = act(b[j] + sum_k x[r, k] * w[j, k]); weights are
// stored [n_out][n_in] (the generator transposes Gemm trans_b = 0 / MatMul weights). int8: QGemm.
#ifndef NNET_DENSE_H_
#define NNET_DENSE_H_

#include "nnet_common.h"
#include "nnet_conv.h"

namespace nnet {

struct dense_config {
  static const unsigned n_rows = 1, n_in = 1, n_out = 1;
  static const bool has_bias = true;
  static const int activation = ACT_NONE;
  static const unsigned reuse_factor = 1;
  static const unsigned n_partitions = 1;
  typedef float accum_t;
  typedef float weight_t;
  typedef float bias_t;
};

template<class In, class Out, class CFG>
void dense(const In x[CFG::n_rows * CFG::n_in], Out y[CFG::n_rows * CFG::n_out], const typename CFG::weight_t w[CFG::n_out * CFG::n_in], const typename CFG::bias_t b[CFG::n_out]) {
  const typename CFG::accum_t p0 = CFG::act_p0, p1 = CFG::act_p1;
#pragma HLS ARRAY_PARTITION variable=w cyclic factor=CFG::n_partitions
Rows:
  for (unsigned r = 0; r < CFG::n_rows; r++) {
  Out_:
    for (unsigned j = 0; j < CFG::n_out; j++) {
#pragma HLS PIPELINE II=CFG::reuse_factor
      typename CFG::accum_t acc = CFG::has_bias ? (typename CFG::accum_t)b[j] : (typename CFG::accum_t)0;
    In_:
      for (unsigned k = 0; k < CFG::n_in; k++) {
        acc += (typename CFG::accum_t)x[r * CFG::n_in + k] * (typename CFG::accum_t)w[j * CFG::n_in + k];
      }
      y[r * CFG::n_out + j] = (Out)act_apply<typename CFG::accum_t>(CFG::activation, acc, p0, p1);
    }
  }
}

// int8 QGemm: acc = bias + sum_k (x - zx)(w - zw[j]) wrapped to int32, then the output stage.
template<class In, class Out, class CFG>
void qdense(const In x[CFG::n_rows * CFG::n_in], Out y[CFG::n_rows * CFG::n_out], const typename CFG::weight_t w[CFG::n_out * CFG::n_in], const typename CFG::bias_t b[CFG::n_out],
            const qchan q[CFG::n_out]) {
  const int32_t zx = CFG::x_zero_point;
#pragma HLS ARRAY_PARTITION variable=w cyclic factor=CFG::n_partitions
Rows:
  for (unsigned r = 0; r < CFG::n_rows; r++) {
  Out_:
    for (unsigned j = 0; j < CFG::n_out; j++) {
#pragma HLS PIPELINE II=CFG::reuse_factor
      const int32_t zw = q[j].w_zero_point;
      typename CFG::accum_t acc = CFG::has_bias ? (typename CFG::accum_t)b[j] : 0;
    In_:
      for (unsigned k = 0; k < CFG::n_in; k++) {
        acc += (typename CFG::accum_t)((int32_t)x[r * CFG::n_in + k] - zx) *
               (typename CFG::accum_t)((int32_t)w[j * CFG::n_in + k] - zw);
      }
      y[r * CFG::n_out + j] = (Out)out_stage<CFG>(wrap_i32(acc), q[j].multiplier, q[j].shift, q[j].scale);
    }
  }
}

} // namespace nnet

#endif
