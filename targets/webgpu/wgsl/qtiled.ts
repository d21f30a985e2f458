/**
 * The tiled integer matrix-multiply core of qconv_tiled_i8 and qgemm_tiled_i8:
 *   acc[m, n] = sum_k A(m, k) * B(k, n)     (i32, wrapping like the spec's accumulator)
 * 64 threads per workgroup, arranged wx x wy; each thread holds an rm x 4 register block: rows
 * ty + wy*i, columns 4 tx + j (four CONSECUTIVE columns, so an 8-bit output whose columns are
 * contiguous in memory packs into one word per thread and row). A workgroup computes a
 * (rm*wy) x (4*wx) tile; per 16-wide step of k it stages A and B in workgroup memory as centered
 * i32 values. The tile shape follows the problem (qtileShape): few rows (output channels) or few
 * columns (pixels) would otherwise leave most of a square tile idle. Each thread always loads the
 * same B column, so column-dependent index math (`colPrelude`) runs once, outside the k loop.
 */
import { Groups, int } from './shader.js';
import { QShaderBuilder } from './qshader.js';

const TILE_K = 16;
const THREADS = 64;
/** Columns per thread (consecutive). */
const RN = 4;

/** Workgroup arrangement and register rows per thread. */
export interface QTileShape {
  wx: number;
  wy: number;
  rm: number;
}

const pow2 = (v: number): number => 2 ** Math.ceil(Math.log2(Math.max(1, v)));

/**
 * Tile shape for an M x N output: columns up to 32 per tile (fewer when N is small), then enough
 * rows to cover M up to 4 per thread.
 * @param M rows
 * @param N columns
 */
export function qtileShape(M: number, N: number): QTileShape {
  const wx = Math.min(8, Math.max(1, pow2(Math.ceil(N / RN))));
  const wy = THREADS / wx;
  const rm = Math.min(4, pow2(Math.ceil(M / wy)));
  return { wx, wy, rm };
}

/** What the caller supplies. */
export interface QTiledSpec {
  M: number;
  N: number;
  K: number;
  /** Grid depth (batch x groups). */
  depth: number;
  /** Statements before the loop (may use `wid`). */
  prelude: string[];
  /** Statements run once per thread with its B column `n` (may be >= N: then unused). */
  colPrelude: string[];
  /** Statements setting `av` = A(m, k) for in-range i32 `m`, `k`. */
  loadA: string[];
  /** Statements setting `bv` = B(k, n) for in-range i32 `k`, `n`. */
  loadB: string[];
  /**
   * Statements storing row `m`'s four results `v0..v3` at columns `n0 .. n0 + 3` (columns past N
   * hold garbage; `nv` = how many are valid).
   */
  store: string[];
}

/**
 * Emits the tiled kernel.
 * @param sb shader builder (operands and helper functions already declared)
 * @param s sizes, operand loads and the store
 */
export function qtiledMatmul(sb: QShaderBuilder, s: QTiledSpec): ReturnType<QShaderBuilder['tiled']> {
  const { wx, wy, rm } = qtileShape(s.M, s.N);
  const TM = rm * wy;
  const TN = RN * wx;
  const decls = [
    `var<workgroup> ta: array<array<i32, ${TILE_K}>, ${TM}>;`,
    `var<workgroup> tb: array<array<i32, ${TN}>, ${TILE_K}>;`,
  ];
  const aPer = Math.ceil((TM * TILE_K) / THREADS);
  const bPer = (TILE_K * TN) / THREADS;
  const lanes = [0, 1, 2, 3];
  const body: string[] = [
    ...s.prelude,
    'let tx = i32(lid.x);',
    'let ty = i32(lid.y);',
    'let tid = i32(lidx);',
    `let row0 = i32(wid.y) * ${TM};`,
    `let col0 = i32(wid.x) * ${TN};`,
    // this thread's B column (fixed: TN divides the thread count)
    `let cb = tid % ${TN};`,
    `let kb = tid / ${TN};`,
    'let n = col0 + cb;',
    ...s.colPrelude,
    `var acc: array<i32, ${rm * RN}>;`,
    `for (var k0 = 0; k0 < ${int(s.K)}; k0 += ${TILE_K}) {`,
    `  for (var e = 0; e < ${aPer}; e++) {`,
    `    let li = tid + e * ${THREADS};`,
    `    if (li < ${TM * TILE_K}) {`,
    `      let r = li / ${TILE_K};`,
    `      let kk = li % ${TILE_K};`,
    '      let m = row0 + r;',
    '      let k = k0 + kk;',
    '      var av = 0;',
    `      if (m < ${int(s.M)} && k < ${int(s.K)}) {`,
    ...s.loadA.map((l) => `        ${l}`),
    '      }',
    '      ta[r][kk] = av;',
    '    }',
    '  }',
    `  for (var e = 0; e < ${bPer}; e++) {`,
    `    let kk = kb + e * ${THREADS / TN};`,
    '    let k = k0 + kk;',
    '    var bv = 0;',
    `    if (n < ${int(s.N)} && k < ${int(s.K)}) {`,
    ...s.loadB.map((l) => `      ${l}`),
    '    }',
    '    tb[kk][cb] = bv;',
    '  }',
    '  workgroupBarrier();',
    `  for (var kk = 0; kk < ${TILE_K}; kk++) {`,
    ...lanes.map((j) => `    let b${j} = tb[kk][tx * ${RN} + ${j}];`),
    `    for (var i = 0; i < ${rm}; i++) {`,
    `      let a = ta[ty + i * ${wy}][kk];`,
    ...lanes.map((j) => `      acc[i * ${RN} + ${j}] += a * b${j};`),
    '    }',
    '  }',
    '  workgroupBarrier();',
    '}',
    `let n0 = col0 + tx * ${RN};`,
    `let nv = min(${RN}, ${int(s.N)} - n0);`,
    'if (nv > 0) {',
    `  for (var i = 0; i < ${rm}; i++) {`,
    `    let m = row0 + ty + i * ${wy};`,
    `    if (m < ${int(s.M)}) {`,
    ...lanes.map((j) => `      let v${j} = acc[i * ${RN} + ${j}];`),
    ...s.store.map((l) => `      ${l}`),
    '    }',
    '  }',
    '}',
  ];
  const groups: Groups = [Math.ceil(s.N / TN), Math.ceil(s.M / TM), s.depth];
  return sb.tiled([wx, wy, 1], groups, decls, body);
}
