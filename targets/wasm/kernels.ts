/**
 * Kernel-id table of the wasm target: every export of runtime-wasm (runtime-wasm/assembly/index.ts)
 * with the size of its parameter block (32-bit words) and the op codes its `op` word takes. The
 * lowering builds parameter blocks by these layouts; the AssemblyScript sources document each word.
 */

/** Kernel ids (exports of runtime-wasm/build/kernels.wasm) and their parameter-block sizes. */
export const KERNELS = {
  gemm_f32: { words: 24 },
  conv2d_f32: { words: 27 },
  conv3x3_wino_f32: { words: 19 },
  unary_f32: { words: 6 },
  binary_f32: { words: 22 },
  copy_strided: { words: 20 },
  fill_f32: { words: 3 },
  cast_to_f32: { words: 4 },
  pad_f32: { words: 21 },
  channel_affine_f32: { words: 7 },
  pool2d_f32: { words: 18 },
  maxpool2d_f32: { words: 14 },
  global_pool_f32: { words: 5 },
  softmax_f32: { words: 6 },
  reduce_f32: { words: 18 },
  norm_f32: { words: 12 },
  gather_f32: { words: 8 },
  resize_f32: { words: 10 },
  grid_sample_f32: { words: 12 },
  // half precision and compressed weights (runtime-wasm/assembly/f16.ts): --fp16 rounding, weight expansion at instantiation
  round_f16_f32: { words: 3 }, f16_to_f32: { words: 3 }, int4_dequant_f32: { words: 7 }, int8_dequant_f32: { words: 7 },
  // weight packing at instantiation (runtime-wasm/assembly/wpack.ts): stored weights -> kernel layouts
  qpack_i8: { words: 10 }, wino_pack_f32: { words: 4 },
  // sparse f32 weights (runtime-wasm/assembly/sparse.ts, lowered by ops/sparse.ts): block and 2:4 kernels, stored-form expansion
  spmm_f32: { words: 20 }, spmm24_f32: { words: 16 }, sparse_pack_f32: { words: 4 }, spmm_chw_f32: { words: 15 },
  // 1-byte data movement (runtime-wasm/assembly/bytes.ts): int8/uint8 tensors
  copy_strided_u8: { words: 20 }, fill_u8: { words: 3 }, gather_u8: { words: 8 }, pad_u8: { words: 21 }, minmax_u8: { words: 23 },
  // int8 kernels (runtime-wasm/assembly/int8.ts, lowered by lower-int8.ts)
  // per-instance int8 output-stage slot area of a worker thread (threads build, targets/wasm/threads.ts)
  thread_area: { words: 1 },
  qconv_i8: { words: 29 }, qdw_nhwc_i8: { words: 25 }, qconv_wino_i8: { words: 21 }, qgemm_i8: { words: 13 }, qrequant_i8: { words: 12 }, qbinary_i8: { words: 31 },
  qreduce_i8: { words: 26 }, qavgpool_i8: { words: 21 }, qmaxpool_i8: { words: 16 }, qadd_tfl_i8: { words: 34 }, qmul_tfl_i8: { words: 29 }, qsoftmax_i8: { words: 8 }, lut_u8: { words: 4 }, quantize_tfl_f32: { words: 6 }, quantize_f32: { words: 8 }, dequantize_f32: { words: 8 },
  // dtype-generic elementwise kernels (runtime-wasm/assembly/anytype.ts): every runtime dtype
  unary_any: { words: 9 }, binary_any: { words: 25 }, where_any: { words: 29 },
  // data movement on elements of any size (runtime-wasm/assembly/move.ts): 2- and 8-byte tensors
  copy_strided_es: { words: 21 }, fill_es: { words: 5 }, gather_es: { words: 9 }, pad_es: { words: 22 },
  // Slice with runtime starts/ends/axes/steps, runtime parameter checks (runtime-wasm/assembly/slicert.ts)
  slice_rt: { words: 25 }, check_ints: { words: 4 },
  // index ops on any dtype (runtime-wasm/assembly/gather.ts; dtype words are DTYPE codes)
  gather_elements: { words: 20 }, scatter_elements: { words: 20 }, gather_nd: { words: 23 }, scatter_nd: { words: 23 },
  onehot: { words: 8 }, trilu: { words: 9 },
  // selection / scans / integer reductions (runtime-wasm/assembly/select.ts)
  argminmax: { words: 8 }, topk: { words: 10 }, cumsum: { words: 17 }, cumprod: { words: 17 }, reduce_any: { words: 24 },
  // ConvTranspose column folding (runtime-wasm/assembly/convt.ts)
  convt_col2im_f32: { words: 17 }, einsum_f32: { words: 42 },
  // pools on 1..3-D windows with MaxPool Indices (runtime-wasm/assembly/pool3d.ts)
  pool3d_f32: { words: 28 },
  // recurrent layers, one direction over the whole sequence per call (runtime-wasm/assembly/rnn.ts)
  rnn_f32: { words: 38 },
  // TFLite Micro's integer LSTM (runtime-wasm/assembly/lstm-tfl.ts)
  lstm_tfl_i8: { words: 39 },
  // integer ops on runtime operands and the 4-bit wrap (runtime-wasm/assembly/qint4.ts)
  wrap4: { words: 4 }, qmatmul_rt: { words: 15 }, qconv_rt: { words: 32 }, dynquant_u8: { words: 5 }, softmax_f64: { words: 6 },
  // general image / geometry kernels (runtime-wasm/assembly/image.ts)
  resize_axis_f32: { words: 10 }, grid_sample_nd_f32: { words: 15 }, affine_grid_f32: { words: 8 }, col2im_nd_f32: { words: 23 },
  lrn_f32: { words: 9 }, maxunpool_f32: { words: 15 }, roi_align_f32: { words: 15 }, deform_conv_f32: { words: 30 },
  // signal processing, f32 / f64 (runtime-wasm/assembly/signal.ts)
  dft: { words: 26 }, stft: { words: 20 }, window: { words: 7 }, melweight: { words: 15 },
  // Det, ReverseSequence, TensorScatter, BatchNormalization training statistics (runtime-wasm/assembly/misc.ts)
  det: { words: 6 }, reverse_sequence: { words: 10 }, tensor_scatter: { words: 12 }, bn_train: { words: 14 },
  // TfIdfVectorizer n-gram counting, TreeEnsemble (runtime-wasm/assembly/ml.ts)
  tfidf: { words: 13 }, tree_ensemble: { words: 17 },
  // LinearAttention's recurrent state (runtime-wasm/assembly/linattn.ts)
  linear_attention: { words: 25 },
} as const;

export type KernelId = keyof typeof KERNELS;

/** Unary op / activation codes (runtime-wasm/assembly/common.ts). Codes 1..7 are the fusable ActKinds. */
export const UNARY = {
  Identity: 0, Relu: 1, Clip: 2, Sigmoid: 3, HardSigmoid: 4, HardSwish: 5, LeakyRelu: 6, Tanh: 7,
  Exp: 8, Log: 9, Sqrt: 10, Neg: 11, Abs: 12, Erf: 13, Gelu: 14, Softplus: 15, Elu: 16, Selu: 17,
  Reciprocal: 18, Floor: 19, Ceil: 20, Round: 21, Sin: 22, Cos: 23, Softsign: 24, GeluTanh: 25,
  Sign: 26, Mish: 27, ThresholdedRelu: 28, Rsqrt: 29, Square: 30,
} as const;

/** Binary op codes (runtime-wasm/assembly/eltwise.ts). */
export const BINARY = { Add: 0, Sub: 1, Mul: 2, Div: 3, Max: 4, Min: 5, Pow: 6, PRelu: 7, Mod: 8 } as const;

/** Reduction codes (runtime-wasm/assembly/nn.ts). */
export const REDUCE = {
  ReduceSum: 0, ReduceMean: 1, ReduceMax: 2, ReduceMin: 3, ReduceProd: 4, ReduceL1: 5, ReduceL2: 6,
  ReduceSumSquare: 7, ReduceLogSum: 8, ReduceLogSumExp: 9,
} as const;

/** GEMM bias modes (runtime-wasm/assembly/gemm.ts). */
export const BIAS = { none: 0, row: 1, col: 2, full: 3, scalar: 4 } as const;

/** Number of dims the strided kernels iterate (shapes are coalesced, then left-padded with 1s). */
export const MAX_DIMS = 6;

/** Element-type codes of the dtype-generic kernels (runtime-wasm/assembly/dtype.ts). */
export const DTYPE = {
  f32: 0, f64: 1, i8: 2, u8: 3, i16: 4, u16: 5, i32: 6, u32: 7, i64: 8, u64: 9, bool: 10, f16: 11, bf16: 12,
  // 4-bit integers live unpacked, one byte per element: read as i8 / u8 (writers re-wrap them, ops/qint.ts wrap4Outputs)
  i4: 2, u4: 3,
} as const;

/** Scatter reduction codes (runtime-wasm/assembly/gather.ts). */
export const SCATTER_REDUCTION = { none: 0, add: 1, mul: 2, max: 3, min: 4 } as const;

/** Op codes of unary_any (runtime-wasm/assembly/anytype.ts N_*; its dtype words are DTYPE codes). */
export const ANY_UNARY = {
  Cast: 0, Neg: 1, Abs: 2, Sign: 3, Relu: 4, Not: 5, BitwiseNot: 6, IsNaN: 7, IsInf: 8, Clip: 9, Exp: 10, Log: 11,
  Sqrt: 12, Reciprocal: 13, Floor: 14, Ceil: 15, Round: 16, Sin: 17, Cos: 18, Tan: 19, Asin: 20, Acos: 21, Atan: 22,
  Sinh: 23, Cosh: 24, Asinh: 25, Acosh: 26, Atanh: 27, Erf: 28, Tanh: 29, Sigmoid: 30, Softplus: 31, Softsign: 32,
  LeakyRelu: 33, Elu: 34, Selu: 35, Celu: 36, HardSigmoid: 37, HardSwish: 38, ThresholdedRelu: 39, Mish: 40, Gelu: 41,
  GeluTanh: 42,
} as const;

/** Op codes of binary_any (runtime-wasm/assembly/anytype.ts A_*); Mod is Python modulo, FMod C fmod. */
export const ANY_BINARY = {
  Add: 0, Sub: 1, Mul: 2, Div: 3, Max: 4, Min: 5, Pow: 6, PRelu: 7, Mod: 8, FMod: 9, Equal: 10, Less: 11, LessOrEqual: 12,
  Greater: 13, GreaterOrEqual: 14, And: 15, Or: 16, Xor: 17, BitShiftLeft: 18, BitShiftRight: 19, BitwiseAnd: 20,
  BitwiseOr: 21, BitwiseXor: 22,
} as const;
