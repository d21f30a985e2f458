/**
 * vitest global setup: in CI (`CI` set) every prerequisite the suite reads must be present, so a
 * missing one fails the run instead of letting the tests that need it skip: the shared models and
 * ONNX conformance tests (../shared), g++ (HLS C simulation), wabt and cc (wasm2c runs of the no-SIMD wasm), Chromium (browser tests; its
 * SwiftShader ICD runs WebGPU) and the optional `webgpu` npm package. On a user's machine the tests that need them skip with a reason.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const SHARED = path.resolve(here, '../../shared');

function hasCommand(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export default function setup(): void {
  if (!process.env['CI']) return;
  const missing: string[] = [];
  for (const rel of ['models/trained', 'models/bench', 'models/onnx', 'models/tfjs', 'models/tflite', 'conformance/onnx-node/index-full.tsv']) {
    if (!fs.existsSync(path.join(SHARED, rel))) missing.push(path.join(SHARED, rel));
  }
  if (!hasCommand('g++')) missing.push('g++');
  // --wasm-simd off artifacts: validated without SIMD and run through wasm2c + cc (wasm-nosimd.test.ts)
  for (const c of ['wasm-validate', 'wasm2c', 'cc']) if (!hasCommand(c)) missing.push(c === 'cc' ? 'cc (a C compiler)' : `${c} (package wabt)`);
  // the c target's Cortex-M runs (tests/targets/c-*.test.ts)
  for (const cmd of ['arm-none-eabi-gcc', 'arm-none-eabi-g++', 'arm-none-eabi-size', 'qemu-system-arm']) if (!hasCommand(cmd)) missing.push(cmd);
  if (!hasCommand('chromium')) missing.push('chromium');
  if (!fs.existsSync('/usr/lib/chromium/vk_swiftshader_icd.json')) missing.push('/usr/lib/chromium/vk_swiftshader_icd.json (SwiftShader, package chromium)');
  // the optional `webgpu` package (Dawn) runs the WebGPU tests in Node
  if (!fs.existsSync(path.resolve(here, '../node_modules/webgpu/package.json'))) missing.push('the webgpu npm package (optionalDependency; npm ci installs it)');
  if (missing.length > 0) throw new Error(`CI is set but test prerequisites are missing: ${missing.join(', ')}`);
}
