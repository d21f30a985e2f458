#!/usr/bin/env node
/**
 * Builds the runtime-wasm kernel library: compiles runtime-wasm/assembly/index.ts with the installed
 * AssemblyScript compiler (stub runtime: no GC, no allocation at run time) three times: with SIMD to
 * runtime-wasm/build/kernels.wasm (+ .wat for review) and without it to kernels-scalar.wasm (the
 * kernels' `if (ASC_FEATURE_SIMD)` branches select the scalar code; `--wasm-simd off` artifacts) and
 * with relaxed SIMD to kernels-relaxed.wasm (ASC_FEATURE_RELAXED_SIMD branches: model-relaxed.wasm),
 * and bundles the dynamic-shape planner into runtime-wasm/build/relower.mjs. targets/wasm reads
 * them at compile time.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'runtime-wasm', 'build');
mkdirSync(outDir, { recursive: true });

/**
 * One kernel library: SIMD on (kernels.wasm) or off (kernels-scalar.wasm); `extra` asc flags for
 * the other variants (kernels-threads.wasm: `--enable threads`; kernels-relaxed.wasm: `--enable relaxed-simd`).
 */
async function buildKernels(simd, name, extra = []) {
  const args = [
    join(root, 'runtime-wasm', 'assembly', 'index.ts'),
    '-O3', '--noAssert', '--runtime', 'stub', ...(simd ? ['--enable', 'simd'] : []), ...extra,
    '--outFile', join(outDir, `${name}.wasm`),
    '--textFile', join(outDir, `${name}.wat`),
  ];
  const { error, stderr } = await asc.main(args, {});
  if (error) {
    process.stderr.write(stderr.toString());
    console.error(`build-runtime: asc failed (${name}): ${error.message}`);
    process.exit(1);
  }
  console.log(`build-runtime: wrote ${join('runtime-wasm', 'build', `${name}.wasm`)}`);
}
await buildKernels(true, 'kernels');
await buildKernels(false, 'kernels-scalar');
// the threads variant (model-threads.wasm, targets/wasm/threads.ts): ASC_FEATURE_THREADS on, so each
// instance over the shared memory keeps its own int8 output-stage slots (int8.ts thread_area)
await buildKernels(true, 'kernels-threads', ['--enable', 'threads']);
// relaxed SIMD (int8-relaxed.ts): the second module of int8 artifacts, chosen by model.mjs at load
await buildKernels(true, 'kernels-relaxed', ['--enable', 'relaxed-simd']);

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
