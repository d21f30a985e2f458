// Types of relower.mjs, the bundle of targets/wasm/dynamic/relower.ts that a dynamic-shape artifact
// ships beside model.mjs (scripts/build-runtime.mjs builds it); lets tsconfig.runtime.json check model-dynamic.mjs.
export { createRunner } from '../dynamic/relower.js';
