// Elementwise and data-movement kernels: broadcast binary ops (Add/Sub/Mul/Div/Max/Min, also the
// SE-block channel scale), int8 QAdd/QMul, unary activations, (de)quantization, Requantize,
// concat, strided copies (Slice/Transpose), Pad and plain copies. Shapes are padded to rank 6 by the
// generator: d0..d5 output dims, sa*/sb* input strides (0 on broadcast dims).
#ifndef NNET_MERGE_H_
#define NNET_MERGE_H_

#include "nnet_common.h"

namespace nnet {

enum binary_op { BIN_ADD = 0, BIN_SUB = 1, BIN_MUL = 2, BIN_DIV = 3, BIN_MAX = 4, BIN_MIN = 5, BIN_POW = 6 };

struct broadcast_config {
  static const unsigned d0 = 1, d1 = 1, d2 = 1, d3 = 1, d4 = 1, d5 = 1;
  static const unsigned sa0 = 0, sa1 = 0, sa2 = 0, sa3 = 0, sa4 = 0, sa5 = 0;
  static const unsigned sb0 = 0, sb1 = 0, sb2 = 0, sb3 = 0, sb4 = 0, sb5 = 0;
  static const int op = BIN_ADD;
  static const unsigned reuse_factor = 1;
  typedef float accum_t;
};

template<class T> inline T binary_apply(int op, T a, T b) {
  switch (op) {
    case BIN_ADD: return a + b;
    case BIN_SUB: return a - b;
    case BIN_MUL: return a * b;
    case BIN_DIV: return a / b;
    case BIN_MAX: return (a != a || a > b) ? a : b;
    case BIN_MIN: return (a != a || a < b) ? a : b;
    case BIN_POW: return std::pow(a, b);
    default: return a;
  }
}

// Runs BODY for every output element i of a rank-6 broadcast, with input offsets ia and ib.
#define NNET_BROADCAST_LOOP(CFG, BODY)                                                        \
  unsigned i = 0;                                                                             \
  for (unsigned i0 = 0; i0 < CFG::d0; i0++)                                                   \
    for (unsigned i1 = 0; i1 < CFG::d1; i1++)                                                 \
      for (unsigned i2 = 0; i2 < CFG::d2; i2++)                                               \
        for (unsigned i3 = 0; i3 < CFG::d3; i3++)                                             \
          for (unsigned i4 = 0; i4 < CFG::d4; i4++)                                           \
            for (unsigned i5 = 0; i5 < CFG::d5; i5++, i++) {                                  \
              _Pragma("HLS PIPELINE II=1")                                                    \
              const unsigned ia = i0 * CFG::sa0 + i1 * CFG::sa1 + i2 * CFG::sa2 + i3 * CFG::sa3 + \
                                  i4 * CFG::sa4 + i5 * CFG::sa5;                              \
              const unsigned ib = i0 * CFG::sb0 + i1 * CFG::sb1 + i2 * CFG::sb2 + i3 * CFG::sb3 + \
                                  i4 * CFG::sb4 + i5 * CFG::sb5;                              \
              BODY                                                                            \
            }

template<class InA, class InB, class Out, class CFG>
void binary(const InA a[], const InB b[], Out y[]) {
  typedef typename CFG::accum_t T;
  NNET_BROADCAST_LOOP(CFG, { y[i] = (Out)binary_apply<T>(CFG::op, (T)a[ia], (T)b[ib]); })
}

// Two-input alias with the library's <In, Out, CFG> shape (same input types).
template<class In, class Out, class CFG>
void add(const In a[], const In b[], Out y[]) { binary<In, In, Out, CFG>(a, b, y); }

// int8 QAdd: y = clamp(zy + floor((Ma(a - za) + Mb(b - zb) + 2^(n-1)) / 2^n)).
template<class InA, class InB, class Out, class CFG>
void qadd(const InA a[], const InB b[], Out y[]) {
  NNET_BROADCAST_LOOP(CFG, {
    const int64_t s = (int64_t)CFG::a_multiplier * ((int32_t)a[ia] - CFG::a_zero_point) +
                      (int64_t)CFG::b_multiplier * ((int32_t)b[ib] - CFG::b_zero_point);
    y[i] = (Out)clamp64(round_shift(s, CFG::shift) + CFG::y_zero_point, CFG::clamp_lo, CFG::clamp_hi);
  })
}

// int8 QAdd with rq_mode 'tflite' (TFLite's ADD): T = rq_tflite,
// y = clamp(zy + T(T((a - za) << L, Ma, na) + T((b - zb) << L, Mb, nb), M, n)).
template<class InA, class InB, class Out, class CFG>
void qadd_tflite(const InA a[], const InB b[], Out y[]) {
  NNET_BROADCAST_LOOP(CFG, {
    const int32_t sa = rq_tflite((int32_t)((uint32_t)((int32_t)a[ia] - CFG::a_zero_point) << CFG::left_shift), CFG::a_multiplier, CFG::a_shift);
    const int32_t sb = rq_tflite((int32_t)((uint32_t)((int32_t)b[ib] - CFG::b_zero_point) << CFG::left_shift), CFG::b_multiplier, CFG::b_shift);
    y[i] = (Out)clamp64((int64_t)rq_tflite((int32_t)((uint32_t)sa + (uint32_t)sb), CFG::multiplier, CFG::shift) + CFG::y_zero_point, CFG::clamp_lo, CFG::clamp_hi);
  })
}

// int8 QMul: y = clamp(zy + rq((a - za)(b - zb), M, n)).
template<class InA, class InB, class Out, class CFG>
void qmul(const InA a[], const InB b[], Out y[]) {
  NNET_BROADCAST_LOOP(CFG, {
    const int64_t p = (int64_t)((int32_t)a[ia] - CFG::a_zero_point) * (int64_t)((int32_t)b[ib] - CFG::b_zero_point);
    y[i] = (Out)clamp64(rq_fixed(p, CFG::multiplier, CFG::shift) + CFG::y_zero_point, CFG::clamp_lo, CFG::clamp_hi);
  })
}

// int8 QMul with rq_mode 'tflite' (TFLite's MUL, reference_integer_ops::Mul):
// y = clamp(zy + rq_tflite((a - za)(b - zb), M, n)), the product an int32.
template<class InA, class InB, class Out, class CFG>
void qmul_tflite(const InA a[], const InB b[], Out y[]) {
  NNET_BROADCAST_LOOP(CFG, {
    const int32_t p = ((int32_t)a[ia] - (int32_t)CFG::a_zero_point) * ((int32_t)b[ib] - (int32_t)CFG::b_zero_point);
    y[i] = (Out)clamp64((int64_t)rq_tflite(p, CFG::multiplier, CFG::shift) + CFG::y_zero_point, CFG::clamp_lo, CFG::clamp_hi);
  })
}

// edgec.QLut (TFLite's int8 / uint8 LOGISTIC and TANH): y = table[byte(x)].
struct lut_config {
  static const unsigned n_elem = 1;
};
template<class In, class Out, class CFG>
void qlut(const In x[], Out y[], const int16_t table[256]) {
  for (unsigned i = 0; i < CFG::n_elem; i++) {
#pragma HLS PIPELINE II=1
    y[i] = (Out)table[(uint8_t)(int32_t)x[i]];
  }
}

struct unary_config {
  static const unsigned n_elem = 1;
  static const int activation = ACT_RELU;
  static const unsigned reuse_factor = 1;
  typedef float accum_t;
};

template<class In, class Out, class CFG>
void activation(const In x[], Out y[]) {
  const typename CFG::accum_t p0 = CFG::act_p0, p1 = CFG::act_p1;
Elem:
  for (unsigned i = 0; i < CFG::n_elem; i++) {
#pragma HLS PIPELINE II=CFG::reuse_factor
    y[i] = (Out)act_apply<typename CFG::accum_t>(CFG::activation, (typename CFG::accum_t)x[i], p0, p1);
  }
}

// QuantizeLinear (per tensor): y = saturate(roundHalfEven(x / scale) + zp); NaN gives 0.
template<class In, class Out, class CFG>
void quantize(const In x[], Out y[]) {
  const float s = CFG::scale;
Elem:
  for (unsigned i = 0; i < CFG::n_elem; i++) {
#pragma HLS PIPELINE II=CFG::reuse_factor
    const float q = round_half_even_f((float)x[i] / s);
    if (q != q) { y[i] = (Out)0; continue; }
    if (CFG::clamp_lo - CFG::zero_point >= -16777216 && CFG::clamp_hi - CFG::zero_point <= 16777216) {
      // 8/16-bit outputs: q against the bounds minus the zero point, integers exact in float (no
      // double arithmetic, which is software on a Cortex-M4)
      y[i] = (Out)(q < (float)(CFG::clamp_lo - CFG::zero_point) ? CFG::clamp_lo
                 : (q > (float)(CFG::clamp_hi - CFG::zero_point) ? CFG::clamp_hi : (int64_t)(int32_t)q + CFG::zero_point));
      continue;
    }
    const double v = (double)q + (double)CFG::zero_point;
    y[i] = (Out)(v < (double)CFG::clamp_lo ? CFG::clamp_lo : (v > (double)CFG::clamp_hi ? CFG::clamp_hi : (int64_t)v));
  }
}

// edgec.TflQuantize (TFLite's float QUANTIZE, per tensor): y = saturate(round(f32(x / scale)) + zp)
// rounding half away from zero (TfLiteRound); NaN gives zp.
template<class In, class Out, class CFG>
void tfl_quantize(const In x[], Out y[]) {
  const float s = CFG::scale;
Elem:
  for (unsigned i = 0; i < CFG::n_elem; i++) {
#pragma HLS PIPELINE II=CFG::reuse_factor
    const float q = (float)x[i] / s;
    if (q != q) { y[i] = (Out)CFG::zero_point; continue; }
    // |q| >= 2^23 is an integer (or infinite) already; below, a - trunc(a) is exact
    const float a = std::fabs(q);
    float r = a;
    if (a < 8388608.0f) {
      const float t = (float)(int32_t)a;
      r = a - t >= 0.5f ? t + 1.0f : t;
    }
    if (q < 0.0f) r = -r;
    y[i] = (Out)(r < (float)(CFG::clamp_lo - CFG::zero_point) ? CFG::clamp_lo
               : (r > (float)(CFG::clamp_hi - CFG::zero_point) ? CFG::clamp_hi : (int64_t)(int32_t)r + CFG::zero_point));
  }
}

// DequantizeLinear (per tensor): y = float(x - zp) * scale.
template<class In, class Out, class CFG>
void dequantize(const In x[], Out y[]) {
  const float s = CFG::scale;
Elem:
  for (unsigned i = 0; i < CFG::n_elem; i++) {
#pragma HLS PIPELINE II=CFG::reuse_factor
    y[i] = (Out)((float)((int32_t)x[i] - CFG::zero_point) * s);
  }
}

// Requantize: y = clamp(zy + rq(x - zx)) (per tensor; rq_tflite: TFLite's MultiplyByQuantizedMultiplier).
template<class In, class Out, class CFG>
void requantize(const In x[], Out y[]) {
Elem:
  for (unsigned i = 0; i < CFG::n_elem; i++) {
#pragma HLS PIPELINE II=CFG::reuse_factor
    const int64_t d = (int64_t)x[i] - CFG::x_zero_point;
    const int64_t v = CFG::rq_float ? rq_float(d, CFG::scale) : CFG::rq_tflite ? (int64_t)rq_tflite((int32_t)d, CFG::multiplier, CFG::shift) : rq_fixed(d, CFG::multiplier, CFG::shift);
    y[i] = (Out)clamp64(v + CFG::y_zero_point, CFG::clamp_lo, CFG::clamp_hi);
  }
}

struct concat_config {
  static const unsigned n_outer = 1, in_inner = 1, out_inner = 1, offset = 0;
};

// One input's slab of a Concat: y[o, offset : offset + in_inner] = x[o, :].
template<class In, class Out, class CFG>
void concat_part(const In x[], Out y[]) {
Outer:
  for (unsigned o = 0; o < CFG::n_outer; o++) {
  Inner:
    for (unsigned i = 0; i < CFG::in_inner; i++) {
#pragma HLS PIPELINE II=1
      y[o * CFG::out_inner + CFG::offset + i] = (Out)x[o * CFG::in_inner + i];
    }
  }
}

struct strided_config {
  static const unsigned d0 = 1, d1 = 1, d2 = 1, d3 = 1, d4 = 1, d5 = 1;
  static const int st0 = 0, st1 = 0, st2 = 0, st3 = 0, st4 = 0, st5 = 0;
  static const int offset = 0;
};

// y (contiguous, dims d0..d5) = x viewed with element strides st0..st5 from offset
// (Slice with steps, Transpose, Pad-free crops).
template<class In, class Out, class CFG>
void strided_copy(const In x[], Out y[]) {
  unsigned i = 0;
  for (unsigned i0 = 0; i0 < CFG::d0; i0++)
    for (unsigned i1 = 0; i1 < CFG::d1; i1++)
      for (unsigned i2 = 0; i2 < CFG::d2; i2++)
        for (unsigned i3 = 0; i3 < CFG::d3; i3++)
          for (unsigned i4 = 0; i4 < CFG::d4; i4++)
            for (unsigned i5 = 0; i5 < CFG::d5; i5++, i++) {
#pragma HLS PIPELINE II=1
              const int src = CFG::offset + (int)i0 * CFG::st0 + (int)i1 * CFG::st1 + (int)i2 * CFG::st2 +
                              (int)i3 * CFG::st3 + (int)i4 * CFG::st4 + (int)i5 * CFG::st5;
              y[i] = (Out)x[src];
            }
}

enum pad_mode { PAD_CONSTANT = 0, PAD_REFLECT = 1, PAD_EDGE = 2, PAD_WRAP = 3 };

struct pad_config {
  static const unsigned d0 = 1, d1 = 1, d2 = 1, d3 = 1, d4 = 1, d5 = 1;  // output dims
  static const int n0 = 1, n1 = 1, n2 = 1, n3 = 1, n4 = 1, n5 = 1;       // source extent per axis (after crops)
  static const int pb0 = 0, pb1 = 0, pb2 = 0, pb3 = 0, pb4 = 0, pb5 = 0; // begin pads (>= 0)
  static const int st0 = 0, st1 = 0, st2 = 0, st3 = 0, st4 = 0, st5 = 0; // input element strides
  static const int offset = 0;                                           // first source element (begin crops)
  static const int mode = PAD_CONSTANT;
  static constexpr double value = 0.0;                                   // constant mode fill value
};

// Source coordinate of (output coordinate - begin pad) `i` along an axis of extent n, or -1 where
// the output takes the constant (ONNX Pad: reflect mirrors without the edge, edge repeats it,
// wrap is periodic).
inline int pad_source(int i, int n, int mode) {
  if (i >= 0 && i < n) return i;
  switch (mode) {
    case PAD_EDGE: return i < 0 ? 0 : n - 1;
    case PAD_WRAP: {
      const int m = i % n;
      return m < 0 ? m + n : m;
    }
    case PAD_REFLECT: {
      if (n == 1) return 0;
      const int period = 2 * (n - 1);
      int m = i % period;
      if (m < 0) m += period;
      return m >= n ? period - m : m;
    }
    default: return -1;
  }
}

// Pad (the Pads fold-pad did not fold into a conv or pool): y (contiguous, dims d0..d5) takes
// x[offset + sum src_k * st_k], src_k = pad_source(i_k - pb_k, n_k), or the constant value.
// Negative ONNX pads are crops (offset, n_k); the element type passes through unchanged.
template<class In, class Out, class CFG>
void pad(const In x[], Out y[]) {
  unsigned i = 0;
  for (unsigned i0 = 0; i0 < CFG::d0; i0++)
    for (unsigned i1 = 0; i1 < CFG::d1; i1++)
      for (unsigned i2 = 0; i2 < CFG::d2; i2++)
        for (unsigned i3 = 0; i3 < CFG::d3; i3++)
          for (unsigned i4 = 0; i4 < CFG::d4; i4++)
            for (unsigned i5 = 0; i5 < CFG::d5; i5++, i++) {
#pragma HLS PIPELINE II=1
              const int s0 = pad_source((int)i0 - CFG::pb0, CFG::n0, CFG::mode);
              const int s1 = pad_source((int)i1 - CFG::pb1, CFG::n1, CFG::mode);
              const int s2 = pad_source((int)i2 - CFG::pb2, CFG::n2, CFG::mode);
              const int s3 = pad_source((int)i3 - CFG::pb3, CFG::n3, CFG::mode);
              const int s4 = pad_source((int)i4 - CFG::pb4, CFG::n4, CFG::mode);
              const int s5 = pad_source((int)i5 - CFG::pb5, CFG::n5, CFG::mode);
              if (s0 < 0 || s1 < 0 || s2 < 0 || s3 < 0 || s4 < 0 || s5 < 0) {
                y[i] = (Out)CFG::value;
              } else {
                y[i] = (Out)x[CFG::offset + s0 * CFG::st0 + s1 * CFG::st1 + s2 * CFG::st2 + s3 * CFG::st3 + s4 * CFG::st4 + s5 * CFG::st5];
              }
            }
}

struct copy_config {
  static const unsigned n_elem = 1;
};

template<class In, class Out, class CFG>
void copy(const In x[], Out y[]) {
Elem:
  for (unsigned i = 0; i < CFG::n_elem; i++) {
#pragma HLS PIPELINE II=1
    y[i] = (Out)x[i];
  }
}

} // namespace nnet

#endif
