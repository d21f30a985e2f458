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
  global_pool_f32: { words: 5 },
  softmax_f32: { words: 6 },
  reduce_f32: { words: 18 },
  norm_f32: { words: 12 },
  gather_f32: { words: 8 },
  resize_f32: { words: 10 },
  grid_sample_f32: { words: 12 },
  // half precision and compressed weights (runtime-wasm/assembly/f16.ts): --fp16 rounding, weight expansion at instantiation
  round_f16_f32: { words: 3 }, f16_to_f32: { words: 3 }, int4_dequant_f32: { words: 7 },
  // 1-byte data movement (runtime-wasm/assembly/bytes.ts): int8/uint8 tensors
  copy_strided_u8: { words: 20 }, fill_u8: { words: 3 }, gather_u8: { words: 8 }, pad_u8: { words: 21 }, minmax_u8: { words: 23 },
  // int8 kernels (runtime-wasm/assembly/int8.ts, lowered by lower-int8.ts)
  qconv_i8: { words: 29 }, qdw_nhwc_i8: { words: 25 }, qconv_wino_i8: { words: 21 }, qgemm_i8: { words: 13 }, qrequant_i8: { words: 12 }, qbinary_i8: { words: 31 },
  qreduce_i8: { words: 26 }, qavgpool_i8: { words: 21 }, qmaxpool_i8: { words: 16 }, quantize_f32: { words: 8 }, dequantize_f32: { words: 8 },
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
