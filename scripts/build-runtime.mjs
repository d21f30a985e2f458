#!/usr/bin/env node
/**
 * Builds the runtime-wasm kernel library: compiles runtime-wasm/assembly/index.ts with the installed
 * AssemblyScript compiler (SIMD on, stub runtime: no GC, no allocation at run time) to
 * runtime-wasm/build/kernels.wasm (+ .wat for review). targets/wasm reads the .wasm at compile time.
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
