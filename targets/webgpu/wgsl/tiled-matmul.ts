/**
 * The shared tiled matrix-multiply core of gemm_tiled_f32 and conv2d_igemm_tiled_f32:
 *   acc[m, n] = sum_k A(m, k) * B(k, n)
 * Workgroup 8 x 8 threads; each workgroup computes a 32 x 32 output tile, each thread a 4 x 4
 * register block. Per 16-wide step of k, the workgroup stages A (32 x 16) and B (16 x 32) in
 * workgroup memory (8 loads per thread each), then every thread runs an unrolled 4 x 4 outer
 * product per k. Operand loads are expressions supplied by the caller (strided / batched GEMM
 * operands, or the implicit im2col gather of a convolution).
 */
import { Groups, ShaderBuilder, int } from './shader.js';

/** Output rows / columns per workgroup, reduction step, and per-thread block. */
export const TILE_M = 32;
export const TILE_N = 32;
export const TILE_K = 16;
const WG_X = 8;
const WG_Y = 8;
const RM = TILE_M / WG_Y;
const RN = TILE_N / WG_X;

/** What the caller supplies. */
export interface TiledMatmulSpec {
  M: number;
  N: number;
  K: number;
  /** Statements before the loop (batch/group decomposition); may use `wid`. */
  prelude: string[];
  /** Statements computing `av` = A(m, k) for i32 variables `m`, `k` (only used when in range). */
  loadA: string[];
  /** Statements computing `bv` = B(k, n) for i32 variables `k`, `n` (only used when in range). */
  loadB: string[];
  /** Statement storing `v` (the accumulated value) at output (m, n); epilogue included. */
  store: string;
  /** Grid depth (batch x groups). */
  depth: number;
}

/**
 * Emits the tiled matmul kernel into `sb`.
 * @param sb shader builder (operands already declared)
 * @param s the operand loads, store and sizes
 */
export function tiledMatmul(sb: ShaderBuilder, s: TiledMatmulSpec): ReturnType<ShaderBuilder['tiled']> {
  sb.decl(`var<workgroup> ta: array<array<f32, ${TILE_K}>, ${TILE_M}>;`);
  sb.decl(`var<workgroup> tb: array<array<f32, ${TILE_N}>, ${TILE_K}>;`);
  const threads = WG_X * WG_Y;
  const body: string[] = [
    ...s.prelude,
    'let tx = i32(lid.x);',
    'let ty = i32(lid.y);',
    'let tid = i32(lidx);',
    `let row0 = i32(wid.y) * ${TILE_M};`,
    `let col0 = i32(wid.x) * ${TILE_N};`,
  ];
  body.push(`var acc: array<f32, ${RM * RN}>;`);
  body.push(
    `for (var k0 = 0; k0 < ${int(s.K)}; k0 += ${TILE_K}) {`,
    `  for (var e = 0; e < ${(TILE_M * TILE_K) / threads}; e++) {`,
    `    let li = tid + e * ${threads};`,
    `    let r = li / ${TILE_K};`,
    `    let kk = li % ${TILE_K};`,
    '    let m = row0 + r;',
    '    let k = k0 + kk;',
    '    var av = 0.0;',
    `    if (m < ${int(s.M)} && k < ${int(s.K)}) {`,
    ...s.loadA.map((l) => `      ${l}`),
    '    }',
    '    ta[r][kk] = av;',
    '  }',
    `  for (var e = 0; e < ${(TILE_K * TILE_N) / threads}; e++) {`,
    `    let li = tid + e * ${threads};`,
    `    let kk = li / ${TILE_N};`,
    `    let cc = li % ${TILE_N};`,
    '    let n = col0 + cc;',
    '    let k = k0 + kk;',
    '    var bv = 0.0;',
    `    if (n < ${int(s.N)} && k < ${int(s.K)}) {`,
    ...s.loadB.map((l) => `      ${l}`),
    '    }',
    '    tb[kk][cc] = bv;',
    '  }',
    '  workgroupBarrier();',
    `  for (var kk = 0; kk < ${TILE_K}; kk++) {`,
  );
  // rows ty + 8i and columns tx + 8j: neighbouring threads read neighbouring words
  body.push(
    `    for (var i = 0; i < ${RM}; i++) {`,
    `      let a = ta[ty + i * ${WG_Y}][kk];`,
    `      for (var j = 0; j < ${RN}; j++) { acc[i * ${RN} + j] = fma(a, tb[kk][tx + j * ${WG_X}], acc[i * ${RN} + j]); }`,
    '    }',
    '  }',
    '  workgroupBarrier();',
    '}',
    `for (var i = 0; i < ${RM}; i++) {`,
    `  for (var j = 0; j < ${RN}; j++) {`,
    `    let m = row0 + ty + i * ${WG_Y};`,
    `    let n = col0 + tx + j * ${WG_X};`,
    `    let v = acc[i * ${RN} + j];`,
    `    if (m < ${int(s.M)} && n < ${int(s.N)}) { ${s.store} }`,
    '  }',
    '}',
  );
  const groups: Groups = [Math.ceil(s.N / TILE_N), Math.ceil(s.M / TILE_M), s.depth];
  return sb.tiled([WG_X, WG_Y, 1], groups, body);
}
