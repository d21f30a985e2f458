/**
 * edgec runtime-wasm kernel library (f32, WebAssembly SIMD). Every export takes the address of a
 * parameter block; targets/wasm/kernels.ts is the table of these ids and their parameter layouts.
 * int8 kernels (i32x4.dot_i16x8_s accumulation, fixed-point requantization) go beside these with
 * the same ABI: one parameter-block address per call.
 */
export { gemm_f32 } from './gemm';
export { conv2d_f32 } from './conv';
export { conv3x3_wino_f32 } from './winograd';
export { unary_f32, binary_f32, copy_strided, fill_f32, pad_f32, channel_affine_f32, cast_to_f32 } from './eltwise';
export { pool2d_f32, global_pool_f32, softmax_f32, reduce_f32, norm_f32, gather_f32, resize_f32, grid_sample_f32 } from './nn';
export { maxpool2d_f32 } from './pool2d';
export { copy_strided_u8, fill_u8, gather_u8, pad_u8, minmax_u8 } from './bytes';
export { thread_area } from './int8';
export { qconv_i8, qdw_nhwc_i8, qconv_wino_i8, qgemm_i8, qrequant_i8, qbinary_i8, qreduce_i8, qavgpool_i8, qmaxpool_i8, quantize_f32, dequantize_f32 } from './int8';
export { round_f16_f32, f16_to_f32, int4_dequant_f32 } from './f16';
export { int8_dequant_f32 } from './f16';
export { qpack_i8, wino_pack_f32 } from './wpack';
export { copy_strided_es, fill_es, gather_es, pad_es } from './move';
export { gather_elements, scatter_elements, gather_nd, scatter_nd, onehot, trilu } from './gather';
export { argminmax, topk, cumsum, cumprod, reduce_any } from './select';
export { unary_any, binary_any, where_any } from './anytype';
export { convt_col2im_f32, einsum_f32 } from './convt';
export { pool3d_f32 } from './pool3d';
export { rnn_f32 } from './rnn';
export { resize_axis_f32, grid_sample_nd_f32, affine_grid_f32, col2im_nd_f32, lrn_f32, maxunpool_f32, roi_align_f32, deform_conv_f32 } from './image';
export { wrap4, qmatmul_rt, qconv_rt, dynquant_u8, softmax_f64 } from './qint4';
export { dft, stft, window, melweight } from './signal';
export { det, reverse_sequence, tensor_scatter, bn_train } from './misc';
export { tfidf, tree_ensemble } from './ml';
export { linear_attention } from './linattn';
export { slice_rt, check_ints } from './slicert';
export { spmm_f32, spmm24_f32, sparse_pack_f32, spmm_chw_f32 } from './sparse';
export { lut_u8, qadd_tfl_i8, qmul_tfl_i8, qsoftmax_i8, quantize_tfl_f32 } from './int8-tflite';
export { lstm_tfl_i8 } from './lstm-tfl';
