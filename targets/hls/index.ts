/** The HLS target's public entry points (the CLI wires `edgec compile --target hls` / `edgec run --target hls`). */
export { emitHls, compileHls, hlsTarget, hlsPipeline, hlsLibraryPath, commentText, floatLit, HLS_OPS } from './emit.js';
export type { HlsOptions, HlsArtifact } from './emit.js';
export { runHlsArtifact, emitAndRunHls, buildCsim, writeHlsArtifact, readHlsManifest } from './csim.js';
export type { CsimOptions } from './csim.js';
export { estimateProject, resolvePart, PARTS } from './estimate.js';
export type { HlsEstimate, LayerEstimate, LayerCost, Part } from './estimate.js';
