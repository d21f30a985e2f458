/**
 * Shared helpers of the quantized TFLite tests: seeded integers, and the C++ oracle tflite-ref.cc
 * (TFLite's integer kernels transcribed): compiling it, serializing tensors for its stdin, running it.
 */
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Deterministic uniform numbers in [0, 1) (an LCG). */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** n integers uniform in [lo, hi]. */
export function ints(n: number, lo: number, hi: number, r: () => number): number[] {
  return Array.from({ length: n }, () => lo + Math.floor(r() * (hi - lo + 1)));
}

/** Whether g++ (which builds tflite-ref.cc) is installed. */
export const HAVE_GXX = (() => {
  try {
    execFileSync('g++', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const here = path.dirname(fileURLToPath(import.meta.url));

/** Compiles tflite-ref.cc into `dir`; returns the binary's path. */
export function buildRef(dir: string): string {
  const bin = path.join(dir, 'tflite-ref');
  execFileSync('g++', ['-O1', '-std=c++17', '-o', bin, path.join(here, 'tflite-ref.cc')]);
  return bin;
}

/** One tensor as tflite-ref.cc reads it: rank, dims, scales (float32, 9 digits), zero point, data. */
export function refTensor(shape: readonly number[], quant: { scale: readonly number[]; zeroPoint: readonly number[] } | null | undefined, data: ArrayLike<number>): string {
  const q = quant ?? { scale: [], zeroPoint: [0] };
  const d = Array.from(data);
  return `${shape.length} ${shape.join(' ')} ${q.scale.length} ${q.scale.map((v) => Math.fround(v).toPrecision(9)).join(' ')} ${q.zeroPoint[0] ?? 0} ${d.length} ${d.join(' ')}`;
}

/** Runs tflite-ref.cc on one operator (`opcode`, `opts`, tensor lines with the output last). */
export function runRef(bin: string, opcode: number, opts: readonly number[], tensors: readonly string[]): number[] {
  const input = [`${opcode} ${opts.length} ${opts.join(' ')}`, String(tensors.length), ...tensors].join('\n') + '\n';
  return execFileSync(bin, { input, maxBuffer: 1 << 26 }).toString().trim().split('\n').map(Number);
}
