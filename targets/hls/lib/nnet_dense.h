// Dense (fully connected) kernels: y[r, j] = act(b[j] + sum_k x[r, k] * w[j, k]); weights are
// stored [n_out][n_in] (the generator transposes Gemm trans_b = 0 / MatMul weights). Float (fp32
// or half storage), block-wise int4 weights (dense_int4), int8: QGemm; and MatMul with two runtime
// operands (matmul_rt).
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
  static const unsigned block_size = 32, n_blocks = 1;
  typedef float accum_t;
  typedef float weight_t;
  typedef float bias_t;
  typedef float scale_t;
};

// Float dense over a weight reader: wat(j, k) is weight [j][k] as an accumulator value.
template<class In, class Out, class CFG, class WAt>
inline void dense_float_core(const In x[CFG::n_rows * CFG::n_in], Out y[CFG::n_rows * CFG::n_out], const typename CFG::bias_t b[CFG::n_out], WAt wat) {
  typedef typename CFG::accum_t Acc;
  const Acc p0 = CFG::act_p0, p1 = CFG::act_p1;
Rows:
  for (unsigned r = 0; r < CFG::n_rows; r++) {
  Out_:
    for (unsigned j = 0; j < CFG::n_out; j++) {
#pragma HLS PIPELINE II=CFG::reuse_factor
      Acc acc = CFG::has_bias ? (Acc)b[j] : (Acc)0;
    In_:
      for (unsigned k = 0; k < CFG::n_in; k++) {
        acc += (Acc)x[r * CFG::n_in + k] * wat(j, k);
      }
      y[r * CFG::n_out + j] = (Out)act_apply<Acc>(CFG::activation, acc, p0, p1);
    }
  }
}

template<class In, class Out, class CFG>
void dense(const In x[CFG::n_rows * CFG::n_in], Out y[CFG::n_rows * CFG::n_out], const typename CFG::weight_t w[CFG::n_out * CFG::n_in], const typename CFG::bias_t b[CFG::n_out]) {
  typedef typename CFG::accum_t Acc;
#pragma HLS ARRAY_PARTITION variable=w cyclic factor=CFG::n_partitions
  dense_float_core<In, Out, CFG>(x, y, b, [&](unsigned j, unsigned k) { return (Acc)w[j * CFG::n_in + k]; });
}

struct matmul_rt_config {
  static const unsigned b0 = 1, b1 = 1, b2 = 1, b3 = 1;      // broadcast batch dims
  static const unsigned sa0 = 0, sa1 = 0, sa2 = 0, sa3 = 0;  // A element offset per batch step (0: broadcast)
  static const unsigned sb0 = 0, sb1 = 0, sb2 = 0, sb3 = 0;  // B element offset per batch step (0: broadcast)
  static const unsigned n_m = 1, n_k = 1, n_n = 1;
  static const int activation = ACT_NONE;
  static const unsigned reuse_factor = 1;
  static const unsigned n_partitions = 1;
  typedef float accum_t;
};

// MatMul with two runtime operands (NumPy batch broadcasting): for every batch index,
// y[m, n] = act(sum_k a[oa + m * n_k + k] * b[ob + k * n_n + n]) with oa, ob from the batch
// strides; the K loop is split over n_partitions multipliers, one (m, n) every reuse_factor cycles.
template<class InA, class InB, class Out, class CFG>
void matmul_rt(const InA a[], const InB b[], Out y[]) {
  typedef typename CFG::accum_t Acc;
  const Acc p0 = CFG::act_p0, p1 = CFG::act_p1;
#pragma HLS ARRAY_PARTITION variable=a cyclic factor=CFG::n_partitions
  unsigned yo = 0;
Batch:
  for (unsigned i0 = 0; i0 < CFG::b0; i0++)
    for (unsigned i1 = 0; i1 < CFG::b1; i1++)
      for (unsigned i2 = 0; i2 < CFG::b2; i2++)
        for (unsigned i3 = 0; i3 < CFG::b3; i3++) {
          const unsigned oa = i0 * CFG::sa0 + i1 * CFG::sa1 + i2 * CFG::sa2 + i3 * CFG::sa3;
          const unsigned ob = i0 * CFG::sb0 + i1 * CFG::sb1 + i2 * CFG::sb2 + i3 * CFG::sb3;
        Rows:
          for (unsigned m = 0; m < CFG::n_m; m++) {
          Cols:
            for (unsigned n = 0; n < CFG::n_n; n++, yo++) {
#pragma HLS PIPELINE II=CFG::reuse_factor
              Acc acc = 0;
            Inner:
              for (unsigned k = 0; k < CFG::n_k; k++) {
                acc += (Acc)a[oa + m * CFG::n_k + k] * (Acc)b[ob + k * CFG::n_n + n];
              }
              y[yo] = (Out)act_apply<Acc>(CFG::activation, acc, p0, p1);
            }
          }
        }
}

// Weight-only block-wise int4 (--int4): 4-bit q[j][k] and scales s[j][k / block_size]
// (n_blocks = ceil(n_in / block_size)), dequantized per weight in the datapath, float accumulation.
template<class In, class Out, class CFG>
void dense_int4(const In x[CFG::n_rows * CFG::n_in], Out y[CFG::n_rows * CFG::n_out], const typename CFG::weight_t w[CFG::n_out * CFG::n_in],
                const typename CFG::scale_t s[CFG::n_out * CFG::n_blocks], const typename CFG::bias_t b[CFG::n_out]) {
  typedef typename CFG::accum_t Acc;
#pragma HLS ARRAY_PARTITION variable=w cyclic factor=CFG::n_partitions
#pragma HLS ARRAY_PARTITION variable=s cyclic factor=CFG::n_partitions
  dense_float_core<In, Out, CFG>(x, y, b, [&](unsigned j, unsigned k) {
    return (Acc)w[j * CFG::n_in + k] * (Acc)s[j * CFG::n_blocks + k / CFG::block_size];
  });
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
#if EDGEC_ARM_DSP
      acc += (typename CFG::accum_t)(int32_t)dot_q(x + r * CFG::n_in, w + j * CFG::n_in, CFG::n_in, zx, zw);
#else
    In_:
      for (unsigned k = 0; k < CFG::n_in; k++) {
        acc += (typename CFG::accum_t)((int32_t)x[r * CFG::n_in + k] - zx) *
               (typename CFG::accum_t)((int32_t)w[j * CFG::n_in + k] - zw);
      }
#endif
      y[r * CFG::n_out + j] = (Out)out_stage<CFG>(wrap_i32(acc), q[j].multiplier, q[j].shift, q[j].scale);
    }
  }
}

} // namespace nnet

#endif
