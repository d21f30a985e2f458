/** Every graph pass, by name. A test checks each appears in some pipeline (or is experimental). */
import { Pass } from './pass.js';
import { shapeInfer } from './shape-infer.js';
import { removeIdentity } from './remove-identity.js';
import { foldShape } from './fold-shape.js';
import { constFold } from './const-fold.js';
import { dce } from './dce.js';
import { foldBatchnorm } from './fold-batchnorm.js';
import { matmulAddToGemmPass } from './matmul-add-to-gemm.js';
import { fuseActivation } from './fuse-activation.js';
import { decompose, decomposePass } from './decompose.js';
import { ifInline } from './if-inline.js';
import { foldAffine } from './fold-affine.js';
import { foldPad } from './fold-pad.js';
import { unifyDimsPass } from './unify-dims.js';

export { shapeInfer, removeIdentity, foldShape, constFold, dce, foldBatchnorm, matmulAddToGemmPass, fuseActivation, decompose, decomposePass };
export { ifInline };
export { foldAffine, foldPad };
export { unifyDimsPass };
export type { OpSupport } from './decompose.js';
export type { Pass, PassCtx, PassOptions } from './pass.js';

/** All registered passes. */
export const ALL_PASSES: readonly Pass[] = [
  shapeInfer, removeIdentity, foldShape, constFold, dce, foldBatchnorm, matmulAddToGemmPass, fuseActivation, decompose,
  ifInline,
  foldAffine, foldPad,
  unifyDimsPass,
];

/** Looks a pass up by its kebab-case name. */
export function passByName(name: string): Pass | undefined {
  return ALL_PASSES.find((p) => p.name === name);
}
