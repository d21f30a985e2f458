#!/usr/bin/env node
/**
 * Builds the runtime-wasm kernel library: compiles runtime-wasm/assembly/index.ts with the installed
 * AssemblyScript compiler (SIMD on, stub runtime: no GC, no allocation at run time) to
 * runtime-wasm/build/kernels.wasm (+ .wat for review), and bundles the dynamic-shape planner into
 * runtime-wasm/build/relower.mjs. targets/wasm reads both at compile time.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'runtime-wasm', 'build');
mkdirSync(outDir, { recursive: true });

const args = [
  join(root, 'runtime-wasm', 'assembly', 'index.ts'),
  '-O3', '--noAssert', '--runtime', 'stub', '--enable', 'simd',
  '--outFile', join(outDir, 'kernels.wasm'),
  '--textFile', join(outDir, 'kernels.wat'),
];
const { error, stderr } = await asc.main(args, {});
if (error) {
  process.stderr.write(stderr.toString());
  console.error(`build-runtime: asc failed: ${error.message}`);
  process.exit(1);
}
console.log(`build-runtime: wrote ${join('runtime-wasm', 'build', 'kernels.wasm')}`);

// The planner of dynamic-shape artifacts: edgec's lowering bundled into one ES module (no Node
// APIs) that model.mjs imports at run time (targets/wasm/dynamic/relower.ts).
const esbuild = await import('esbuild');
await esbuild.build({
  entryPoints: [join(root, 'targets', 'wasm', 'dynamic', 'relower.ts')],
  outfile: join(outDir, 'relower.mjs'),
  bundle: true, format: 'esm', platform: 'neutral', target: 'es2020', minify: true, legalComments: 'none',
  banner: { js: '// edgec run-time planner (Apache-2.0): the wasm lowering, bundled. Generated; do not edit.' },
});
console.log(`build-runtime: wrote ${join('runtime-wasm', 'build', 'relower.mjs')}`);
