/**
 * The recurrent kernel helpers of runtime-wasm/assembly/rnn.ts built twice, with and without SIMD
 * (`ASC_FEATURE_SIMD` branches), must give bit-identical results; both are checked against an
 * independent float64 computation in JavaScript (the GEMV over weights packed by the lowering's
 * packChunks, the fused LSTM and GRU gates). Compiles a small entry file with the installed
 * AssemblyScript compiler (a few seconds).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import asc from 'assemblyscript/asc';
import { packChunks } from '../../targets/wasm/ops/rnn.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const rnnSrc = path.resolve(here, '../../runtime-wasm/assembly/rnn.ts');

interface Kernels {
  memory: WebAssembly.Memory;
  gemvChunks(h: number, W: number, out: number, init: number, N: number, K: number): void;
  lstmFused(pre: number, hp: number, cp: number, P: number, H: number, hasClip: number, clip: number, inputForget: number): void;
  gruLbrFused(x: number, rp: number, br: number, hp: number, H: number, hasClip: number, clip: number): void;
}

async function build(simd: boolean, dir: string): Promise<Kernels> {
  const entry = path.join(dir, 'entry.ts');
  const rel = path.relative(dir, rnnSrc).replace(/\\/g, '/').replace(/\.ts$/, '');
  fs.writeFileSync(entry, `export { gemvChunks, lstmFused, gruLbrFused } from '${rel.startsWith('.') ? rel : './' + rel}';\n`);
  const out = path.join(dir, simd ? 'simd.wasm' : 'scalar.wasm');
  const { error, stderr } = await asc.main([entry, '-O3', '--noAssert', '--runtime', 'stub', '--initialMemory', '16',
    simd ? '--enable' : '--disable', 'simd', '--outFile', out], {});
  if (error) throw new Error(`asc (${simd ? 'simd' : 'no simd'}): ${error.message}\n${stderr.toString()}`);
  const { instance } = await WebAssembly.instantiate(fs.readFileSync(out), { env: { abort: () => { throw new Error('abort'); } } });
  return instance.exports as unknown as Kernels;
}

/** Seeded uniform [-scale, scale) floats. */
function rand(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    d[i] = (s / 2 ** 31 - 1) * scale;
  }
  return d;
}

const sig = (x: number) => 1 / (1 + Math.exp(-x));
const clampC = (x: number, c: number | undefined) => (c === undefined ? x : Math.min(Math.max(x, -c), c));

/** Writes arrays at consecutive 64-byte aligned offsets (from 1024) in both modules; returns the offsets. */
function place(ks: Kernels[], arrays: Float32Array[]): number[] {
  let off = 1024;
  return arrays.map((a) => {
    const at = off;
    for (const k of ks) new Float32Array(k.memory.buffer, at, a.length).set(a);
    off += Math.ceil((a.length * 4 + 64) / 64) * 64;
    return at;
  });
}

const read = (k: Kernels, off: number, n: number) => new Float32Array(k.memory.buffer, off, n).slice();
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer));

function close(got: Float32Array, want: number[], tol: number): string | null {
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i]! - want[i]!) <= tol * (1 + Math.abs(want[i]!)))) return `[${i}] got ${got[i]} want ${want[i]}`;
  }
  return null;
}

describe('rnn.ts helpers with and without SIMD', () => {
  let simd: Kernels, scalar: Kernels;
  beforeAll(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgec-rnn-scalar-'));
    try {
      [simd, scalar] = [await build(true, dir), await build(false, dir)];
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it.each([[512, 128], [100, 37], [3, 5], [28, 8], [57, 16], [29, 1]])('gemvChunks N=%i K=%i over packChunks weights', (N, K) => {
    const w = rand(K * N, N + K, 0.5), h = rand(K, 7 * K), init = rand(N, 3 * N);
    const packed = packChunks(w, K, N);
    for (const withInit of [true, false]) {
      const [ph, pw, pi, po] = place([simd, scalar], [h, packed, init, new Float32Array(N + 8).fill(42)]);
      for (const k of [simd, scalar]) k.gemvChunks(ph!, pw!, po!, withInit ? pi! : 0, N, K);
      const a = read(simd, po!, N + 8), b = read(scalar, po!, N + 8);
      expect(bits(a)).toEqual(bits(b));
      expect(Array.from(a.slice(N))).toEqual(new Array(8).fill(42)); // nothing written past N
      const want = Array.from({ length: N }, (_, n) => {
        let s = withInit ? init[n]! : 0;
        for (let k = 0; k < K; k++) s += h[k]! * w[k * N + n]!;
        return s;
      });
      expect(close(a, want, 1e-5)).toBeNull();
    }
  });

  it.each([
    [128, undefined, false, false], [37, 0.7, true, false], [3, undefined, true, true], [16, 0.5, false, true],
  ] as const)('lstmFused H=%i clip=%s peepholes=%s input_forget=%s', (H, clip, peep, inputForget) => {
    const pre = rand(4 * H, H, 4), h = rand(H, 2 * H), c = rand(H, 3 * H, 2), P = rand(3 * H, 5 * H);
    const [pp, ph, pc, pP] = place([simd, scalar], [pre, h, c, P]);
    for (const k of [simd, scalar]) k.lstmFused(pp!, ph!, pc!, peep ? pP! : 0, H, clip !== undefined ? 1 : 0, clip ?? 0, inputForget ? 1 : 0);
    const [ha, hb, ca, cb] = [read(simd, ph!, H), read(scalar, ph!, H), read(simd, pc!, H), read(scalar, pc!, H)];
    expect(bits(ha)).toEqual(bits(hb));
    expect(bits(ca)).toEqual(bits(cb));
    const wantC: number[] = [], wantH: number[] = [];
    for (let j = 0; j < H; j++) {
      const c0 = c[j]!;
      const i = sig(clampC(pre[j]! + (peep ? P[j]! * c0 : 0), clip));
      const f = inputForget ? 1 - i : sig(clampC(pre[2 * H + j]! + (peep ? P[2 * H + j]! * c0 : 0), clip));
      const g = Math.tanh(clampC(pre[3 * H + j]!, clip));
      const C = f * c0 + i * g;
      const o = sig(clampC(pre[H + j]! + (peep ? P[H + j]! * C : 0), clip));
      wantC.push(C);
      wantH.push(o * Math.tanh(C));
    }
    expect(close(ca, wantC, 1e-5)).toBeNull();
    expect(close(ha, wantH, 1e-5)).toBeNull();
  });

  it.each([[128, undefined], [37, 0.5], [3, undefined]] as const)('gruLbrFused H=%i clip=%s', (H, clip) => {
    const x = rand(3 * H, H, 3), rp = rand(3 * H, 2 * H, 3), br = rand(3 * H, 3 * H), h = rand(H, 4 * H);
    const [px, prp, pbr, ph] = place([simd, scalar], [x, rp, br, h]);
    for (const k of [simd, scalar]) k.gruLbrFused(px!, prp!, pbr!, ph!, H, clip !== undefined ? 1 : 0, clip ?? 0);
    const a = read(simd, ph!, H), b = read(scalar, ph!, H);
    expect(bits(a)).toEqual(bits(b));
    const want = Array.from({ length: H }, (_, j) => {
      const z = sig(clampC(x[j]! + rp[j]!, clip));
      const r = sig(clampC(x[H + j]! + rp[H + j]!, clip));
      const n = Math.tanh(clampC(x[2 * H + j]! + r * (rp[2 * H + j]! + br[2 * H + j]!), clip));
      return (1 - z) * n + z * h[j]!;
    });
    expect(close(a, want, 1e-5)).toBeNull();
  });
});
