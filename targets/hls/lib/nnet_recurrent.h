// Recurrent layers (ONNX LSTM, GRU and RNN, hls4ml style, static sequence length): per time step the
// gate pre-activations are matrix-vector products of the stacked gate weights with x_t and h_{t-1}
// (one pipelined loop over the gate rows, II = reuse_factor, like the dense kernel), then a
// pipelined element-wise loop updates the state. Activations f, g (, h) are act_apply kinds with
// their parameters (default f = Sigmoid, g = h = Tanh); with has_clip the inputs of f and g are
// clamped to [-clip, clip] (ONNX `clip`). LSTM: peepholes P [D][3*H] (Pi, Po, Pf) and input_forget.
// sequence_lens (has_lens): per batch entry only the first len steps run (reverse: len-1 down to
// 0); Y is 0 at the other steps and Y_h / Y_c hold the state after the last computed step.
// Shapes (ONNX): x [S, B, I] (layout 0) or [B, S, I] (layout 1); W [D][G*H][I], R [D][G*H][H]
// (gate order LSTM i, o, f, c; GRU z, r, h); bias [D][2*G*H] = Wb then Rb; initial states and
// Y_h / Y_c [D, B, H] (layout 0) or [B, D, H]; Y [S, D, B, H] (layout 0) or [B, S, D, H].
// The hidden and cell states are kept in the output type, so they round once per step exactly as
// the reference interpreter rounds its state tensors; gate arithmetic runs in accum_t.
#ifndef NNET_RECURRENT_H_
#define NNET_RECURRENT_H_

#include "nnet_common.h"

namespace nnet {

struct recurrent_config {
  static const unsigned n_seq = 1, n_batch = 1, n_in = 1, n_hidden = 1, n_dir = 1;
  // direction: reverse (n_dir = 1) walks the sequence backwards; with n_dir = 2 direction 1 does
  static const bool reverse = false;
  static const bool batch_first = false;  // layout = 1
  static const bool linear_before_reset = false;  // GRU
  static const int f_act = ACT_SIGMOID, g_act = ACT_TANH, h_act = ACT_TANH;
  static constexpr float f_p0 = 0.0f, f_p1 = 0.0f, g_p0 = 0.0f, g_p1 = 0.0f, h_p0 = 0.0f, h_p1 = 0.0f;
  static const bool has_clip = false;
  static const bool has_peephole = false, input_forget = false;  // LSTM
  static const bool has_lens = false;
  static constexpr float clip = 0.0f;
  static const unsigned reuse_factor = 1;
  static const unsigned n_partitions = 1;
  typedef float accum_t;
  typedef float weight_t;
  typedef float bias_t;
};

template<class CFG> inline unsigned rnn_x_index(unsigned t, unsigned b, unsigned k) {
  return CFG::batch_first ? (b * CFG::n_seq + t) * CFG::n_in + k : (t * CFG::n_batch + b) * CFG::n_in + k;
}
template<class CFG> inline unsigned rnn_y_index(unsigned t, unsigned d, unsigned b, unsigned j) {
  return CFG::batch_first ? ((b * CFG::n_seq + t) * CFG::n_dir + d) * CFG::n_hidden + j
                          : ((t * CFG::n_dir + d) * CFG::n_batch + b) * CFG::n_hidden + j;
}
template<class CFG> inline unsigned rnn_state_index(unsigned d, unsigned b, unsigned j) {
  return CFG::batch_first ? (b * CFG::n_dir + d) * CFG::n_hidden + j : (d * CFG::n_batch + b) * CFG::n_hidden + j;
}
template<class CFG, class T> inline T rnn_clip(T v) {
  if (!CFG::has_clip) return v;
  const T c = (T)CFG::clip;
  return v < -c ? -c : (v > c ? c : v);
}
// Activations only the recurrent ops use (ONNX RNN/GRU/LSTM `activations`), past the act_kind ids.
enum rnn_act_kind { RNN_ACT_AFFINE = 100, RNN_ACT_SCALEDTANH = 101, RNN_ACT_THRESHOLDEDRELU = 102, RNN_ACT_SOFTSIGN = 103 };
template<class T> inline T rnn_act(int kind, T x, T a, T b) {
  switch (kind) {
    case RNN_ACT_AFFINE: return a * x + b;
    case RNN_ACT_SCALEDTANH: return a * std::tanh(b * x);
    case RNN_ACT_THRESHOLDEDRELU: return x >= a ? x : T(0);
    case RNN_ACT_SOFTSIGN: return x / (T(1) + std::fabs(x));
    default: return act_apply<T>(kind, x, a, b);
  }
}
// f and g see clipped gate inputs; h (LSTM, applied to the cell state) does not
template<class CFG, class T> inline T rnn_f(T v) { return rnn_act<T>(CFG::f_act, rnn_clip<CFG>(v), (T)CFG::f_p0, (T)CFG::f_p1); }
template<class CFG, class T> inline T rnn_g(T v) { return rnn_act<T>(CFG::g_act, rnn_clip<CFG>(v), (T)CFG::g_p0, (T)CFG::g_p1); }
template<class CFG, class T> inline T rnn_h(T v) { return rnn_act<T>(CFG::h_act, v, (T)CFG::h_p0, (T)CFG::h_p1); }

// LSTM: it = f(Wi x + Ri h + b), ot = f(Wo x + Ro h + b), ft = f(Wf x + Rf h + b),
// ct = g(Wc x + Rc h + b); C = ft * C + it * ct; h = ot * h(C). Peepholes add Pi * C_{t-1} to it,
// Pf * C_{t-1} to ft and Po * C_t to ot (p is read only with has_peephole); input_forget: ft = 1 - it.
template<class In, class Out, class H0, class C0, class L, class CFG>
void lstm(const In x[], Out y[], Out yh[], Out yc[], const typename CFG::weight_t w[], const typename CFG::weight_t r[],
          const typename CFG::bias_t bias[], const H0 h0[], const C0 c0[], const typename CFG::weight_t p[], const L lens[]) {
  typedef typename CFG::accum_t Acc;
  const unsigned H = CFG::n_hidden, I = CFG::n_in, GH = 4 * CFG::n_hidden;
#pragma HLS ARRAY_PARTITION variable=w cyclic factor=CFG::n_partitions
#pragma HLS ARRAY_PARTITION variable=r cyclic factor=CFG::n_partitions
  Out h[CFG::n_hidden], c[CFG::n_hidden];
  Acc pre[4 * CFG::n_hidden];
#pragma HLS ARRAY_PARTITION variable=h cyclic factor=CFG::n_partitions
Dir:
  for (unsigned d = 0; d < CFG::n_dir; d++) {
    const bool rev = CFG::reverse || d == 1;
  Batch:
    for (unsigned bb = 0; bb < CFG::n_batch; bb++) {
      // sequence_lens[bb] (has_lens), clamped to [0, n_seq]
      const long long lraw = CFG::has_lens ? (long long)lens[bb] : (long long)CFG::n_seq;
      const unsigned len = lraw < 0 ? 0u : (lraw > (long long)CFG::n_seq ? CFG::n_seq : (unsigned)lraw);
    Init:
      for (unsigned j = 0; j < H; j++) {
        h[j] = (Out)h0[rnn_state_index<CFG>(d, bb, j)];
        c[j] = (Out)c0[rnn_state_index<CFG>(d, bb, j)];
      }
    Steps:
      for (unsigned s = 0; s < CFG::n_seq; s++) {
        // steps at or past the entry's length are not computed: Y holds 0 there
        if (s >= len) {
        Pad:
          for (unsigned j = 0; j < H; j++) y[rnn_y_index<CFG>(s, d, bb, j)] = (Out)0;
          continue;
        }
        const unsigned t = rev ? len - 1 - s : s;
      Gates:
        for (unsigned row = 0; row < GH; row++) {
#pragma HLS PIPELINE II=CFG::reuse_factor
          Acc acc = (Acc)bias[d * 2 * GH + row] + (Acc)bias[d * 2 * GH + GH + row];
        InX:
          for (unsigned k = 0; k < I; k++) acc += (Acc)x[rnn_x_index<CFG>(t, bb, k)] * (Acc)w[(d * GH + row) * I + k];
        InH:
          for (unsigned k = 0; k < H; k++) acc += (Acc)h[k] * (Acc)r[(d * GH + row) * H + k];
          pre[row] = acc;
        }
      State:
        for (unsigned j = 0; j < H; j++) {
#pragma HLS PIPELINE II=1
          const Acc pi = CFG::has_peephole ? (Acc)p[d * 3 * H + j] : Acc(0);
          const Acc po = CFG::has_peephole ? (Acc)p[d * 3 * H + H + j] : Acc(0);
          const Acc pf = CFG::has_peephole ? (Acc)p[d * 3 * H + 2 * H + j] : Acc(0);
          const Acc it = rnn_f<CFG, Acc>(pre[j] + pi * (Acc)c[j]);
          const Acc ft = CFG::input_forget ? Acc(1) - it : rnn_f<CFG, Acc>(pre[2 * H + j] + pf * (Acc)c[j]);
          const Acc ct = rnn_g<CFG, Acc>(pre[3 * H + j]);
          const Out cn = (Out)(ft * (Acc)c[j] + it * ct);
          const Acc ot = rnn_f<CFG, Acc>(pre[H + j] + po * (Acc)cn);
          const Out hn = (Out)(ot * rnn_h<CFG, Acc>((Acc)cn));
          c[j] = cn;
          h[j] = hn;
          y[rnn_y_index<CFG>(t, d, bb, j)] = hn;
        }
      }
    Final:
      for (unsigned j = 0; j < H; j++) {
        yh[rnn_state_index<CFG>(d, bb, j)] = h[j];
        yc[rnn_state_index<CFG>(d, bb, j)] = c[j];
      }
    }
  }
}

// GRU: zt = f(Wz x + Rz h + Wbz + Rbz), rt = f(Wr x + Rr h + Wbr + Rbr),
// ht = g(Wh x + Wbh + (rt . h) Rh^T + Rbh)         (linear_before_reset = 0)
// ht = g(Wh x + Wbh + rt . (Rh h + Rbh))           (linear_before_reset = 1)
// h = (1 - zt) * ht + zt * h.
template<class In, class Out, class H0, class L, class CFG>
void gru(const In x[], Out y[], Out yh[], const typename CFG::weight_t w[], const typename CFG::weight_t r[],
         const typename CFG::bias_t bias[], const H0 h0[], const L lens[]) {
  typedef typename CFG::accum_t Acc;
  const unsigned H = CFG::n_hidden, I = CFG::n_in, GH = 3 * CFG::n_hidden;
#pragma HLS ARRAY_PARTITION variable=w cyclic factor=CFG::n_partitions
#pragma HLS ARRAY_PARTITION variable=r cyclic factor=CFG::n_partitions
  Out h[CFG::n_hidden];
  Acc rh[CFG::n_hidden], z[CFG::n_hidden], rg[CFG::n_hidden];
  Acc px[3 * CFG::n_hidden], ph[3 * CFG::n_hidden];
#pragma HLS ARRAY_PARTITION variable=h cyclic factor=CFG::n_partitions
#pragma HLS ARRAY_PARTITION variable=rh cyclic factor=CFG::n_partitions
Dir:
  for (unsigned d = 0; d < CFG::n_dir; d++) {
    const bool rev = CFG::reverse || d == 1;
  Batch:
    for (unsigned bb = 0; bb < CFG::n_batch; bb++) {
      // sequence_lens[bb] (has_lens), clamped to [0, n_seq]
      const long long lraw = CFG::has_lens ? (long long)lens[bb] : (long long)CFG::n_seq;
      const unsigned len = lraw < 0 ? 0u : (lraw > (long long)CFG::n_seq ? CFG::n_seq : (unsigned)lraw);
    Init:
      for (unsigned j = 0; j < H; j++) h[j] = (Out)h0[rnn_state_index<CFG>(d, bb, j)];
    Steps:
      for (unsigned s = 0; s < CFG::n_seq; s++) {
        // steps at or past the entry's length are not computed: Y holds 0 there
        if (s >= len) {
        Pad:
          for (unsigned j = 0; j < H; j++) y[rnn_y_index<CFG>(s, d, bb, j)] = (Out)0;
          continue;
        }
        const unsigned t = rev ? len - 1 - s : s;
      Gates:
        for (unsigned row = 0; row < GH; row++) {
#pragma HLS PIPELINE II=CFG::reuse_factor
          Acc ax = (Acc)bias[d * 2 * GH + row];
        InX:
          for (unsigned k = 0; k < I; k++) ax += (Acc)x[rnn_x_index<CFG>(t, bb, k)] * (Acc)w[(d * GH + row) * I + k];
          Acc ah = (Acc)bias[d * 2 * GH + GH + row];
          if (row < 2 * H || CFG::linear_before_reset) {
          InH:
            for (unsigned k = 0; k < H; k++) ah += (Acc)h[k] * (Acc)r[(d * GH + row) * H + k];
          }
          px[row] = ax;
          ph[row] = ah;
        }
      Reset:
        for (unsigned j = 0; j < H; j++) {
#pragma HLS PIPELINE II=1
          z[j] = rnn_f<CFG, Acc>(px[j] + ph[j]);
          rg[j] = rnn_f<CFG, Acc>(px[H + j] + ph[H + j]);
          rh[j] = rg[j] * (Acc)h[j];
        }
        if (!CFG::linear_before_reset) {
        Cand:
          for (unsigned j = 0; j < H; j++) {
#pragma HLS PIPELINE II=CFG::reuse_factor
            Acc acc = (Acc)bias[d * 2 * GH + GH + 2 * H + j];
            for (unsigned k = 0; k < H; k++) acc += rh[k] * (Acc)r[(d * GH + 2 * H + j) * H + k];
            ph[2 * H + j] = acc;
          }
        }
      State:
        for (unsigned j = 0; j < H; j++) {
#pragma HLS PIPELINE II=1
          const Acc pre = CFG::linear_before_reset ? px[2 * H + j] + rg[j] * ph[2 * H + j] : px[2 * H + j] + ph[2 * H + j];
          const Acc ht = rnn_g<CFG, Acc>(pre);
          const Out hn = (Out)((Acc(1) - z[j]) * ht + z[j] * (Acc)h[j]);
          h[j] = hn;
          y[rnn_y_index<CFG>(t, d, bb, j)] = hn;
        }
      }
    Final:
      for (unsigned j = 0; j < H; j++) yh[rnn_state_index<CFG>(d, bb, j)] = h[j];
    }
  }
}

// RNN: h = f(Wi x + Ri h + Wbi + Rbi).
template<class In, class Out, class H0, class L, class CFG>
void rnn(const In x[], Out y[], Out yh[], const typename CFG::weight_t w[], const typename CFG::weight_t r[],
         const typename CFG::bias_t bias[], const H0 h0[], const L lens[]) {
  typedef typename CFG::accum_t Acc;
  const unsigned H = CFG::n_hidden, I = CFG::n_in;
#pragma HLS ARRAY_PARTITION variable=w cyclic factor=CFG::n_partitions
#pragma HLS ARRAY_PARTITION variable=r cyclic factor=CFG::n_partitions
  Out h[CFG::n_hidden];
  Acc pre[CFG::n_hidden];
#pragma HLS ARRAY_PARTITION variable=h cyclic factor=CFG::n_partitions
Dir:
  for (unsigned d = 0; d < CFG::n_dir; d++) {
    const bool rev = CFG::reverse || d == 1;
  Batch:
    for (unsigned bb = 0; bb < CFG::n_batch; bb++) {
      const long long lraw = CFG::has_lens ? (long long)lens[bb] : (long long)CFG::n_seq;
      const unsigned len = lraw < 0 ? 0u : (lraw > (long long)CFG::n_seq ? CFG::n_seq : (unsigned)lraw);
    Init:
      for (unsigned j = 0; j < H; j++) h[j] = (Out)h0[rnn_state_index<CFG>(d, bb, j)];
    Steps:
      for (unsigned s = 0; s < CFG::n_seq; s++) {
        if (s >= len) {
        Pad:
          for (unsigned j = 0; j < H; j++) y[rnn_y_index<CFG>(s, d, bb, j)] = (Out)0;
          continue;
        }
        const unsigned t = rev ? len - 1 - s : s;
      Gates:
        for (unsigned row = 0; row < H; row++) {
#pragma HLS PIPELINE II=CFG::reuse_factor
          Acc acc = (Acc)bias[d * 2 * H + row] + (Acc)bias[d * 2 * H + H + row];
        InX:
          for (unsigned k = 0; k < I; k++) acc += (Acc)x[rnn_x_index<CFG>(t, bb, k)] * (Acc)w[(d * H + row) * I + k];
        InH:
          for (unsigned k = 0; k < H; k++) acc += (Acc)h[k] * (Acc)r[(d * H + row) * H + k];
          pre[row] = acc;
        }
      State:
        for (unsigned j = 0; j < H; j++) {
#pragma HLS PIPELINE II=1
          const Out hn = (Out)rnn_f<CFG, Acc>(pre[j]);
          h[j] = hn;
          y[rnn_y_index<CFG>(t, d, bb, j)] = hn;
        }
      }
    Final:
      for (unsigned j = 0; j < H; j++) yh[rnn_state_index<CFG>(d, bb, j)] = h[j];
    }
  }
}

// ---- edgec.TflLstm: TFLite Micro's integer UNIDIRECTIONAL_SEQUENCE_LSTM (lstm_eval.h, int8x8_16) ----
// compiler/ops/rnn.ts is the specification. int8 input x [T, B, I] (time_major) or [B, T, I] and
// output y (the hidden state of every step, same layout with H features), int8 weights W [4][H][I]
// and R [4][H][H] (gates i, f, c, o), int32 bias [4][H], int16 gates and cell state, zero initial
// states (h = zh, c = 0). q holds the per-gate requantizations: input M[4], n[4], recurrent M[4],
// n[4] (MultiplyByQuantizedMultiplier, rq_tflite). table: TFLite's sigmoid_table_uint16.
struct tfl_lstm_config {
  static const unsigned n_seq = 1, n_batch = 1, n_in = 1, n_hidden = 1;
  static const bool time_major = false;
  static const int x_zero_point = 0, h_zero_point = 0;
  static const int fc_multiplier = 0, fc_shift = 0, ic_multiplier = 0, ic_shift = 0, h_multiplier = 0, h_shift = 0;
  static const int cell_scale_power = -12;
  static const int cell_clip = 0;            // 0: no clip
  static const bool cell_sigmoid = false;    // cell gate activation (else tanh)
};

inline int32_t tfl_sat16(int32_t v) { return v < -32768 ? -32768 : (v > 32767 ? 32767 : v); }

// TFLite's int16 Logistic (reference_integer_ops::Logistic, input multiplier 3): Q3.12 in, Q0.15 out.
inline int32_t tfl_sigmoid16(const uint16_t table[256], int32_t x) {
  const int32_t v = x * 3;
  const uint32_t a = (uint32_t)(v < 0 ? -v : v);
  const uint32_t uh = a >> 9;
  uint32_t r;
  if (uh >= 255) r = (uint32_t)0x7fff << 10;
  else {
    const uint32_t ua = table[uh], ub = table[uh + 1];
    r = (ua << 9) + (a & 0x1ff) * (ub - ua);
  }
  r = v >= 0 ? r + (1u << 9) : (1u << 25) - r + (1u << 9) - 1;
  return (int32_t)(r >> 10);
}

// TFLite's int16 Tanh as lstm_eval.cc calls it for an input of scale 2^p: l = 12 + p; l >= 0
// multiplies by 3 << l, l < 0 by 3 then shifts right by -l rounding half up. Q0.15 out.
inline int32_t tfl_tanh16(const uint16_t table[256], int32_t x, int p) {
  const int l = 12 + p;
  const int32_t v = l >= 0 ? x * (3 << l) : (x * 3 + (1 << (-l - 1))) >> -l;
  const uint32_t a = (uint32_t)(v < 0 ? -v : v);
  const uint32_t uh = a >> 8;
  int32_t r;
  if (uh >= 255) r = 0xffff << 8;
  else {
    const uint32_t ua = table[uh], ub = table[uh + 1];
    r = (int32_t)((ua << 8) + (a & 0xff) * (ub - ua));
  }
  r = v >= 0 ? r - (1 << 23) + (1 << 7) : -r + (1 << 23) + (1 << 7) - 1;
  return r >> 8;
}

template<class In, class Out, class CFG>
void tfl_lstm(const In x[], Out y[], const int8_t w[], const int8_t r[], const int32_t bias[], const int32_t q[16], const uint16_t table[256]) {
  const unsigned T = CFG::n_seq, NB = CFG::n_batch, I = CFG::n_in, H = CFG::n_hidden;
  int8_t h[H];
  int16_t c[H];
  int16_t gate[4][H];
Batch:
  for (unsigned b = 0; b < NB; b++) {
    for (unsigned j = 0; j < H; j++) {
      h[j] = (int8_t)CFG::h_zero_point;
      c[j] = 0;
    }
  Step:
    for (unsigned t = 0; t < T; t++) {
      const unsigned row = CFG::time_major ? t * NB + b : b * T + t;
    Gates:
      for (unsigned g = 0; g < 4; g++) {
        for (unsigned j = 0; j < H; j++) {
#pragma HLS PIPELINE II=1
          int32_t acc = bias[g * H + j];
          for (unsigned k = 0; k < I; k++) acc += (int32_t)w[(g * H + j) * I + k] * ((int32_t)x[row * I + k] - CFG::x_zero_point);
          const int32_t u = tfl_sat16(rq_tflite(acc, q[g], q[4 + g]));
          int32_t racc = 0;
          for (unsigned k = 0; k < H; k++) racc += (int32_t)r[(g * H + j) * H + k] * ((int32_t)h[k] - CFG::h_zero_point);
          const int32_t v = tfl_sat16(rq_tflite(racc, q[8 + g], q[12 + g]));
          const int32_t s = tfl_sat16(u + v);
          gate[g][j] = (int16_t)(g == 2 && !CFG::cell_sigmoid ? tfl_tanh16(table, s, -12) : tfl_sigmoid16(table, s));
        }
      }
    State:
      for (unsigned j = 0; j < H; j++) {
#pragma HLS PIPELINE II=1
        const int32_t fc = tfl_sat16(rq_tflite((int32_t)gate[1][j] * c[j], CFG::fc_multiplier, CFG::fc_shift));
        const int32_t ic = tfl_sat16(rq_tflite((int32_t)gate[0][j] * gate[2][j], CFG::ic_multiplier, CFG::ic_shift));
        int32_t cn = tfl_sat16(fc + ic);
        if (CFG::cell_clip > 0) cn = cn > CFG::cell_clip ? CFG::cell_clip : (cn < -CFG::cell_clip ? -CFG::cell_clip : cn);
        c[j] = (int16_t)cn;
        const int32_t hv = rq_tflite(tfl_tanh16(table, cn, CFG::cell_scale_power) * (int32_t)gate[3][j], CFG::h_multiplier, CFG::h_shift) + CFG::h_zero_point;
        h[j] = (int8_t)(hv < -128 ? -128 : (hv > 127 ? 127 : hv));
        y[row * H + j] = (Out)h[j];
      }
    }
  }
}

} // namespace nnet

#endif
