// An independent check of edgec's TFLite integer arithmetic: TFLite's int8 kernels written out
// in C++ as TFLite's sources state them (kernels/internal/common.h MultiplyByQuantizedMultiplier
// with gemmlowp's SaturatingRoundingDoublingHighMul / RoundingDivideByPOT,
// quantization_util.cc QuantizeMultiplier, reference_integer_ops conv / depthwise_conv /
// fully_connected / add / pooling, kernel_util.cc CalculateActivationRangeQuantized, and the
// int8 SOFTMAX of TFLite's builtin kernels: optimized_ops::Softmax with its float exp table),
// in TFLite's own NHWC layout and loop order. Used by tests/tflite/quant-ops.test.ts.
//
// stdin: <opcode> <nopts> <opts...> <ntensors> then per tensor:
//   <rank> <dims...> <nscales> <scales...> <zero_point> <ndata> <data...>
// (inputs first, the output last; scales as decimal float32). stdout: the output values.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <vector>

struct T {
  std::vector<int> dims;
  std::vector<float> scales;
  int zp = 0;
  std::vector<long long> data;
  int dim(int i) const { return dims[i]; }
};

static int32_t SaturatingRoundingDoublingHighMul(int32_t a, int32_t b) {
  bool overflow = a == b && a == std::numeric_limits<int32_t>::min();
  int64_t a_64(a);
  int64_t b_64(b);
  int64_t ab_64 = a_64 * b_64;
  int32_t nudge = ab_64 >= 0 ? (1 << 30) : (1 - (1 << 30));
  int32_t ab_x2_high32 = static_cast<int32_t>((ab_64 + nudge) / (1ll << 31));
  return overflow ? std::numeric_limits<int32_t>::max() : ab_x2_high32;
}

static int32_t RoundingDivideByPOT(int32_t x, int exponent) {
  const int32_t mask = (1ll << exponent) - 1;
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

static int32_t MultiplyByQuantizedMultiplier(int32_t x, int32_t quantized_multiplier, int shift) {
  int left_shift = shift > 0 ? shift : 0;
  int right_shift = shift > 0 ? 0 : -shift;
  return RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(static_cast<int32_t>(static_cast<uint32_t>(x) << left_shift), quantized_multiplier), right_shift);
}

static void QuantizeMultiplier(double double_multiplier, int32_t* quantized_multiplier, int* shift) {
  if (double_multiplier == 0.) {
    *quantized_multiplier = 0;
    *shift = 0;
    return;
  }
  const double q = std::frexp(double_multiplier, shift);
  auto q_fixed = static_cast<int64_t>(std::round(q * (1ll << 31)));
  if (q_fixed == (1ll << 31)) {
    q_fixed /= 2;
    ++*shift;
  }
  if (*shift < -31) {
    *shift = 0;
    q_fixed = 0;
  }
  if (*shift > 30) {
    *shift = 30;
    q_fixed = (1ll << 31) - 1;
  }
  *quantized_multiplier = static_cast<int32_t>(q_fixed);
}

static void ActivationRange(int act, float scale, int zp, int32_t* lo, int32_t* hi) {
  const int32_t qmin = -128, qmax = 127;
  auto quantize = [scale, zp](float f) { return zp + static_cast<int32_t>(std::round(f / scale)); };
  *lo = qmin;
  *hi = qmax;
  if (act == 1) *lo = std::max(qmin, quantize(0.0));
  else if (act == 3) { *lo = std::max(qmin, quantize(0.0)); *hi = std::min(qmax, quantize(6.0)); }
  else if (act == 2) { *lo = std::max(qmin, quantize(-1.0)); *hi = std::min(qmax, quantize(1.0)); }
}

// SAME / VALID padding as TFLite's ComputePaddingHeightWidth
static int Pad(int padding, int stride, int dilation, int in, int filter, int out) {
  if (padding != 0) return 0;
  int eff = (filter - 1) * dilation + 1;
  int total = std::max((out - 1) * stride + eff - in, 0);
  return total / 2;
}

int main() {
  int opcode, nopts;
  if (scanf("%d %d", &opcode, &nopts) != 2) return 2;
  std::vector<int> o(nopts);
  for (auto& v : o) scanf("%d", &v);
  int nt;
  scanf("%d", &nt);
  std::vector<T> ts(nt);
  for (auto& t : ts) {
    int rank, ns, nd;
    scanf("%d", &rank);
    t.dims.resize(rank);
    for (auto& d : t.dims) scanf("%d", &d);
    scanf("%d", &ns);
    t.scales.resize(ns);
    for (auto& s : t.scales) scanf("%f", &s);
    scanf("%d %d", &t.zp, &nd);
    t.data.resize(nd);
    for (auto& v : t.data) scanf("%lld", &v);
  }
  T& y = ts.back();
  long long ysize = 1;
  for (int d : y.dims) ysize *= d;
  std::vector<int32_t> out(ysize);
  if (opcode == 3 || opcode == 4) {  // CONV_2D / DEPTHWISE_CONV_2D (opts: padding sw sh dw dh act)
    const T &x = ts[0], &w = ts[1];
    const bool dwc = opcode == 4;
    const int B = x.dim(0), H = x.dim(1), W = x.dim(2), C = x.dim(3);
    const int KH = w.dim(1), KW = w.dim(2), OH = y.dim(1), OW = y.dim(2), OC = y.dim(3);
    const int sw = o[1], sh = o[2], dw = o[3], dh = o[4];
    const int pt = Pad(o[0], sh, dh, H, KH, OH), pl = Pad(o[0], sw, dw, W, KW, OW);
    int32_t lo, hi;
    ActivationRange(o[5], y.scales[0], y.zp, &lo, &hi);
    const int input_offset = -x.zp;
    std::vector<int32_t> mult(OC);
    std::vector<int> shift(OC);
    for (int c = 0; c < OC; ++c) {
      const double eff = static_cast<double>(x.scales[0]) * static_cast<double>(w.scales.size() > 1 ? w.scales[c] : w.scales[0]) / static_cast<double>(y.scales[0]);
      QuantizeMultiplier(eff, &mult[c], &shift[c]);
    }
    const bool hasBias = nt == 4;
    for (int b = 0; b < B; ++b)
      for (int oy = 0; oy < OH; ++oy)
        for (int ox = 0; ox < OW; ++ox)
          for (int oc = 0; oc < OC; ++oc) {
            int32_t acc = 0;
            const int ic0 = dwc ? oc / (OC / C) : 0;
            const int icn = dwc ? 1 : C;
            for (int fy = 0; fy < KH; ++fy)
              for (int fx = 0; fx < KW; ++fx)
                for (int k = 0; k < icn; ++k) {
                  const int iy = oy * sh - pt + dh * fy, ix = ox * sw - pl + dw * fx;
                  if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                  const int ic = ic0 + k;
                  const int32_t iv = x.data[((b * H + iy) * W + ix) * C + ic];
                  const int32_t fv = dwc ? w.data[(fy * KW + fx) * OC + oc] : w.data[((oc * KH + fy) * KW + fx) * C + ic];
                  acc += fv * (iv + input_offset);
                }
            if (hasBias) acc += ts[2].data[oc];
            acc = MultiplyByQuantizedMultiplier(acc, mult[oc], shift[oc]);
            acc += y.zp;
            acc = std::max(acc, lo);
            acc = std::min(acc, hi);
            out[((b * OH + oy) * OW + ox) * OC + oc] = acc;
          }
  } else if (opcode == 9) {  // FULLY_CONNECTED (opts: act)
    const T &x = ts[0], &w = ts[1];
    const int N = w.dim(0), K = w.dim(1), rows = static_cast<int>(x.data.size()) / K;
    int32_t lo, hi, m;
    int s;
    ActivationRange(o[0], y.scales[0], y.zp, &lo, &hi);
    const double input_product_scale = static_cast<double>(x.scales[0]) * static_cast<double>(w.scales[0]);
    QuantizeMultiplier(input_product_scale / static_cast<double>(y.scales[0]), &m, &s);
    for (int r = 0; r < rows; ++r)
      for (int n = 0; n < N; ++n) {
        int32_t acc = 0;
        for (int k = 0; k < K; ++k) acc += static_cast<int32_t>(w.data[n * K + k] - w.zp) * static_cast<int32_t>(x.data[r * K + k] - x.zp);
        if (nt == 4) acc += ts[2].data[n];
        acc = MultiplyByQuantizedMultiplier(acc, m, s) + y.zp;
        out[r * N + n] = std::min(std::max(acc, lo), hi);
      }
  } else if (opcode == 0 || opcode == 41) {  // ADD / SUB, same shapes (opts: act); sub.cc negates input2's multiplier
    const T &a = ts[0], &b = ts[1];
    const int left_shift = 20;
    const double twice_max_input_scale = 2 * static_cast<double>(std::max(a.scales[0], b.scales[0]));
    int32_t m1, m2, mo, lo, hi;
    int s1, s2, so;
    QuantizeMultiplier(static_cast<double>(a.scales[0]) / twice_max_input_scale, &m1, &s1);
    QuantizeMultiplier(static_cast<double>(b.scales[0]) / twice_max_input_scale, &m2, &s2);
    if (opcode == 41) m2 = -m2;
    QuantizeMultiplier(twice_max_input_scale / ((1 << left_shift) * static_cast<double>(y.scales[0])), &mo, &so);
    ActivationRange(o[0], y.scales[0], y.zp, &lo, &hi);
    for (long long i = 0; i < ysize; ++i) {
      const int32_t v1 = -a.zp + static_cast<int32_t>(a.data[i]), v2 = -b.zp + static_cast<int32_t>(b.data[i]);
      const int32_t sv1 = MultiplyByQuantizedMultiplier(v1 * (1 << left_shift), m1, s1);
      const int32_t sv2 = MultiplyByQuantizedMultiplier(v2 * (1 << left_shift), m2, s2);
      const int32_t raw = MultiplyByQuantizedMultiplier(sv1 + sv2, mo, so) + y.zp;
      out[i] = std::min(hi, std::max(lo, raw));
    }
  } else if (opcode == 1) {  // AVERAGE_POOL_2D (opts: padding sw sh fw fh act)
    const T& x = ts[0];
    const int B = x.dim(0), H = x.dim(1), W = x.dim(2), C = x.dim(3), OH = y.dim(1), OW = y.dim(2);
    const int sw = o[1], sh = o[2], fw = o[3], fh = o[4];
    const int pt = Pad(o[0], sh, 1, H, fh, OH), pl = Pad(o[0], sw, 1, W, fw, OW);
    int32_t lo, hi;
    ActivationRange(o[5], y.scales[0], y.zp, &lo, &hi);
    for (int b = 0; b < B; ++b)
      for (int oy = 0; oy < OH; ++oy)
        for (int ox = 0; ox < OW; ++ox)
          for (int c = 0; c < C; ++c) {
            const int in_x_origin = ox * sw - pl, in_y_origin = oy * sh - pt;
            const int fx0 = std::max(0, -in_x_origin), fx1 = std::min(fw, W - in_x_origin);
            const int fy0 = std::max(0, -in_y_origin), fy1 = std::min(fh, H - in_y_origin);
            int32_t acc = 0, filter_count = 0;
            for (int fy = fy0; fy < fy1; ++fy)
              for (int fx = fx0; fx < fx1; ++fx) {
                acc += x.data[((b * H + in_y_origin + fy) * W + in_x_origin + fx) * C + c];
                filter_count++;
              }
            acc = acc > 0 ? (acc + filter_count / 2) / filter_count : (acc - filter_count / 2) / filter_count;
            out[((b * OH + oy) * OW + ox) * C + c] = std::min(std::max(acc, lo), hi);
          }
  } else if (opcode == 25) {  // SOFTMAX, beta 1 (the builtin int8 kernel: float exp table)
    const T& x = ts[0];
    float table[256];
    const float scale = -x.scales[0] * 1.0f;
    for (int32_t val = 0; val <= 255; ++val) table[255 - val] = expf(scale * val);
    const int L = x.dims.back();
    const long long rows = static_cast<long long>(x.data.size()) / L;
    for (long long r = 0; r < rows; ++r) {
      int32_t max_val = -128;
      for (int j = 0; j < L; ++j) max_val = std::max(max_val, static_cast<int32_t>(x.data[r * L + j]));
      float sum_exp = 0.0f;
      const float* table_offset = &table[255 - max_val];
      for (int j = 0; j < L; ++j) sum_exp += table_offset[x.data[r * L + j]];
      const float inv_sum_exp = 1.0f / (sum_exp * y.scales[0]);
      for (int j = 0; j < L; ++j) {
        const float prob_rescaled = table_offset[x.data[r * L + j]] * inv_sum_exp;
        const int32_t prob_quantized = static_cast<int32_t>(std::round(prob_rescaled)) + y.zp;
        out[r * L + j] = std::max(std::min(127, prob_quantized), -128);
      }
    }
  } else if (opcode == 114) {  // QUANTIZE (quantize.cc; opts: [input type, output type], 0 int8, 1 uint8, 2 float32)
    // float32 input: AffineQuantize (optimized_ops / reference_ops, float division, TfLiteRound);
    // integer input: Requantize. float32 data arrive as their IEEE-754 bit patterns.
    const T& x = ts[0];
    const int xt = nopts > 0 ? o[0] : 0, yt = nopts > 1 ? o[1] : 0;
    const int32_t qmin = yt == 1 ? 0 : -128, qmax = yt == 1 ? 255 : 127;
    if (xt == 2) {
      const float scale = y.scales[0];
      for (long long i = 0; i < ysize; ++i) {
        const uint32_t bits = static_cast<uint32_t>(x.data[i]);
        float val;
        std::memcpy(&val, &bits, 4);
        const int32_t unclamped = static_cast<int32_t>(std::round(val / scale)) + y.zp;
        out[i] = std::min(std::max(unclamped, qmin), qmax);
      }
    } else {
      int32_t m;
      int s;
      QuantizeMultiplier(static_cast<double>(x.scales[0]) / static_cast<double>(y.scales[0]), &m, &s);
      for (long long i = 0; i < ysize; ++i) {
        const int32_t v = MultiplyByQuantizedMultiplier(static_cast<int32_t>(x.data[i]) - x.zp, m, s) + y.zp;
        out[i] = std::min(qmax, std::max(qmin, v));
      }
    }
  } else if (opcode == 40) {  // MEAN int8 over H, W (reference_integer_ops::Mean; reduce.cc Prepare's multiplier)
    const T& x = ts[0];
    const int B = x.dim(0), H = x.dim(1), W = x.dim(2), C = x.dim(3);
    int32_t multiplier;
    int shift;
    QuantizeMultiplier(static_cast<double>(x.scales[0]) / static_cast<double>(y.scales[0]), &multiplier, &shift);
    const int num_elements_in_axis = H * W;
    for (int b = 0; b < B; ++b)
      for (int d = 0; d < C; ++d) {
        int32_t acc = 0;
        for (int h = 0; h < H; ++h)
          for (int w = 0; w < W; ++w) acc += static_cast<int32_t>(x.data[((b * H + h) * W + w) * C + d]) - x.zp;
        acc = MultiplyByQuantizedMultiplier(acc, multiplier, shift);
        acc = acc > 0 ? (acc + num_elements_in_axis / 2) / num_elements_in_axis : (acc - num_elements_in_axis / 2) / num_elements_in_axis;
        acc += y.zp;
        out[b * C + d] = std::min(std::max(acc, -128), 127);
      }
  } else if (opcode == 34) {  // PAD (rank 4, NHWC): the output zero point outside the input
    const T& x = ts[0];
    const std::vector<long long>& p = ts[1].data;
    const int H = x.dim(1), W = x.dim(2), C = x.dim(3), OH = y.dim(1), OW = y.dim(2), OC = y.dim(3);
    long long i = 0;
    for (int b = 0; b < y.dim(0); ++b)
      for (int oy = 0; oy < OH; ++oy)
        for (int ox = 0; ox < OW; ++ox)
          for (int oc = 0; oc < OC; ++oc, ++i) {
            const int ib = b - (int)p[0], iy = oy - (int)p[2], ix = ox - (int)p[4], ic = oc - (int)p[6];
            const bool in = ib >= 0 && ib < x.dim(0) && iy >= 0 && iy < H && ix >= 0 && ix < W && ic >= 0 && ic < C;
            out[i] = in ? (int32_t)x.data[((ib * H + iy) * W + ix) * C + ic] : y.zp;
          }
  } else if (opcode == 2) {  // CONCATENATION (opts: axis), inputs with the output's quantization
    int axis = o[0] < 0 ? o[0] + (int)y.dims.size() : o[0];
    long long outer = 1, inner = 1;
    for (int d = 0; d < axis; ++d) outer *= y.dims[d];
    for (size_t d = axis + 1; d < y.dims.size(); ++d) inner *= y.dims[d];
    long long i = 0;
    for (long long r = 0; r < outer; ++r)
      for (int k = 0; k + 1 < nt; ++k) {
        const long long n = ts[k].dims[axis] * inner;
        for (long long j = 0; j < n; ++j) out[i++] = (int32_t)ts[k].data[r * n + j];
      }
  } else {
    fprintf(stderr, "opcode %d not covered\n", opcode);
    return 3;
  }
  for (long long i = 0; i < ysize; ++i) printf("%d\n", out[i]);
  return 0;
}
