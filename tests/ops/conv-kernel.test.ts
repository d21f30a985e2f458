/**
 * The Conv / ConvTranspose kernels (row kernel, width-3 fast path, im2col path for short rows)
 * against naive loops written from the definition, on random geometries (fast-check).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Geom3, convCore, convTransposeCore, geom3, windowParams } from '../../compiler/ops/conv.js';

/** y[n,m,o] = b[m] + sum_{c,k} x[n, g*cg+c, o*s - p + k*d] * w[m, c, k] (zero outside the input). */
function naiveConv(x: Float64Array, w: Float64Array, b: Float64Array | null, N: number, C: number, M: number, G: number, g: Geom3): Float64Array {
  const [O0, O1, O2] = g.O;
  const [I0, I1, I2] = g.I;
  const [K0, K1, K2] = g.K;
  const cg = C / G;
  const y = new Float64Array(N * M * O0 * O1 * O2);
  let yi = 0;
  for (let n = 0; n < N; n++) for (let m = 0; m < M; m++) {
    const grp = Math.floor(m / (M / G));
    for (let a = 0; a < O0; a++) for (let bb = 0; bb < O1; bb++) for (let cc = 0; cc < O2; cc++) {
      let s = b ? b[m]! : 0;
      for (let c = 0; c < cg; c++) for (let k0 = 0; k0 < K0; k0++) for (let k1 = 0; k1 < K1; k1++) for (let k2 = 0; k2 < K2; k2++) {
        const i0 = a * g.S[0] - g.P[0] + k0 * g.D[0];
        const i1 = bb * g.S[1] - g.P[1] + k1 * g.D[1];
        const i2 = cc * g.S[2] - g.P[2] + k2 * g.D[2];
        if (i0 < 0 || i1 < 0 || i2 < 0 || i0 >= I0 || i1 >= I1 || i2 >= I2) continue;
        s += x[(((n * C + grp * cg + c) * I0 + i0) * I1 + i1) * I2 + i2]! * w[(((m * cg + c) * K0 + k0) * K1 + k1) * K2 + k2]!;
      }
      y[yi++] = s;
    }
  }
  return y;
}

/** y[n, m, i*s - p + k*d] += x[n, c, i] * w[c, m - g*mg, k] (scatter form of the definition). */
function naiveConvT(x: Float64Array, w: Float64Array, N: number, C: number, M: number, G: number, g: Geom3): Float64Array {
  const [O0, O1, O2] = g.O;
  const [I0, I1, I2] = g.I;
  const [K0, K1, K2] = g.K;
  const cg = C / G;
  const mg = M / G;
  const y = new Float64Array(N * M * O0 * O1 * O2);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let mm = 0; mm < mg; mm++) {
    const m = Math.floor(c / cg) * mg + mm;
    for (let i0 = 0; i0 < I0; i0++) for (let i1 = 0; i1 < I1; i1++) for (let i2 = 0; i2 < I2; i2++) {
      for (let k0 = 0; k0 < K0; k0++) for (let k1 = 0; k1 < K1; k1++) for (let k2 = 0; k2 < K2; k2++) {
        const o0 = i0 * g.S[0] - g.P[0] + k0 * g.D[0];
        const o1 = i1 * g.S[1] - g.P[1] + k1 * g.D[1];
        const o2 = i2 * g.S[2] - g.P[2] + k2 * g.D[2];
        if (o0 < 0 || o1 < 0 || o2 < 0 || o0 >= O0 || o1 >= O1 || o2 >= O2) continue;
        y[(((n * M + m) * O0 + o0) * O1 + o1) * O2 + o2]! += x[(((n * C + c) * I0 + i0) * I1 + i1) * I2 + i2]! *
          w[(((c * mg + mm) * K0 + k0) * K1 + k1) * K2 + k2]!;
      }
    }
  }
  return y;
}

const randArr = (n: number, seed: number) => {
  let s = seed >>> 0;
  return Float64Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 4 - 2);
};

const close = (a: Float64Array, b: Float64Array) => a.length === b.length && a.every((v, i) => Math.abs(v - b[i]!) <= 1e-9 * (1 + Math.abs(b[i]!)));

const geomArb = fc.record({
  nd: fc.integer({ min: 1, max: 3 }),
  N: fc.integer({ min: 1, max: 2 }),
  G: fc.integer({ min: 1, max: 3 }),
  cg: fc.integer({ min: 1, max: 3 }),
  mg: fc.integer({ min: 1, max: 6 }),
  dims: fc.array(fc.record({
    I: fc.integer({ min: 1, max: 24 }), k: fc.integer({ min: 1, max: 4 }), s: fc.integer({ min: 1, max: 3 }),
    d: fc.integer({ min: 1, max: 2 }), pb: fc.integer({ min: 0, max: 2 }), pe: fc.integer({ min: 0, max: 2 }),
  }), { minLength: 3, maxLength: 3 }),
  seed: fc.integer({ min: 1, max: 1 << 30 }),
});

describe('conv kernels match the definition', () => {
  it('convCore (row, width-3 and im2col paths)', () => {
    fc.assert(fc.property(geomArb, (p) => {
      const dims = p.dims.slice(0, p.nd).map((d) => ({ ...d, I: Math.max(d.I, (d.k - 1) * d.d + 1) }));
      const wp = windowParams({ autoPad: 'NOTSET' }, p.nd, dims.map((d) => d.k), 'Conv');
      wp.strides = dims.map((d) => d.s);
      wp.dilations = dims.map((d) => d.d);
      wp.pads = [...dims.map((d) => d.pb), ...dims.map((d) => d.pe)];
      const g = geom3(dims.map((d) => d.I), wp, 'NOTSET', false, 'Conv');
      const C = p.G * p.cg;
      const M = p.G * p.mg;
      const x = randArr(p.N * C * g.I[0] * g.I[1] * g.I[2], p.seed);
      const w = randArr(M * p.cg * g.K[0] * g.K[1] * g.K[2], p.seed + 1);
      const b = randArr(M, p.seed + 2);
      return close(convCore(x, w, b, p.N, C, M, p.G, g), naiveConv(x, w, b, p.N, C, M, p.G, g));
    }), { numRuns: 300, seed: 42 });
  });

  it('convTransposeCore', () => {
    fc.assert(fc.property(geomArb, (p) => {
      const dims = p.dims.slice(0, p.nd).map((d) => ({ ...d, I: Math.min(d.I, 8) }));
      const out = dims.map((d) => Math.max(1, d.s * (d.I - 1) + (d.k - 1) * d.d + 1 - d.pb - d.pe));
      const lift = (v: number[], f: number): [number, number, number] => {
        const o = [...new Array<number>(3 - v.length).fill(f), ...v];
        return [o[0]!, o[1]!, o[2]!];
      };
      const g: Geom3 = {
        I: lift(dims.map((d) => d.I), 1), O: lift(out, 1), K: lift(dims.map((d) => d.k), 1), S: lift(dims.map((d) => d.s), 1),
        D: lift(dims.map((d) => d.d), 1), P: lift(dims.map((d) => d.pb), 0), E: [0, 0, 0],
      };
      const C = p.G * p.cg;
      const M = p.G * p.mg;
      const x = randArr(p.N * C * g.I[0] * g.I[1] * g.I[2], p.seed);
      const w = randArr(C * p.mg * g.K[0] * g.K[1] * g.K[2], p.seed + 1);
      return close(convTransposeCore(x, w, null, p.N, C, M, p.G, g), naiveConvT(x, w, p.N, C, M, p.G, g));
    }), { numRuns: 200, seed: 7 });
  });
});
