// edgec HLS kernel library: common types and helpers (hls4ml nnet_utils style).
// Kernels are templates `template<class In, class Out, class CFG>`; the generated parameters.h
// holds one config struct per layer (static consts + typedefs). Plain C++ types by default so the
// host compiler can run the C simulation; define EDGEC_AP_TYPES (or synthesize) to pull in ap_int.
#ifndef NNET_COMMON_H_
#define NNET_COMMON_H_

#include <cmath>
#include <cstdint>
#include <cstddef>
#include <limits>
#include <cstring>

#if defined(__SYNTHESIS__) || defined(EDGEC_AP_TYPES)
#include "ap_int.h"
#include "ap_fixed.h"
#endif

// ---- half (IEEE binary16, --fp16) -----------------------------------------------------------
// Vitis HLS: `half` from hls_half.h (synthesis, and C simulation under vitis_hls: the generated
// build_prj.tcl defines EDGEC_HLS_HALF). Host C simulation: the compiler's _Float16 (GCC >= 12,
// Clang), else (or with EDGEC_SOFT_HALF) a storage class with the same binary16 semantics. The
// kernels only load and store half: arithmetic runs in the layer's accum_t (float), and every
// store rounds to nearest even, as the reference rounds each op's output to f16.
#if defined(__SYNTHESIS__) || defined(EDGEC_HLS_HALF)
#include "hls_half.h"
#elif defined(__ARM_FP16_FORMAT_IEEE) && !defined(EDGEC_SOFT_HALF)
// Arm (c target, -mfp16-format=ieee): the IEEE binary16 storage type; arithmetic promotes to float,
// conversions round to nearest even (VCVTB), constant arrays stay in flash
typedef __fp16 half;
#elif defined(__FLT16_MANT_DIG__) && !defined(EDGEC_SOFT_HALF)
typedef _Float16 half;
#else
#include <cstring>
class half {
 public:
  half() : bits_(0) {}
  half(float f) : bits_(from_float(f)) {}
  operator float() const { return to_float(bits_); }

 private:
  uint16_t bits_;
  // float -> binary16, round to nearest even; overflow to inf, NaN stays NaN.
  static uint16_t from_float(float f) {
    uint32_t x;
    std::memcpy(&x, &f, 4);
    const uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    const uint32_t ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) return sign | (ax > 0x7f800000u ? 0x7e00u : 0x7c00u);
    if (ax >= 0x477ff000u) return sign | 0x7c00u;  // >= 65520 rounds to inf
    uint32_t q, rem, tie;
    if (ax < 0x38800000u) {  // below 2^-14: subnormal half (units of 2^-24) or zero
      const uint32_t e = ax >> 23;
      if (e < 102) return sign;
      const uint32_t m = (ax & 0x7fffffu) | 0x800000u, sh = 126 - e;
      q = m >> sh;
      rem = m & ((1u << sh) - 1);
      tie = 1u << (sh - 1);
    } else {
      const uint32_t r = ax - 0x38000000u;  // rebias the exponent (127 -> 15)
      q = r >> 13;
      rem = r & 0x1fffu;
      tie = 0x1000u;
    }
    if (rem > tie || (rem == tie && (q & 1u))) q++;  // a carry moves into the exponent
    return (uint16_t)(sign | q);
  }
  static float to_float(uint16_t h) {
    const uint32_t s = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0) {
      const float v = std::ldexp((float)m, -24);
      return s ? -v : v;
    }
    const uint32_t x = s | (e == 31 ? 0x7f800000u | (m << 13) : ((e + 112) << 23) | (m << 13));
    float f;
    std::memcpy(&f, &x, 4);
    return f;
  }
};
#endif

namespace nnet {

// ---- int4 weights (--int4) ------------------------------------------------------------------
// Weight-only block-wise int4: 4-bit words in the weight ROM under synthesis (ap_int<4>); one
// byte per value (-8..7) in the host C simulation.
#if defined(__SYNTHESIS__) || defined(EDGEC_AP_TYPES)
typedef ap_int<4> int4_t;
#else
typedef int8_t int4_t;
#endif

// Activation kinds (fused into conv/dense or standalone unary layers).
enum act_kind {
  ACT_NONE = 0, ACT_RELU = 1, ACT_CLIP = 2, ACT_SIGMOID = 3, ACT_HARDSIGMOID = 4, ACT_HARDSWISH = 5,
  ACT_LEAKYRELU = 6, ACT_TANH = 7, ACT_EXP = 8, ACT_LOG = 9, ACT_ABS = 10, ACT_NEG = 11, ACT_SQRT = 12,
  ACT_ERF = 13, ACT_RECIPROCAL = 14, ACT_SOFTPLUS = 15, ACT_ELU = 16, ACT_FLOOR = 17, ACT_CEIL = 18
};

template<class T> inline T act_apply(int kind, T x, T p0, T p1) {
  switch (kind) {
    case ACT_RELU: return x != x ? x : (x > T(0) ? x : T(0));
    case ACT_CLIP: return x != x ? x : (x < p0 ? p0 : (x > p1 ? p1 : x));
    case ACT_SIGMOID: return x >= T(0) ? T(1) / (T(1) + std::exp(-x)) : std::exp(x) / (T(1) + std::exp(x));
    case ACT_HARDSIGMOID: { T v = p0 * x + p1; return v < T(0) ? T(0) : (v > T(1) ? T(1) : v); }
    case ACT_HARDSWISH: { T v = x / T(6) + T(0.5); v = v < T(0) ? T(0) : (v > T(1) ? T(1) : v); return x * v; }
    case ACT_LEAKYRELU: return x >= T(0) ? x : p0 * x;
    case ACT_TANH: return std::tanh(x);
    case ACT_EXP: return std::exp(x);
    case ACT_LOG: return std::log(x);
    case ACT_ABS: return std::fabs(x);
    case ACT_NEG: return -x;
    case ACT_SQRT: return std::sqrt(x);
    case ACT_ERF: return std::erf(x);
    case ACT_RECIPROCAL: return T(1) / x;
    case ACT_SOFTPLUS: return x > T(20) ? x : std::log1p(std::exp(x));
    case ACT_ELU: return x >= T(0) ? x : p0 * (std::exp(x) - T(1));
    case ACT_FLOOR: return std::floor(x);
    case ACT_CEIL: return std::ceil(x);
    default: return x;
  }
}

// ---- integer requantization (the spec: compiler/ops/qint.ts) ----------------------------------

// Wraps a 64-bit sum to int32 (two's complement), like the reference's int32 accumulator.
inline int32_t wrap_i32(int64_t v) { return (int32_t)(uint32_t)(uint64_t)v; }

// ---- Arm DSP extension (microcontroller builds of the c target) -------------------------------
// EDGEC_ARM_DSP (default on where the compiler targets the DSP extension, __ARM_FEATURE_DSP, e.g.
// -mcpu=cortex-m4/m7; never under synthesis; -DEDGEC_ARM_DSP=0 turns it off): 8-bit dot products
// with SMLAD, two 16 x 16 multiply-accumulates per instruction. Sums are modulo 2^32, the value
// wrap_i32 gives the exact sum, so the outputs are bit-identical with the portable loops.
#if !defined(EDGEC_ARM_DSP)
#if defined(__ARM_FEATURE_DSP) && !defined(__SYNTHESIS__)
#define EDGEC_ARM_DSP 1
#else
#define EDGEC_ARM_DSP 0
#endif
#endif

// (a, b) as two signed halfwords of one word (a in the low half): |value| <= 510 for 8-bit operands.
inline uint32_t pack_i16x2(int32_t a, int32_t b) { return (uint32_t)(uint16_t)a | ((uint32_t)(uint16_t)b << 16); }

#if EDGEC_ARM_DSP
// Four 8-bit values (one unaligned word) as two words of two 16-bit lanes minus the zero point:
// lo = (v0 - z, v2 - z), hi = (v1 - z, v3 - z) (SXTB16 / UXTB16, then SSUB16; |v - z| <= 510).
template<class T> inline void unpack_q8x4(const T *p, uint32_t z2, uint32_t &lo, uint32_t &hi) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  if ((T)-1 < (T)0) {
    __asm__("sxtb16 %0, %1" : "=r"(lo) : "r"(v));
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(hi) : "r"(v));
  } else {
    __asm__("uxtb16 %0, %1" : "=r"(lo) : "r"(v));
    __asm__("uxtb16 %0, %1, ror #8" : "=r"(hi) : "r"(v));
  }
  __asm__("ssub16 %0, %0, %1" : "+r"(lo) : "r"(z2));
  __asm__("ssub16 %0, %0, %1" : "+r"(hi) : "r"(z2));
}
#endif

// sum_k (x[k] - zx)(w[k] - zw) modulo 2^32; with EDGEC_ARM_DSP and 8-bit operands four terms per
// step (two SMLAD) and a pair step, else one multiply-accumulate per term.
template<class In, class W>
inline uint32_t dot_q(const In *x, const W *w, unsigned n, int32_t zx, int32_t zw) {
  uint32_t acc = 0;
  unsigned k = 0;
#if EDGEC_ARM_DSP
  if (sizeof(In) == 1 && sizeof(W) == 1) {
    const uint32_t zx2 = pack_i16x2(zx, zx), zw2 = pack_i16x2(zw, zw);
    for (; k + 4 <= n; k += 4) {
      uint32_t xl, xh, wl, wh;
      unpack_q8x4(x + k, zx2, xl, xh);
      unpack_q8x4(w + k, zw2, wl, wh);
      __asm__("smlad %0, %1, %2, %0" : "+r"(acc) : "r"(xl), "r"(wl));
      __asm__("smlad %0, %1, %2, %0" : "+r"(acc) : "r"(xh), "r"(wh));
    }
    for (; k + 2 <= n; k += 2) {
      const uint32_t xa = pack_i16x2((int32_t)x[k] - zx, (int32_t)x[k + 1] - zx);
      const uint32_t wa = pack_i16x2((int32_t)w[k] - zw, (int32_t)w[k + 1] - zw);
      __asm__("smlad %0, %1, %2, %0" : "+r"(acc) : "r"(xa), "r"(wa));
    }
  }
#endif
  for (; k < n; k++) acc += (uint32_t)((int32_t)x[k] - zx) * (uint32_t)((int32_t)w[k] - zw);
  return acc;
}

// floor((acc * M + 2^(n-1)) / 2^n): round to nearest, ties toward +infinity (n = 0: acc * M).
inline int64_t rq_fixed(int64_t acc, int64_t M, int n) {
  int64_t p = acc * M;
  if (n == 0) return p;
  return (p + ((int64_t)1 << (n - 1))) >> n;
}

// floor((v + 2^(n-1)) / 2^n) of an exact 64-bit integer.
inline int64_t round_shift(int64_t v, int n) {
  if (n == 0) return v;
  return (v + ((int64_t)1 << (n - 1))) >> n;
}

// nearbyint of a float in the default rounding mode (round half to even) without a library call
// (no VRINT on Cortex-M4): for |v| < 2^23, adding and subtracting 2^23 (with v's sign) rounds to
// an integer in float arithmetic; larger values, infinities and NaN are returned as they are.
inline float round_half_even_f(float v) {
  if (!(std::fabs(v) < 8388608.0f)) return v;
  const float big = v < 0.0f ? -8388608.0f : 8388608.0f;
  const float t = v + big;
  return t - big;
}

// roundHalfEven(acc * s) in double (rq_mode 'float': ONNX QLinearConv/QLinearMatMul).
inline int64_t rq_float(int64_t acc, float s) {
  return (int64_t)std::nearbyint((double)acc * (double)s);
}

inline int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : (v > hi ? hi : v); }

// rq_fixed of an int32 accumulator, M in [0, 2^31) and n in [33, 62] in 32-bit arithmetic after
// the 32 x 32 -> 64 product (the usual shifts of int8 layers: a few instructions on a 32-bit MCU
// instead of a 64-bit rounding shift). With p = acc * M = hi * 2^32 + lo (0 <= lo < 2^32,
// |hi| <= 2^30): floor((p + 2^(n-1)) / 2^n) = floor((hi + 2^(n-33)) / 2^(n-32)) exactly, as the
// dropped lo / 2^32 < 1 cannot carry past a multiple of 2^(n-32); |hi + 2^(n-33)| < 2^31.
inline int32_t rq_fixed_hi(int32_t acc, int32_t M, int n) {
  const int32_t hi = (int32_t)(((int64_t)acc * (int64_t)M) >> 32);
  return (hi + ((int32_t)1 << (n - 33))) >> (n - 32);
}

// rq_mode 'tflite': TFLite's MultiplyByQuantizedMultiplier(acc, M, 31 - n): the accumulator shifted
// left by max(0, 31 - n) (int32, wrapping), SaturatingRoundingDoublingHighMul by M (M >= 0 never
// saturates: (a * M + 2^30) >> 31), then RoundingDivideByPOT by max(0, n - 31) (half away from zero).
inline int32_t rq_tflite(int32_t acc, int32_t M, int n) {
  const int32_t a = n < 31 ? (int32_t)((uint32_t)acc << (31 - n)) : acc;
  const int32_t h = (int32_t)(((int64_t)a * (int64_t)M + ((int64_t)1 << 30)) >> 31);
  if (n <= 31) return h;
  const int e = n - 31;
  const int32_t mask = (int32_t)(((int64_t)1 << e) - 1);
  const int32_t threshold = (mask >> 1) + (h < 0 ? 1 : 0);
  return (h >> e) + ((h & mask) > threshold ? 1 : 0);
}

// TFLite's integer average: sum / count rounded half away from zero (C division truncates).
inline int64_t rounded_div(int64_t sum, int64_t count) {
  return sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
}

// Output stage of QConv/QGemm: raw accumulator (i32 output), fixed-point, TFLite or float rescale.
template<class CFG> inline int64_t out_stage(int32_t acc, int32_t M, int n, float s) {
  if (CFG::out_raw) return acc;
  if (!CFG::rq_float && !CFG::rq_tflite && n >= 33 && n <= 62 && M >= 0) {
    // the same value as rq_fixed (see rq_fixed_hi); |v| <= 2^30 + |zero point| fits int32
    const int32_t v = rq_fixed_hi(acc, M, n) + (int32_t)CFG::y_zero_point;
    return v < (int32_t)CFG::clamp_lo ? CFG::clamp_lo : (v > (int32_t)CFG::clamp_hi ? CFG::clamp_hi : (int64_t)v);
  }
  int64_t v = CFG::rq_float ? rq_float(acc, s) : CFG::rq_tflite ? (int64_t)rq_tflite(acc, M, n) : rq_fixed(acc, M, n);
  return clamp64(v + CFG::y_zero_point, CFG::clamp_lo, CFG::clamp_hi);
}

// Calls f(xi, ki) for every tap of the window of output position (od, oh, ow) that lies inside the
// input (taps in the padding are skipped): xi indexes the input plane (in_d x in_h x in_w), ki the
// kernel window (k_d x k_h x k_w). The geometry (k_*, s_*, dl_*, p_*, in_*) comes from CFG, a
// conv_config or pool_config; shared by the convolution and pooling kernels.
template<class CFG, class F>
inline void for_each_window_tap(unsigned od, unsigned oh, unsigned ow, F f) {
Window:
  for (unsigned kd = 0; kd < CFG::k_d; kd++) {
    const int id = (int)(od * CFG::s_d + kd * CFG::dl_d) - CFG::p_d;
    if (id < 0 || id >= (int)CFG::in_d) continue;
    for (unsigned kh = 0; kh < CFG::k_h; kh++) {
      const int ih = (int)(oh * CFG::s_h + kh * CFG::dl_h) - CFG::p_h;
      if (ih < 0 || ih >= (int)CFG::in_h) continue;
      for (unsigned kw = 0; kw < CFG::k_w; kw++) {
#pragma HLS UNROLL
        const int iw = (int)(ow * CFG::s_w + kw * CFG::dl_w) - CFG::p_w;
        if (iw < 0 || iw >= (int)CFG::in_w) continue;
        f((unsigned)((id * CFG::in_h + ih) * CFG::in_w + iw), (kd * CFG::k_h + kh) * CFG::k_w + kw);
      }
    }
  }
}

} // namespace nnet

#endif
