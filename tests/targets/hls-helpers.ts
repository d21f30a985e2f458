/** Shared helpers of the HLS target tests: emit a project, run its C simulation (g++). */
import fs from 'node:fs';
import { Graph } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { emitHls, HlsArtifact, HlsOptions } from '../../targets/hls/emit.js';
import { CsimOptions, runHlsArtifact, writeHlsArtifact } from '../../targets/hls/csim.js';

export interface CsimResult {
  outputs: Tensor[];
  want: Tensor[];
  art: HlsArtifact;
}

/**
 * Emits `g` (already optimized / quantized), runs the C simulation on `inputs` and the reference
 * interpreter on the same graph. The temporary artifact folder is removed afterwards.
 */
export async function csimVsRef(g: Graph, inputs: Tensor[], opts: HlsOptions = {}, csim: CsimOptions = {}): Promise<CsimResult> {
  const want = runGraph(g, inputs);
  // the C simulation checks function, not the part: a design that does not fit still simulates
  const art = emitHls(g, { fit: 'warn', ...opts, testVectors: { inputs, outputs: want } });
  const dir = writeHlsArtifact(art.files, art.manifest);
  try {
    return { outputs: await runHlsArtifact(dir, inputs, csim), want, art };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Index of the first element whose bits differ (NaN == NaN), or -1. */
export function firstBitDiff(got: Tensor, want: Tensor): number {
  if (got.size !== want.size) return 0;
  for (let i = 0; i < want.size; i++) {
    const a = got.get(i);
    const b = want.get(i);
    if (Number.isNaN(a) && Number.isNaN(b)) continue;
    if (!Object.is(a, b)) return i;
  }
  return -1;
}
