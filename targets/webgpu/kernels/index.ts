/** The WebGPU kernel table: kernel id -> WGSL generator (one file per kernel). */
import { KernelProgram } from '../wgsl/shader.js';
import { binaryF32 } from './binary.js';
import { channelAffineF32 } from './channel-affine.js';
import { conv2dDirectF32 } from './conv-direct.js';
import { conv2dIgemmTiledF32 } from './conv-tiled.js';
import { convTranspose2dDirectF32 } from './conv-transpose.js';
import { copyStridedF32 } from './copy.js';
import { gatherF32 } from './gather.js';
import { gemmTiledF32 } from './gemm.js';
import { gemmDirectF32 } from './gemm-direct.js';
import { globalPoolF32 } from './global-pool.js';
import { gridSampleF32 } from './grid-sample.js';
import { normF32 } from './norm.js';
import { padF32 } from './pad.js';
import { pool2dF32 } from './pool.js';
import { reduceAxesF32, reduceF32 } from './reduce.js';
import { resizeF32 } from './resize.js';
import { roundF16F32 } from './round-f16.js';
import { softmaxF32 } from './softmax.js';
import { KernelGen } from './types.js';
import { QINT_KERNELS } from './qint.js';
import { QINT_TFLITE_KERNELS } from './qint-tflite.js';
import { QMOVE_KERNELS } from './qmove.js';
import { TYPED_KERNELS } from './typed.js';
import { INDEX_KERNELS } from './index-ops.js';
import { unaryF32 } from './unary.js';
import { maxUnpoolF32, pool3dF32 } from './pool3d.js';
import { resizeAxisF32 } from './resize-axis.js';
import { SIGNAL_KERNELS } from './signal.js';
import { IMAGE_EXT_KERNELS } from './image-ext.js';
import { deformConvF32 } from './conv-deform.js';
import { lstmTflI8 } from './lstm-tfl.js';

const ALL = [unaryF32, binaryF32, copyStridedF32, padF32, conv2dDirectF32, conv2dIgemmTiledF32, convTranspose2dDirectF32, gemmTiledF32, gemmDirectF32, pool2dF32,
  globalPoolF32, softmaxF32, reduceF32, reduceAxesF32, gatherF32, resizeF32, gridSampleF32, normF32, channelAffineF32, roundF16F32,
  ...QINT_KERNELS, ...QINT_TFLITE_KERNELS, ...QMOVE_KERNELS, ...TYPED_KERNELS, ...INDEX_KERNELS,
  pool3dF32, maxUnpoolF32, resizeAxisF32, ...SIGNAL_KERNELS, ...IMAGE_EXT_KERNELS, deformConvF32, lstmTflI8] as const;

/** Kernel id -> generator. */
export const KERNELS: ReadonlyMap<string, KernelGen<never>> = new Map(ALL.map((k) => [k.id, k as unknown as KernelGen<never>]));

/** Kernel ids. */
export type KernelId = (typeof ALL)[number]['id'];

/**
 * Generates the program of kernel `id` with parameters `params`.
 * @param id kernel id
 * @param params the kernel's parameters (JSON data)
 */
export function generate(id: string, params: unknown): KernelProgram {
  const k = KERNELS.get(id);
  if (!k) throw new Error(`unknown webgpu kernel ${id}`);
  return (k as unknown as KernelGen<object>).gen(params as object);
}
