/** The wasm target's public entry points. */
export { emitWasm, compileWasm, wasmTarget, wasmPipeline, graphStats, edgecVersion } from './emit.js';
export type { WasmOptions, WasmStats } from './emit.js';
export { lowerGraph, LOWERINGS } from './lower.js';
export { buildModule, kernelLibraryPath } from './module.js';
export { planMemory, checkPlan } from './memory-plan.js';
