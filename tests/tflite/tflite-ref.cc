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

// ---- TFLite Micro's integer LSTM (kernels/lstm_eval.h, lstm_eval.cc, lstm_eval_common.cc) and the
// int16 kernels it calls (reference_integer_ops fully_connected.h, logistic.h, tanh.h, mul.h).

static const uint16_t sigmoid_table_uint16[256] = {
    32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498,
    40149, 40794, 41432, 42064, 42688, 43304, 43912, 44511, 45102, 45683, 46255,
    46817, 47369, 47911, 48443, 48964, 49475, 49975, 50464, 50942, 51409, 51865,
    52311, 52745, 53169, 53581, 53983, 54374, 54755, 55125, 55485, 55834, 56174,
    56503, 56823, 57133, 57433, 57724, 58007, 58280, 58544, 58800, 59048, 59288,
    59519, 59743, 59959, 60168, 60370, 60565, 60753, 60935, 61110, 61279, 61441,
    61599, 61750, 61896, 62036, 62172, 62302, 62428, 62549, 62666, 62778, 62886,
    62990, 63090, 63186, 63279, 63368, 63454, 63536, 63615, 63691, 63765, 63835,
    63903, 63968, 64030, 64090, 64148, 64204, 64257, 64308, 64357, 64405, 64450,
    64494, 64536, 64576, 64614, 64652, 64687, 64721, 64754, 64786, 64816, 64845,
    64873, 64900, 64926, 64950, 64974, 64997, 65019, 65039, 65060, 65079, 65097,
    65115, 65132, 65149, 65164, 65179, 65194, 65208, 65221, 65234, 65246, 65258,
    65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360,
    65367, 65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425,
    65429, 65433, 65438, 65442, 65445, 65449, 65453, 65456, 65459, 65462, 65465,
    65468, 65471, 65474, 65476, 65479, 65481, 65483, 65485, 65488, 65489, 65491,
    65493, 65495, 65497, 65498, 65500, 65501, 65503, 65504, 65505, 65507, 65508,
    65509, 65510, 65511, 65512, 65513, 65514, 65515, 65516, 65517, 65517, 65518,
    65519, 65520, 65520, 65521, 65522, 65522, 65523, 65523, 65524, 65524, 65525,
    65525, 65526, 65526, 65526, 65527, 65527, 65528, 65528, 65528, 65529, 65529,
    65529, 65529, 65530, 65530, 65530, 65530, 65531, 65531, 65531, 65531, 65531,
    65532, 65532, 65532, 65532, 65532, 65532, 65533, 65533, 65533, 65533, 65533,
    65533, 65533, 65533, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534,
    65534, 65534, 65535};

static void LogisticInt16(int32_t input_multiplier, int32_t input_left_shift, int32_t input_size, const int16_t* ptr_input_data, int16_t* ptr_output_data) {
  if (input_multiplier == 0) {  // power of two case
    input_multiplier = 3 << input_left_shift;
    input_left_shift = 0;
  }
  int32_t round = (input_left_shift > 0) ? 1 << (input_left_shift - 1) : 0;
  for (int i = 0; i < input_size; ++i, ptr_input_data++, ptr_output_data++) {
    int32_t input_data = ((*ptr_input_data) * input_multiplier + round) >> input_left_shift;
    uint32_t abs_input_data = abs(input_data);
    uint32_t uh = abs_input_data >> 9;
    uint32_t result;
    if (uh >= 255) {
      result = 0x7FFF << 10;
    } else {
      uint32_t ua = sigmoid_table_uint16[uh];
      uint32_t ub = sigmoid_table_uint16[uh + 1];
      uint32_t ut = abs_input_data & 0x1ff;
      result = (ua << 9) + ut * (ub - ua);
    }
    result = (input_data >= 0) ? (result + (1 << 9)) : ((1 << (16 + 9)) - result + (1 << 9) - 1);
    result >>= 10;
    *ptr_output_data = result;
  }
}

static void TanhInt16(int32_t input_multiplier, int32_t input_left_shift, int flat_size, const int16_t* ptr_input_data, int16_t* ptr_output_data) {
  if (input_multiplier == 0) {  // power of two case
    input_multiplier = 3 << input_left_shift;
    input_left_shift = 0;
  }
  int32_t round = (input_left_shift > 0) ? 1 << (input_left_shift - 1) : 0;
  for (int i = 0; i < flat_size; ++i, ptr_input_data++, ptr_output_data++) {
    int32_t input_data = ((*ptr_input_data) * input_multiplier + round) >> input_left_shift;
    uint32_t abs_input_data = abs(input_data);
    uint32_t uh = abs_input_data >> 8;
    int32_t result;
    if (uh >= 255) {
      result = 0xFFFF << 8;
    } else {
      uint32_t ua = sigmoid_table_uint16[uh];
      uint32_t ub = sigmoid_table_uint16[uh + 1];
      uint8_t ut = abs_input_data & 0xFF;
      result = (ua << 8) + ut * (ub - ua);
    }
    result = (input_data >= 0) ? (result - (1 << (14 + 9)) + (1 << (9 - 2))) : (-result + (1 << (14 + 9)) + (1 << (9 - 2)) - 1);
    result >>= (9 - 1);
    *ptr_output_data = result;
  }
}

struct FcParams { int32_t input_offset, weights_offset, output_offset, output_multiplier; int output_shift; int32_t act_min, act_max; };
struct MulParams { int32_t input1_offset, input2_offset, output_offset, output_multiplier; int output_shift; int32_t act_min, act_max; };

// reference_integer_ops::FullyConnected, int8 input, int16 output, int32 bias
static void FullyConnected16(const FcParams& params, int batches, int accum_depth, const int8_t* input_data, int output_depth, const int8_t* filter_data, const int32_t* bias_data, int16_t* output_data) {
  for (int b = 0; b < batches; ++b) {
    for (int out_c = 0; out_c < output_depth; ++out_c) {
      int32_t acc = 0;
      for (int d = 0; d < accum_depth; ++d) {
        int32_t input_val = input_data[b * accum_depth + d];
        int32_t filter_val = filter_data[out_c * accum_depth + d];
        acc += (filter_val + params.weights_offset) * (input_val + params.input_offset);
      }
      if (bias_data) acc += bias_data[out_c];
      int32_t acc_scaled = MultiplyByQuantizedMultiplier(acc, params.output_multiplier, params.output_shift);
      acc_scaled += params.output_offset;
      acc_scaled = std::max(acc_scaled, params.act_min);
      acc_scaled = std::min(acc_scaled, params.act_max);
      output_data[out_c + output_depth * b] = static_cast<int16_t>(acc_scaled);
    }
  }
}

template <typename OutputType>
static void MulElementwise(int size, const MulParams& params, const int16_t* input1_data, const int16_t* input2_data, OutputType* output_data) {
  for (int i = 0; i < size; ++i) {
    const int32_t input1_val = params.input1_offset + input1_data[i];
    const int32_t input2_val = params.input2_offset + input2_data[i];
    const int32_t unclamped_result = params.output_offset + MultiplyByQuantizedMultiplier(input1_val * input2_val, params.output_multiplier, params.output_shift);
    const int32_t clamped_output = std::min(params.act_max, std::max(params.act_min, unclamped_result));
    output_data[i] = static_cast<OutputType>(clamped_output);
  }
}

static void AddElementWise(const int16_t* input_1, const int16_t* input_2, int n_batch, int n_input, int16_t* output) {
  for (int batch = 0; batch < n_batch; ++batch)
    for (int i = 0; i < n_input; ++i) {
      const int index = batch * n_input + i;
      int32_t sum = input_1[index] + input_2[index];
      const int32_t sum_clamped = std::min(32767, std::max(-32768, sum));
      output[index] = static_cast<int16_t>(sum_clamped);
    }
}

// lstm_eval_common.cc CreateGateParams (CalculateOpDataFullyConnected with a temporary int16
// output of scale nonlinear_activation_input_scale, zero point 0, no activation)
static FcParams CreateFcParams(const T& input, const T& weight, float output_scale) {
  FcParams p;
  const double real_multiplier = static_cast<double>(input.scales[0]) * static_cast<double>(weight.scales[0]) / static_cast<double>(output_scale);
  QuantizeMultiplier(real_multiplier, &p.output_multiplier, &p.output_shift);
  p.input_offset = -input.zp;
  p.weights_offset = -weight.zp;
  p.output_offset = 0;
  p.act_min = -32768;
  p.act_max = 32767;
  return p;
}

static MulParams CreateInterGateMulParams(float input1_scale, float input2_scale, float output_scale, bool int8_output, int output_zp) {
  MulParams op = {};
  op.act_min = int8_output ? -128 : -32768;
  op.act_max = int8_output ? 127 : 32767;
  op.input1_offset = 0;
  op.input2_offset = 0;
  op.output_offset = output_zp;
  const double input_product_scale = static_cast<double>(input1_scale) * static_cast<double>(input2_scale);
  double effective_scale = input_product_scale / static_cast<double>(output_scale);
  QuantizeMultiplier(effective_scale, &op.output_multiplier, &op.output_shift);
  return op;
}

// lstm_eval.cc lstm_internal::Tanh (cell_state_scale_power -> the int16 Tanh's multiplier / shift)
static void LstmTanh(int32_t cell_state_scale_power, int n, const int16_t* input_data, int16_t* output_data) {
  int32_t tanh_input_left_shift = (15 + cell_state_scale_power) - 3;
  int32_t input_multiplier = 0;
  if (tanh_input_left_shift < 0) {
    tanh_input_left_shift = -tanh_input_left_shift;
    input_multiplier = 3;
  }
  TanhInt16(input_multiplier, tanh_input_left_shift, n, input_data, output_data);
}

// UNIDIRECTIONAL_SEQUENCE_LSTM, int8 activations / int16 cell (opts: time_major, activation, cell_clip float bits).
// ts: x, W_i W_f W_c W_o, R_i R_f R_c R_o, b_i b_f b_c b_o, hidden state, cell state, y.
static void Lstm(const std::vector<int>& o, std::vector<T>& ts, std::vector<int32_t>& out) {
  const bool time_major = o[0] != 0;
  const int activation = o[1];
  float cell_clip;
  std::memcpy(&cell_clip, &o[2], 4);
  const T& x = ts[0];
  const T& hs = ts[13];
  const T& cs = ts[14];
  const int B = time_major ? x.dim(1) : x.dim(0), TS = time_major ? x.dim(0) : x.dim(1), I = x.dim(2);
  const int S = ts[1].dim(0);
  // Prepare: gate parameters in the order forget, input, cell, output as TFLM names them
  const float nonlinear_input_scale = 0.000244140625;
  FcParams in_fc[4], rec_fc[4];
  for (int g = 0; g < 4; ++g) {
    in_fc[g] = CreateFcParams(x, ts[1 + g], nonlinear_input_scale);
    rec_fc[g] = CreateFcParams(hs, ts[5 + g], nonlinear_input_scale);
  }
  const float nonlinear_output_scale = 0.000030517578125;
  const float cell_state_scale = cs.scales[0];
  MulParams forget_cell = CreateInterGateMulParams(nonlinear_output_scale, cell_state_scale, cell_state_scale, false, 0);
  MulParams input_mul = CreateInterGateMulParams(nonlinear_output_scale, nonlinear_output_scale, cell_state_scale, false, 0);
  MulParams output_mul = CreateInterGateMulParams(nonlinear_output_scale, nonlinear_output_scale, hs.scales[0], true, hs.zp);
  // CreateLstmCellStateInfo: CheckedLog2 and the quantized clip
  const float x_log2 = std::log(cell_state_scale) * (1.0f / std::log(2.0f));
  const int cell_state_scale_power = static_cast<int>(std::round(x_log2));
  const int16_t quantized_cell_clip = static_cast<int16_t>(std::min(std::max(static_cast<double>(cell_clip) / static_cast<double>(cell_state_scale), -32768.0), 32767.0));
  // weights as int8 and biases as int32
  std::vector<std::vector<int8_t>> W(8);
  std::vector<std::vector<int32_t>> bias(4);
  for (int k = 0; k < 8; ++k) for (long long v : ts[1 + k].data) W[k].push_back((int8_t)v);
  for (int k = 0; k < 4; ++k) for (long long v : ts[9 + k].data) bias[k].push_back((int32_t)v);
  std::vector<int8_t> xin;
  for (long long v : x.data) xin.push_back((int8_t)v);
  // variable state tensors after ResetVariableTensors: an int8 tensor holds its zero point, others 0
  std::vector<int8_t> hidden(B * S, static_cast<int8_t>(hs.zp));
  std::vector<int16_t> cell(B * S, 0);
  std::vector<int8_t> output(B * TS * S);
  const int nb = time_major ? B : 1;  // batch rows per step
  std::vector<int16_t> buf0(nb * S), buf1(nb * S), buf2(nb * S), buf3(nb * S);
  auto gate = [&](int g, const int8_t* in, const int8_t* h, int16_t* gate_output, int act) {
    FullyConnected16(in_fc[g], nb, I, in, S, W[g].data(), bias[g].data(), gate_output);
    FullyConnected16(rec_fc[g], nb, S, h, S, W[4 + g].data(), nullptr, buf3.data());
    AddElementWise(gate_output, buf3.data(), nb, S, gate_output);
    if (act == 6) LogisticInt16(0, 0, nb * S, gate_output, gate_output);
    else LstmTanh(-12, nb * S, gate_output, gate_output);
  };
  auto step = [&](const int8_t* in, int8_t* h, int16_t* c, int8_t* y) {
    gate(1, in, h, buf0.data(), 6);           // forget
    gate(0, in, h, buf1.data(), 6);           // input
    gate(2, in, h, buf2.data(), activation);  // cell
    // UpdateLstmCell
    MulElementwise(nb * S, forget_cell, buf0.data(), c, c);
    MulElementwise(nb * S, input_mul, buf1.data(), buf2.data(), buf1.data());
    AddElementWise(c, buf1.data(), nb, S, c);
    if (cell_clip > 0)
      for (int i = 0; i < nb * S; i++) c[i] = std::max(std::min(quantized_cell_clip, c[i]), static_cast<int16_t>(-quantized_cell_clip));
    gate(3, in, h, buf1.data(), 6);           // output
    // UpdateLstmHidden
    LstmTanh(cell_state_scale_power, nb * S, c, buf0.data());
    MulElementwise(nb * S, output_mul, buf0.data(), buf1.data(), h);
    std::memcpy(y, h, nb * S);
  };
  if (time_major) {
    for (int t = 0; t < TS; t++) step(&xin[t * B * I], hidden.data(), cell.data(), &output[t * B * S]);
  } else {
    for (int b = 0; b < B; b++)
      for (int t = 0; t < TS; t++) step(&xin[(b * TS + t) * I], &hidden[b * S], &cell[b * S], &output[(b * TS + t) * S]);
  }
  for (size_t i = 0; i < output.size(); ++i) out[i] = output[i];
}

// NdArrayDesc broadcasting (BroadcastAdd6DSlow, BroadcastMul6DSlow): the index in `t` of output
// element `flat` of dims `yd`, dims right-aligned, a size-1 dim repeating.
static long long BroadcastIndex(const T& t, const std::vector<int>& yd, long long flat) {
  const int R = (int)yd.size();
  std::vector<long long> coord(R);
  for (int d = R - 1; d >= 0; --d) { coord[d] = flat % yd[d]; flat /= yd[d]; }
  const int off = R - (int)t.dims.size();
  long long idx = 0, stride = 1;
  for (int d = (int)t.dims.size() - 1; d >= 0; --d) {
    idx += (t.dims[d] == 1 ? 0 : coord[d + off]) * stride;
    stride *= t.dims[d];
  }
  return idx;
}

// HARD_SWISH int8 / uint8 (reference_ops::HardSwish, hard_swish.h; activations.cc HardSwishPrepare)
static int16_t SRDHM16(int16_t a, int16_t b) {  // gemmlowp SaturatingRoundingDoublingHighMul (int16)
  bool overflow = a == b && a == std::numeric_limits<int16_t>::min();
  int32_t ab_32 = static_cast<int32_t>(a) * static_cast<int32_t>(b);
  int16_t nudge = ab_32 >= 0 ? (1 << 14) : (1 - (1 << 14));
  int16_t ab_x2_high16 = static_cast<int16_t>((ab_32 + nudge) / (1 << 15));
  return overflow ? std::numeric_limits<int16_t>::max() : ab_x2_high16;
}
static int16_t SaturatingDoublingHighMul16(int16_t a, int16_t b) {
  bool overflow = a == b && a == std::numeric_limits<int16_t>::min();
  int32_t ab_32 = static_cast<int32_t>(a) * static_cast<int32_t>(b);
  int16_t ab_x2_high16 = static_cast<int16_t>((ab_32) / (1 << 15));
  return overflow ? std::numeric_limits<int16_t>::max() : ab_x2_high16;
}
static int16_t SaturatingLeftShift16(int16_t value, int amount) {
  int64_t result = static_cast<int64_t>(value) * (1 << amount);
  result = std::min<int64_t>(result, std::numeric_limits<int16_t>::max());
  result = std::max<int64_t>(result, std::numeric_limits<int16_t>::min());
  return static_cast<int16_t>(result);
}
static int16_t RoundingDivideByPOT16(int16_t x, int exponent) {
  const int16_t mask = static_cast<int16_t>((1 << exponent) - 1);
  const int16_t remainder = x & mask;
  const int16_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return static_cast<int16_t>((x >> exponent) + (remainder > threshold ? 1 : 0));
}
static void DownScaleInt32ToInt16Multiplier(int32_t m32, int16_t* m16) {
  static constexpr int32_t kRoundingOffset = 1 << 15;
  if (m32 >= std::numeric_limits<int32_t>::max() - kRoundingOffset) {
    *m16 = std::numeric_limits<int16_t>::max();
    return;
  }
  *m16 = static_cast<int16_t>((m32 + kRoundingOffset) >> 16);
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
  } else if (opcode == 0 || opcode == 41) {  // ADD (broadcasting: BroadcastAdd6DSlow) / SUB, same shapes (opts: act); sub.cc negates input2's multiplier
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
      const int32_t v1 = -a.zp + static_cast<int32_t>(a.data[BroadcastIndex(a, y.dims, i)]), v2 = -b.zp + static_cast<int32_t>(b.data[BroadcastIndex(b, y.dims, i)]);
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
  } else if (opcode == 18) {  // MUL (opts: act): mul.cc Prepare + reference_integer_ops::Mul / BroadcastMul6DSlow
    const T &a = ts[0], &b = ts[1];
    int32_t lo, hi;
    ActivationRange(o[0], y.scales[0], y.zp, &lo, &hi);
    int32_t mult;
    int shift;
    QuantizeMultiplier(static_cast<double>(a.scales[0]) * static_cast<double>(b.scales[0]) / static_cast<double>(y.scales[0]), &mult, &shift);
    for (long long i = 0; i < ysize; ++i) {
      const int32_t input1_val = -a.zp + (int32_t)a.data[BroadcastIndex(a, y.dims, i)];
      const int32_t input2_val = -b.zp + (int32_t)b.data[BroadcastIndex(b, y.dims, i)];
      const int32_t unclamped_result = y.zp + MultiplyByQuantizedMultiplier(input1_val * input2_val, mult, shift);
      out[i] = std::min(hi, std::max(lo, unclamped_result));
    }
  } else if (opcode == 14 || opcode == 28) {  // LOGISTIC / TANH int8 (opts: [uint8]): activations.cc Prepare's LUTPopulate
    // (full TFLite's builtin kernel: a 256-entry table built in float from the scales, indexed by the input's byte)
    const T& x = ts[0];
    const bool u8 = nopts > 0 && o[0] == 1;
    const int32_t minval = u8 ? 0 : -128, maxval = u8 ? 255 : 127;
    int32_t lut[256];
    const float inverse_scale = 1 / y.scales[0];
    for (int32_t val = minval; val <= maxval; ++val) {
      const float dequantized = x.scales[0] * (val - x.zp);
      const float transformed = opcode == 14 ? 1.0f / (1.0f + std::exp(-dequantized)) : std::tanh(dequantized);
      const float rescaled = std::round(transformed * inverse_scale);
      const int32_t quantized = static_cast<int32_t>(rescaled + y.zp);
      lut[static_cast<uint8_t>(val)] = std::max(std::min(maxval, quantized), minval);
    }
    for (long long i = 0; i < ysize; ++i) out[i] = lut[static_cast<uint8_t>(x.data[i])];
  } else if (opcode == 117) {  // HARD_SWISH int8 (opts: [uint8])
    const T& x = ts[0];
    const bool u8 = nopts > 0 && o[0] == 1;
    const int32_t minval = u8 ? 0 : -128, maxval = u8 ? 255 : 127;
    const float input_scale = x.scales[0];
    const float hires_input_scale = (1.0f / 128.0f) * input_scale;
    const float reluish_scale = 3.0f / 32768.0f;
    const float output_scale = y.scales[0];
    const float output_multiplier = hires_input_scale / output_scale;
    int32_t om32, rm32;
    int output_multiplier_exponent, reluish_multiplier_exponent;
    int16_t om16, rm16;
    QuantizeMultiplier(output_multiplier, &om32, &output_multiplier_exponent);
    DownScaleInt32ToInt16Multiplier(om32, &om16);
    if (output_multiplier_exponent > 0) {
      fprintf(stderr, "HARD_SWISH: output multiplier exponent %d > 0\n", output_multiplier_exponent);
      return 4;
    }
    const float reluish_multiplier = hires_input_scale / reluish_scale;
    QuantizeMultiplier(reluish_multiplier, &rm32, &reluish_multiplier_exponent);
    DownScaleInt32ToInt16Multiplier(rm32, &rm16);
    for (long long i = 0; i < ysize; ++i) {
      const int16_t input_value = static_cast<int16_t>(x.data[i] - x.zp);
      const int16_t input_value_on_hires_input_scale = static_cast<int16_t>(input_value * (1 << 7));
      const int16_t input_value_on_preshift_output_scale = SRDHM16(input_value_on_hires_input_scale, om16);
      int16_t reluish_value = input_value_on_hires_input_scale;
      if (reluish_multiplier_exponent > 0) reluish_value = SaturatingLeftShift16(reluish_value, reluish_multiplier_exponent - 1);
      reluish_value = SRDHM16(reluish_value, rm16);
      if (reluish_multiplier_exponent > 0) reluish_value = SaturatingLeftShift16(reluish_value, 1);
      if (reluish_multiplier_exponent < 0) reluish_value = RoundingDivideByPOT16(reluish_value, -reluish_multiplier_exponent);
      reluish_value = static_cast<int16_t>((reluish_value + (1 << 15)) >> 1);
      const int16_t preshift_output_value = SaturatingDoublingHighMul16(reluish_value, input_value_on_preshift_output_scale);
      int16_t output_value = RoundingDivideByPOT16(preshift_output_value, -output_multiplier_exponent);
      output_value = static_cast<int16_t>(output_value + y.zp);
      output_value = std::min<int16_t>(output_value, static_cast<int16_t>(maxval));
      output_value = std::max<int16_t>(output_value, static_cast<int16_t>(minval));
      out[i] = output_value;
    }
  } else if (opcode == 44) {  // UNIDIRECTIONAL_SEQUENCE_LSTM (TFLite Micro's integer kernel)
    Lstm(o, ts, out);
  } else {
    fprintf(stderr, "opcode %d not covered\n", opcode);
    return 3;
  }
  for (long long i = 0; i < ysize; ++i) printf("%d\n", out[i]);
  return 0;
}
