/**
 * Multi-threaded wasm (model-threads.wasm, `create({ threads: N })` in model.mjs): the same steps as
 * model.wasm over ONE shared memory, large layers split into `parts` sub-calls of the unchanged
 * kernels (offset pointers and smaller counts in new parameter blocks), thread t running parts
 * t, t + N, t + 2N ... of each split layer, a barrier between layers.
 *
 * Splits (batch 1, top-level steps only: nothing inside If/Loop bodies):
 * - conv2d_f32: depthwise by channel ranges; group 1 by output-channel ranges (multiples of 4, so
 *   pre-packed 4-row weight groups stay whole). Each output value is the same dot product in the
 *   same order as the whole call computes it, so results are bit-identical.
 * - qconv_i8 with an NCHW output: depthwise (path 2) by channel ranges, group-1 GEMM paths by
 *   output-channel ranges (multiples of 4); each part gets its own channel-parameter blob (off,
 *   mult, shift arrays re-padded to the part's channel count). With a channels-last output (GEMM
 *   paths): by output-row ranges, given in two extra words (29, 30; layout bit 4), which only the
 *   threads build of the kernel reads (runtime-wasm/assembly/int8.ts L_ROWS).
 * - qdw_nhwc_i8: by output-row ranges (rows of a channels-last tensor are contiguous); the top
 *   padding and input start move with the range.
 * - binary_f32 / qbinary_i8 (broadcasting elementwise), quantize_f32: by ranges of the outermost
 *   dim larger than 1, or of 16 elements of a single row; global_pool_f32 by channels; gemm_f32 by
 *   output-column ranges of 8 (whole panels of a pre-packed B).
 * Barriers: one after each split step, one before a split step that follows a step of thread 0;
 * the one between two split steps is dropped (plan.elide) when the parts' arena ranges show that
 * each thread reads only what it wrote itself and overwrites nothing another thread used since
 * the last barrier, valid when the run has exactly `parts` threads (checked at run time). Other
 * large steps run as chunks taken from atomic counters, each thread its home group first (plan.dynamic).
 * Every other step runs on thread 0. Part k > 0 of a split step gets its own scratch region (after
 * the arena); part 0 uses the step's own. int8 kernels keep per-instance output-stage slots
 * (runtime-wasm/assembly/int8.ts thread_area), set once per worker.
 */
import binaryen from 'binaryen';
import { internal } from '../../compiler/errors.js';
import { Lowered, Word } from './ctx.js';

/** Split steps of a lowering: parameter words of each part, blobs the parts add. */
export interface ThreadPlan {
  /** Parts per split step (the thread count the artifact was compiled for). */
  parts: number;
  /** Step index -> parameter words of each part (as many as `parts`, or fewer for small layers). */
  split: Map<number, Word[][]>;
  /** Blobs the parts address (ids from `low.blobs.length`): per-part channel parameters. */
  blobs: Uint8Array[];
  /** Largest scratch bytes of a split step (each extra part gets a region this large). */
  scratchBytes: number;
  /**
   * Split steps j whose barrier before them (after split step j - 1) is skipped when the run has
   * exactly `parts` threads: part k of j touches nothing that another part wrote since the last
   * barrier, and writes nothing another part read or wrote since then (threads.ts partAccess).
   */
  elide: Set<number>;
  /**
   * Split steps run as chunks that the threads take in turn instead of part k on thread k % N:
   * each thread first takes the chunks of its own home group (the range part t of a fixed split
   * covers, so its data stays in its core's cache), then what is left of the others' (atomic
   * counters per group), so a thread slowed down (another process on its core) leaves its chunks
   * to the others. Steps next to a dropped barrier keep fixed parts; so do steps with large scratch.
   * Step index -> the step's position among them (its counter words).
   */
  dynamic: Map<number, number>;
  /** Largest scratch bytes of a dynamic step (chunks past the first `parts` get regions this large). */
  dynScratchBytes: number;
}

/** Chunks per thread of a dynamically scheduled step. */
export const CHUNKS_PER_THREAD = 2;
/** Steps with more scratch than this (im2col: each chunk would repeat it) keep one part per thread. */
const MAX_DYNAMIC_SCRATCH = 1 << 16;

/** Layers below this many multiply-accumulates run on one thread (a barrier costs a few microseconds). */
export const MIN_SPLIT_MACS = 1 << 18;

/** Numeric parameter words (as many as read; NaN for an address word). */
type Nums = [number, number, number, number, number, number, number, number, number, number, number, number, number];
const iv = (w: Word | undefined): number => (w && (w.k === 'i' || w.k === 'f') ? w.v : NaN);
const off = (w: Word, bytes: number): Word => (w.k === 'buf' || w.k === 'blob' ? { ...w, off: w.off + bytes } : w);

/** `n` items in at most `parts` ranges of multiples of `unit` (the last takes the rest), none empty. */
function ranges(n: number, parts: number, unit: number): [number, number][] {
  const units = Math.ceil(n / unit);
  const p = Math.max(1, Math.min(parts, units));
  const out: [number, number][] = [];
  for (let k = 0, a = 0; k < p; k++) {
    const b = k === p - 1 ? n : Math.min(n, Math.round((units * (k + 1)) / p) * unit);
    if (b > a) out.push([a, b]);
    a = b;
  }
  return out;
}

/**
 * Plans the parts of every large top-level step.
 * @param low the single-thread lowering (unchanged; the plan only adds parts and blobs)
 * @param parts threads to split for (>= 2)
 */
export function planThreads(low: Lowered, parts: number): ThreadPlan {
  const plan: ThreadPlan = { parts, split: new Map(), blobs: [], scratchBytes: 0, elide: new Set(), dynamic: new Map(), dynScratchBytes: 0 };
  let depth = 0;
  const top: boolean[] = low.steps.map((s) => {
    if (s.ctrl) {
      depth += s.ctrl.k === 'if' || s.ctrl.k === 'loop' ? 1 : s.ctrl.k === 'end' ? -1 : 0;
      return false;
    }
    return depth === 0 && !s.patches?.length;
  });
  const trySplit = (i: number, scale: number): void => {
    const s = low.steps[i]!;
    if (!top[i] || plan.split.has(i)) return;
    const ws = splitStep(low, plan, s.kernel, s.words, parts, scale);
    if (!ws || ws.length < 2) return;
    plan.split.set(i, ws);
    plan.scratchBytes = Math.max(plan.scratchBytes, s.scratchBytes);
  };
  low.steps.forEach((_, i) => trySplit(i, 1));
  // a smaller step between two split ones adds no barrier when split too (thread 0 alone would need
  // the barrier before the next split step instead): split it from 1/16 of the thresholds
  low.steps.forEach((_, i) => {
    if (plan.split.has(i - 1) && plan.split.has(i + 1)) trySplit(i, 1 / 16);
  });
  // barriers between consecutive split steps that each thread can pass alone: an epoch is the steps
  // since the last barrier, with what each part index read and wrote in it
  let epoch: PartAccess[] | undefined;
  for (const [i, ws] of [...plan.split].sort((p, q) => p[0] - q[0])) {
    const acc = ws.map((w, k) => partAccess(low, i, low.steps[i]!.kernel, w, k));
    const known = acc.every((a) => a !== undefined) ? (acc as PartAccess[]) : undefined;
    if (known && epoch && plan.split.has(i - 1) && !conflicts(known, epoch)) {
      plan.elide.add(i);
      known.forEach((a, k) => {
        const e = (epoch![k] ??= { r: [], w: [] });
        e.r.push(...a.r);
        e.w.push(...a.w);
      });
    } else epoch = known?.map((a) => ({ r: [...a.r], w: [...a.w] }));
  }
  // the other split steps: chunks taken dynamically (a first split's channel blobs left unused are not stored)
  for (const i of [...plan.split.keys()].sort((p, q) => p - q)) {
    const s = low.steps[i]!;
    if (plan.elide.has(i) || plan.elide.has(i + 1) || s.scratchBytes > MAX_DYNAMIC_SCRATCH) continue;
    // only steps large enough that each chunk stays about as large as a split step's part
    const ws = splitStep(low, plan, s.kernel, s.words, parts * CHUNKS_PER_THREAD, CHUNKS_PER_THREAD);
    if (!ws || ws.length <= parts) continue;
    plan.split.set(i, ws);
    plan.dynamic.set(i, plan.dynamic.size);
    plan.dynScratchBytes = Math.max(plan.dynScratchBytes, s.scratchBytes);
  }
  return plan;
}

/** Arena byte ranges [lo, hi) one part reads and writes (constants left out). */
interface PartAccess { r: [number, number][]; w: [number, number][] }

const overlaps = (xs: [number, number][], ys: [number, number][]): boolean => xs.some(([a, b]) => ys.some(([c, d]) => a < d && c < b));

/** Whether part k of a step (`next`) depends on or clobbers what another part did in the epoch. */
function conflicts(next: PartAccess[], epoch: PartAccess[]): boolean {
  return next.some((a, k) => epoch.some((e, j) => j !== k && (overlaps(a.r, e.w) || overlaps(a.w, e.r) || overlaps(a.w, e.w))));
}

/**
 * The arena ranges part k (words `w`) of step i reads and writes, or undefined when not known (a
 * kernel without a model here, or a buffer word the model does not account for): then a barrier
 * stays. Part 0's scratch is the step's arena scratch; part k > 0's is its own region, used by no
 * other part index (left out). Ranges over-approximate (a whole input where the part may read less).
 */
function partAccess(low: Lowered, i: number, kernel: string, w: Word[], k: number): PartAccess | undefined {
  const step = low.steps[i]!;
  let bad = false;
  const used = new Set<number>();
  const span = (j: number, bytes: number): [number, number][] => {
    used.add(j);
    const x = w[j];
    if (!x || x.k === 'blob' || x.k === 'null' || (x.k === 'i' && x.v === 0)) return [];
    if (x.k === 'scratch') {
      const key = low.scratchKey.get(i);
      const base = key === undefined ? undefined : low.plan.offsets.get(key);
      if (base === undefined) bad = true;
      return k === 0 && base !== undefined ? [[base, base + step.scratchBytes]] : [];
    }
    const base = x.k === 'buf' ? low.plan.offsets.get(low.rootOf(x.id)) : undefined;
    if (x.k !== 'buf' || base === undefined || !(bytes >= 0)) {
      bad = true;
      return [];
    }
    return [[base + x.off, base + x.off + bytes]];
  };
  // constant operands (weights, channel parameters): a runtime buffer there is not modelled
  const cst = (...js: number[]): void => js.forEach((j) => {
    used.add(j);
    if (w[j]?.k === 'buf') bad = true;
  });
  let acc: PartAccess | undefined;
  if (kernel === 'conv2d_f32') {
    const [N, C, H, W, K, OH, OW] = [5, 6, 7, 8, 9, 10, 11].map((j) => iv(w[j]));
    cst(1, 2);
    if (N === 1) acc = { r: span(0, C! * H! * W! * 4), w: [...span(3, K! * OH! * OW! * 4), ...span(4, 0)] };
  } else if (kernel === 'quantize_f32') {
    const n = [4, 5, 6].map((j) => iv(w[j])).reduce((p, v) => p * v!, 1);
    cst(2, 3);
    acc = { r: span(0, n * 4), w: span(1, n) };
  } else if (kernel === 'global_pool_f32') {
    const [NC, HW] = [2, 3].map((j) => iv(w[j]));
    acc = { r: span(0, NC! * HW! * 4), w: span(1, NC! * 4) };
  } else if (kernel === 'binary_f32' || kernel === 'qbinary_i8') {
    const f32 = kernel === 'binary_f32';
    const [A, B, Y, d, sa, sb, esz] = f32 ? [1, 2, 3, 4, 10, 16, 4] : [0, 1, 2, 13, 19, 25, 1];
    const dims = [0, 1, 2, 3, 4, 5].map((j) => iv(w[d + j]));
    const extent = (s0: number): number => {
      const st = [0, 1, 2, 3, 4, 5].map((j) => iv(w[s0 + j]));
      return st.some((v) => !(v >= 0)) ? NaN : (dims.reduce((p, v, j) => p + (v - 1) * st[j]!, 0) + 1) * esz;
    };
    acc = { r: [...span(A, extent(sa)), ...span(B, extent(sb))], w: span(Y, dims.reduce((p, v) => p * v, 1) * esz) };
  } else if (kernel === 'qconv_i8') {
    const [flags, M, N, C, H, W, OH, OW, KH, KW, sh, sw, ph, pw, path, layout] = [6, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 23, 24, 26, 28].map((j) => iv(w[j]));
    cst(1, 4, 5);
    const rows = (layout! & 4) !== 0 && w.length > 30;
    const [r0, r1] = rows ? [iv(w[29])!, iv(w[30])!] : [0, 0];
    const slice = (sp: [number, number][], row: number): [number, number][] => sp.map(([lo]) => [lo + r0 * row, lo + r1 * row]);
    const y = rows ? slice(span(2, 0), OW! * M!) : span(2, M! * OH! * OW! * ((flags! & 4) !== 0 ? 4 : 1));
    // a pointwise layer on a channels-last input (path 1, 1x1, stride 1, no padding) reads only its output rows
    const pointRows = rows && path === 1 && (layout! & 1) !== 0 && KH === 1 && KW === 1 && sh === 1 && sw === 1 && ph === 0 && pw === 0 && OW === W;
    if (N === 1) acc = { r: pointRows ? slice(span(0, 0), W! * C!) : span(0, C! * H! * W!), w: [...y, ...span(3, 0)] };
  } else if (kernel === 'qdw_nhwc_i8') {
    const [N, C, H, W, OH, OW] = [9, 10, 11, 12, 13, 14].map((j) => iv(w[j]));
    cst(1, 3);
    if (N === 1) acc = { r: span(0, H! * W! * C!), w: [...span(2, OH! * OW! * C!), ...span(24, 0)] };
  }
  if (!acc || bad || w.some((x, j) => (x.k === 'buf' || x.k === 'scratch') && !used.has(j))) return undefined;
  return acc;
}

/**
 * Barriers each inference passes (every thread): one after each split step and one before a split
 * step that follows a step run by thread 0 alone. Independent of load, unlike timings.
 */
export function barrierCount(plan: ThreadPlan): number {
  let n = 0;
  for (const i of plan.split.keys()) n += (i > 0 && !plan.split.has(i - 1) ? 2 : 1) - (plan.elide.has(i + 1) ? 1 : 0);
  return n;
}

/** Parts of one step, or undefined when it stays whole (small, batched or not splittable). */
function splitStep(low: Lowered, plan: ThreadPlan, kernel: string, w: Word[], parts: number, scale: number): Word[][] | undefined {
  const minMacs = MIN_SPLIT_MACS * scale;
  const set = (base: Word[], edits: Record<number, Word>): Word[] => base.map((x, i) => edits[i] ?? x);
  const I = (v: number): Word => ({ k: 'i', v });
  if (kernel === 'conv2d_f32') {
    const [N, C, H, W, K, OH, OW, KH, KW, G] = [5, 6, 7, 8, 9, 10, 11, 12, 13, 20].map((j) => iv(w[j])) as Nums;
    if (N !== 1 || K * OH * OW * (C / G) * KH * KW < minMacs) return undefined;
    if (G === C && G === K) {
      // ranges of 4 channels, as a pointwise layer's output channels: a depthwise layer after one then
      // reads only what the same thread wrote (planThreads drops the barrier between them)
      return ranges(C, parts, C >= 8 ? 4 : 1).map(([a, b]) => set(w, {
        0: off(w[0]!, a * H * W * 4), 1: off(w[1]!, a * KH * KW * 4), 2: off(w[2]!, a * 4), 3: off(w[3]!, a * OH * OW * 4),
        6: I(b - a), 9: I(b - a), 20: I(b - a),
      }));
    }
    if (G !== 1 || K < 8) return undefined;
    const kdim = C * KH * KW;
    const packed = iv(w[26]) !== 0;
    return ranges(K, parts, 4).map(([a, b]) => set(w, {
      1: off(w[1]!, packed ? (a / 4) * kdim * 16 : a * kdim * 4), 2: off(w[2]!, a * 4), 3: off(w[3]!, a * OH * OW * 4), 9: I(b - a),
    }));
  }
  if (kernel === 'qconv_i8') {
    const [flags, M, N, C, H, W, OH, OW, KH, KW, G, path, layout] = [6, 10, 11, 12, 13, 14, 15, 16, 17, 18, 25, 26, 28].map((j) => iv(w[j])) as Nums;
    if (N !== 1 || M * OH * OW * (C / G) * KH * KW < minMacs) return undefined;
    if ((layout & 2) !== 0) {
      // channels-last output (GEMM paths): output-row ranges, words 29 and 30 (layout bit 4, threads build)
      if (path === 2) return undefined;
      return ranges(OH, parts, 1).map(([a, b]) => [...set(w, { 28: I(layout | 4) }), I(a), I(b)]);
    }
    const chan = w[4]!;
    if (chan.k !== 'blob' || chan.off !== 0 || low.codecs[chan.id]) return undefined;
    const osz = (flags & 4) !== 0 ? 4 : 1;
    const dw = path === 2 && G === C && G === M;
    if (!dw && (G !== 1 || M < 8 || path === 2)) return undefined;
    const K2 = (C * KH * KW + 1) >> 1;
    const KH2 = (KH + 1) >> 1;
    return ranges(M, parts, dw && M < 8 ? 1 : 4).map(([a, b]) => {
      const id = low.blobs.length + plan.blobs.length;
      plan.blobs.push(chanSlice(low.blobs[chan.id]!, M, a, b));
      const e: Record<number, Word> = {
        1: off(w[1]!, dw ? a * KH2 * KW * 4 : (a / 4) * K2 * 16), 2: off(w[2]!, a * OH * OW * osz),
        4: { k: 'blob', id, off: 0 }, 5: off(w[5]!, a * 8), 10: I(b - a),
      };
      if (dw) Object.assign(e, { 0: off(w[0]!, a * H * W), 12: I(b - a), 25: I(b - a) });
      return set(w, e);
    });
  }
  if (kernel === 'gemm_f32') {
    // by output columns in ranges of 8 (the kernel's column panels; a packed B's panels stay whole),
    // where every part takes the whole call's path: pre-packed B or M < 8 (no rows-outer / panel
    // copy path), one batch, at least 8 columns per part (an overlapping last panel, as on one thread)
    const [M, N, K, bmode, batch, packed] = [4, 5, 6, 10, 16, 23].map((j) => iv(w[j])) as Nums;
    if (batch !== 1 || M * N * K < minMacs || !(packed === 1 || M < 8) || w[22]!.k !== 'null') return undefined;
    if (bmode === 3 && M !== 1) return undefined; // a full M x N bias indexes rows by N
    const rs = ranges(N, parts, 8);
    if (rs.length < 2 || rs.some(([a, b]) => b - a < 8)) return undefined;
    return rs.map(([a, b]) => set(w, {
      1: off(w[1]!, packed === 1 ? (a / 8) * K * 32 : a * 4), 2: off(w[2]!, a * 4), 5: I(b - a),
      3: bmode === 2 || bmode === 3 ? off(w[3]!, a * 4) : w[3]!,
    }));
  }
  if (kernel === 'quantize_f32') {
    // [outer][A][inner]: by outer rows, or (one row, per-tensor scale) by ranges of 16 elements;
    // every element is rounded exactly (SIMD body and scalar tail agree), so any cut keeps the bits
    const [outer, A, inner] = [4, 5, 6].map((j) => iv(w[j])) as Nums;
    if (outer * A * inner < MIN_SPLIT_ELEMS * scale || (outer === 1 && A !== 1)) return undefined;
    const row = outer > 1 ? A * inner : 1;
    return ranges(outer > 1 ? outer : inner, parts, outer > 1 ? 1 : 16).map(([a, b]) => set(w, {
      0: off(w[0]!, a * row * 4), 1: off(w[1]!, a * row), [outer > 1 ? 4 : 6]: I(b - a),
    }));
  }
  if (kernel === 'global_pool_f32') {
    // by (batch x channel) rows, in ranges of 4 like the convolution before it
    const [NC, HW] = [2, 3].map((j) => iv(w[j])) as Nums;
    if (NC * HW < MIN_SPLIT_ELEMS * scale) return undefined;
    return ranges(NC, parts, NC >= 8 ? 4 : 1).map(([a, b]) => set(w, { 0: off(w[0]!, a * HW * 4), 1: off(w[1]!, a * 4), 2: I(b - a) }));
  }
  if (kernel === 'binary_f32' || kernel === 'qbinary_i8') {
    // elementwise with broadcasting: dims at words d..d+5, operand strides (elements) at sa.. and sb..
    const f32 = kernel === 'binary_f32';
    const [A, B, Y, d, sa, sb, esz] = f32 ? [1, 2, 3, 4, 10, 16, 4] : [0, 1, 2, 13, 19, 25, 1];
    return splitElementwise(w, { A, B, Y, d, sa, sb, esz }, parts, MIN_SPLIT_ELEMS * scale, set);
  }
  if (kernel === 'qdw_nhwc_i8') {
    const [N, C, H, W, OH, OW, KH, KW, sh, ph] = [9, 10, 11, 12, 13, 14, 15, 16, 17, 21].map((j) => iv(w[j])) as Nums;
    if (N !== 1 || C * OH * OW * KH * KW < minMacs) return undefined;
    return ranges(OH, parts, 1).map(([a, b]) => {
      const iy0 = a * sh - ph;
      const skip = Math.max(iy0, 0);
      return set(w, {
        0: off(w[0]!, skip * W * C), 2: off(w[2]!, a * OW * C), 11: I(H - skip), 13: I(b - a), 21: I(Math.max(-iy0, 0)),
      });
    });
  }
  return undefined;
}

/** Elementwise steps with fewer output elements than this run on one thread. */
export const MIN_SPLIT_ELEMS = 1 << 12;

/**
 * Parts of a broadcasting elementwise kernel (6 dims, row-major output, per-operand element
 * strides): by ranges of the outermost dim larger than 1, or, when only the innermost is, by
 * ranges of 16 elements of it (parts start on a SIMD vector boundary and only the last part has the
 * kernel's scalar tail, the same elements as on one thread). Each output element is computed by
 * the same instructions, so the parts give the whole call's bits.
 */
function splitElementwise(w: Word[], at: { A: number; B: number; Y: number; d: number; sa: number; sb: number; esz: number }, parts: number, minElems: number,
  set: (base: Word[], edits: Record<number, Word>) => Word[]): Word[][] | undefined {
  const dims = [0, 1, 2, 3, 4, 5].map((j) => iv(w[at.d + j]));
  const sa = [0, 1, 2, 3, 4, 5].map((j) => iv(w[at.sa + j]));
  const sb = [0, 1, 2, 3, 4, 5].map((j) => iv(w[at.sb + j]));
  if ([...dims, ...sa, ...sb].some((v) => !Number.isInteger(v))) return undefined;
  if (dims.reduce((p, v) => p * v, 1) < minElems) return undefined;
  const j = dims.findIndex((v, i) => v > 1 || i === 5);
  const inner = dims.slice(j + 1).reduce((p, v) => p * v, 1);
  return ranges(dims[j]!, parts, j === 5 ? 16 : 1).map(([a, b]) => set(w, {
    [at.A]: off(w[at.A]!, a * sa[j]! * at.esz), [at.B]: off(w[at.B]!, a * sb[j]! * at.esz), [at.Y]: off(w[at.Y]!, a * inner * at.esz),
    [at.d + j]: { k: 'i', v: b - a },
  }));
}

/** Channel parameters (i32 off[Mp], mult[Mp], shift[Mp], Mp = M rounded up to 4) of channels [a, b). */
function chanSlice(blob: Uint8Array, M: number, a: number, b: number): Uint8Array {
  const mp = (M + 3) & ~3, n = b - a, np = (n + 3) & ~3;
  const src = new Int32Array(blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.byteLength));
  const out = new Int32Array(3 * np);
  for (let t = 0; t < 3; t++) out.set(src.subarray(t * mp + a, t * mp + b), t * np);
  return new Uint8Array(out.buffer);
}

/** Byte offsets of the synchronization words (from `ThreadLayout.sync`). */
export const SYNC = { start: 0, stop: 4, count: 8, gen: 12, threads: 16, mainWaits: 20, abort: 24, timeoutMs: 28 } as const;
/** Bytes per worker area: a one-word parameter block for thread_area at 0, the slot area at 64. */
const AREA_BYTES = 512;
/**
 * Longest spin (ms) of a thread at a barrier, or of a worker between runs, before it blocks
 * (memory.atomic.wait32): waking a blocked thread costs tens of microseconds, more than the usual
 * imbalance at a barrier, so a fixed 16K spins (about 10-20 us) made most barriers block. Each
 * thread adapts its own bound (a global of its instance): halved down to SPIN_MIN_MS each time the
 * spin runs out and the thread blocks (another process holds the core the other thread needs:
 * spinning longer only delays it), doubled back each time the wait ends while spinning.
 */
const SPIN_MS = 0.5;
/** Shortest spin bound (ms). */
const SPIN_MIN_MS = 0.01;
/** Spins between two reads of the clock (and of the abort word) while spinning. */
const SPIN_CHECK = 1024;
/** Thread 0 blocks in slices this long (ns) at a barrier, checking the abort word and its deadline. */
const MAIN_WAIT_NS = 1_000_000;

/** Where the threads module's own memory lives (after the arena). */
export interface ThreadLayout {
  /** Synchronization words (SYNC offsets): run counter, stop flag, barrier count and generation, threads, main may block. */
  sync: number;
  /** Worker t's area: areas + t * AREA_BYTES. */
  areas: number;
  /** Scratch region of part k >= 1 of a split step. */
  scratchOf(k: number): number;
  /** Chunk counters of the dynamically scheduled steps (`parts` words each, one per home group: ThreadPlan.dynamic). */
  counters: number;
  end: number;
}

/** Memory of the threads module after the arena ending at `arenaEnd`. */
export function threadLayout(plan: ThreadPlan, arenaEnd: number): ThreadLayout {
  const a64 = (x: number): number => Math.ceil(x / 64) * 64;
  const sync = a64(arenaEnd);
  const areas = sync + 64;
  const counters = a64(areas + plan.parts * AREA_BYTES);
  const scratch = a64(counters + plan.dynamic.size * plan.parts * 4);
  // parts 1 .. parts - 1: the largest scratch of any split step; chunks past them: of a dynamic step
  const per = a64(plan.scratchBytes);
  const dyn = a64(plan.dynScratchBytes);
  const most = Math.max(plan.parts, ...[...plan.split.values()].map((ws) => ws.length));
  const first = scratch + (plan.parts - 1) * per;
  return {
    sync, areas, counters, scratchOf: (k) => (k < plan.parts ? scratch + (k - 1) * per : first + (k - plan.parts) * dyn),
    end: first + (most - plan.parts) * dyn,
  };
}

/**
 * The threads module's code: `thread0` turns a split step's part calls into thread 0's share
 * between barriers (inside `run`), `prologue` starts the workers' run, `finish` adds the barrier
 * and the exported `thread_main(t)` each worker calls once (it returns when the stop flag is set).
 * Barrier: a counter and a generation word; the last thread to arrive resets the counter and bumps
 * the generation, the others spin on the generation, then block in memory.atomic.wait32 (workers,
 * and thread 0 when the mainWaits word is 1: Node; a browser's main thread only spins).
 * Failure: a nonzero abort word (model.mjs writes t + 1 when worker t's share trapped, -2 when it
 * saw a worker fail or exit, or thread 0's own kernel trap) makes every
 * waiting thread trap (`unreachable`); thread 0 also gives up after the timeoutMs word's
 * milliseconds (0: never) of waiting at one barrier, writes -1 there and traps, so a worker that
 * died or hangs mid-run ends the run with an error instead of blocking it forever.
 */
export function threadFunctions(mod: binaryen.Module, plan: ThreadPlan, tl: ThreadLayout, fnOf: Map<string, string>,
  partAddr: Map<number, number[]>, stepKernel: (i: number) => string): { thread0(i: number, calls: number[]): number[]; prologue(): number[]; finish(): void } {
  const I32 = binaryen.i32;
  const at = (o: number): number => mod.i32.const(tl.sync + o);
  const load = (o: number): number => mod.i32.atomic.load(0, at(o));
  const barrier = (canWait: number, main: boolean): number => mod.call('edgec_barrier', [canWait, mod.i32.const(main ? 1 : 0)], binaryen.none);
  // edgec_chunks_<j>(t) of dynamic step i: the chunks are cut in `parts` home groups of consecutive
  // chunks (group h: the output range that part h of a fixed split would cover), each with its own
  // counter; thread t empties group t first, then takes what is left of groups t + 1, t + 2 ...
  // (mod parts), so on an even load each thread computes the range it computes in the fixed split
  // steps around (its data stays in its core's cache) and a slowed thread still leaves its chunks to
  // the others. Every thread takes exactly one number past the last chunk of every group per run,
  // so run r (the run counter is r + 1) starts group h's counter at r * (its chunks + threads)
  // (mod 2^32: the counter may wrap)
  const chunks = (i: number): string => {
    const d = plan.dynamic.get(i)!;
    const name = `edgec_chunks_${d}`;
    if (mod.getFunction(name)) return name;
    const parts = partAddr.get(i)!;
    const P = plan.parts;
    const fn = stepKernel(i);
    const k = (): number => mod.local.get(1, I32);
    const h = (): number => mod.local.get(2, I32);
    const home = (g: number, v: number): number => {
      const [lo, hi] = [Math.floor((g * parts.length) / P), Math.floor(((g + 1) * parts.length) / P)];
      const ctr = mod.i32.const(tl.counters + 4 * (d * P + g));
      const base = mod.i32.mul(mod.i32.sub(load(SYNC.start), mod.i32.const(1)), mod.i32.add(mod.i32.const(hi - lo), load(SYNC.threads)));
      return mod.if(mod.i32.eq(h(), mod.i32.const(g)), mod.loop(`take${v}_${g}`, mod.block(null, [
        mod.local.set(1, mod.i32.sub(mod.i32.atomic.rmw.add(0, ctr, mod.i32.const(1)), base)),
        mod.if(mod.i32.lt_u(k(), mod.i32.const(hi - lo)), mod.block(null, [
          ...parts.slice(lo, hi).map((a, j) => mod.if(mod.i32.eq(k(), mod.i32.const(j)), mod.call(fn, [mod.i32.const(a)], binaryen.none))),
          mod.br(`take${v}_${g}`),
        ])),
      ])));
    };
    const visits: number[] = [];
    for (let v = 0; v < P; v++) {
      visits.push(mod.local.set(2, mod.i32.rem_u(mod.i32.add(mod.local.get(0, I32), mod.i32.const(v)), mod.i32.const(P))));
      for (let g = 0; g < P; g++) visits.push(home(g, v));
    }
    mod.addFunction(name, binaryen.createType([I32]), binaryen.none, [I32, I32], mod.block(null, visits));
    return name;
  };
  // the share of thread `t` (an expression) of split step i: parts k with k % n == t (or chunks
  // taken in turn, home group first: plan.dynamic), then a barrier
  const F64 = binaryen.f64;
  const share = (i: number, t: () => number, calls: (k: number) => number, canWait: () => number, main: boolean): number[] => {
    const out: number[] = [];
    if (i > 0 && !plan.split.has(i - 1)) out.push(barrier(canWait(), main));
    const n = partAddr.get(i)!.length;
    if (plan.dynamic.has(i)) out.push(mod.call(chunks(i), [t()], binaryen.none));
    else for (let k = 0; k < n; k++) out.push(mod.if(mod.i32.eq(mod.i32.rem_u(mod.i32.const(k), load(SYNC.threads)), t()), calls(k)));
    // the next step needs no barrier when each thread runs the part index it runs here (plan.elide)
    if (plan.elide.has(i + 1)) out.push(mod.if(mod.i32.ne(load(SYNC.threads), mod.i32.const(plan.parts)), barrier(canWait(), main)));
    else out.push(barrier(canWait(), main));
    return out;
  };
  return {
    thread0(i, calls) {
      return share(i, () => mod.i32.const(0), (k) => calls[k]!, () => load(SYNC.mainWaits), true);
    },
    prologue() {
      return [mod.drop(mod.i32.atomic.rmw.add(0, at(SYNC.start), mod.i32.const(1))), mod.drop(mod.memory.atomic.notify(at(SYNC.start), mod.i32.const(0x7fffffff)))];
    },
    finish() {
      // edgec_barrier(canWait, main): locals 2 generation, 3 spins, 4 deadline (ms, 0: not yet set), 5 end of the spinning (ms, 0: not yet set), 6 blocked
      mod.addFunctionImport('edgec_now', 'env', 'now', binaryen.none, F64);
      const g = mod.local.get(2, I32), spins = mod.local.get(3, I32), main = mod.local.get(1, I32);
      const deadline = (): number => mod.local.get(4, F64);
      const spinEnd = (): number => mod.local.get(5, F64);
      const now = (): number => mod.call('edgec_now', [], F64);
      const notifyAll = (o: number): number => mod.drop(mod.memory.atomic.notify(at(o), mod.i32.const(0x7fffffff)));
      // thread 0 past its deadline: abort (-1), wake everyone, trap
      const timeout = mod.if(mod.i32.ne(load(SYNC.timeoutMs), mod.i32.const(0)), mod.if(mod.f64.eq(deadline(), mod.f64.const(0)),
        mod.local.set(4, mod.f64.add(now(), mod.f64.convert_u.i32(load(SYNC.timeoutMs)))),
        mod.if(mod.f64.gt(now(), deadline()), mod.block(null, [
          mod.i32.atomic.store(0, at(SYNC.abort), mod.i32.const(-1)), notifyAll(SYNC.gen), notifyAll(SYNC.start), mod.unreachable(),
        ]))));
      mod.addGlobal('edgec_spin', F64, true, mod.f64.const(SPIN_MS));
      const budget = (): number => mod.global.get('edgec_spin', F64);
      const shrink = mod.global.set('edgec_spin', mod.f64.max(mod.f64.mul(budget(), mod.f64.const(0.5)), mod.f64.const(SPIN_MIN_MS)));
      const grow = mod.global.set('edgec_spin', mod.f64.min(mod.f64.add(budget(), budget()), mod.f64.const(SPIN_MS)));
      mod.addFunction('edgec_barrier', binaryen.createType([I32, I32]), binaryen.none, [I32, I32, F64, F64, I32], mod.block(null, [
        mod.local.set(2, load(SYNC.gen)),
        mod.if(mod.i32.eq(mod.i32.atomic.rmw.add(0, at(SYNC.count), mod.i32.const(1)), mod.i32.sub(load(SYNC.threads), mod.i32.const(1))),
          mod.block(null, [
            mod.i32.atomic.store(0, at(SYNC.count), mod.i32.const(0)),
            mod.i32.atomic.store(0, at(SYNC.gen), mod.i32.add(g, mod.i32.const(1))),
            mod.drop(mod.memory.atomic.notify(at(SYNC.gen), mod.i32.const(0x7fffffff))),
            mod.return(),
          ])),
        mod.loop('spin', mod.block(null, [
          // passed: a wait that ended while spinning lets the bound grow back (local 6: this call blocked)
          mod.if(mod.i32.ne(load(SYNC.gen), g), mod.block(null, [mod.if(mod.i32.eqz(mod.local.get(6, I32)), grow), mod.return()])),
          mod.local.set(3, mod.i32.add(spins, mod.i32.const(1))),
          // every SPIN_CHECK spins (the spin itself stays one load): the abort word, then the clock
          mod.if(mod.i32.eqz(mod.i32.and(spins, mod.i32.const(SPIN_CHECK - 1))), mod.block(null, [
            mod.if(mod.i32.ne(load(SYNC.abort), mod.i32.const(0)), mod.unreachable()),
            mod.if(mod.f64.eq(spinEnd(), mod.f64.const(0)), mod.local.set(5, mod.f64.add(now(), budget())),
              // past the bound: thread 0's deadline, then block (and check again right after each wait)
              mod.if(mod.f64.gt(now(), spinEnd()), mod.block(null, [
                mod.if(main, timeout),
                mod.if(mod.i32.eqz(mod.local.get(6, I32)), mod.block(null, [shrink, mod.local.set(6, mod.i32.const(1))])),
                mod.if(mod.local.get(0, I32), mod.block(null, [
                  mod.drop(mod.memory.atomic.wait32(at(SYNC.gen), g, mod.select(main, mod.i64.const(BigInt(MAIN_WAIT_NS)), mod.i64.const(-1n)))),
                  mod.local.set(3, mod.i32.sub(spins, mod.i32.const(1))),
                ])),
              ])))
          ])),
          mod.br('spin'),
        ])),
      ]));
      // thread_main(t): per-instance slot area, then one share of every split step per run
      const area = fnOf.get('thread_area');
      if (!area) throw internal('the threads kernel library has no thread_area (rebuild with npm run build)');
      const t = () => mod.local.get(0, I32);
      const last = () => mod.local.get(1, I32);
      const a = mod.i32.add(mod.i32.const(tl.areas), mod.i32.mul(t(), mod.i32.const(AREA_BYTES)));
      const body: number[] = [];
      for (const i of [...plan.split.keys()].sort((p, q) => p - q)) {
        const fn = stepKernel(i);
        body.push(...share(i, t, (k) => mod.call(fn, [mod.i32.const(partAddr.get(i)![k]!)], binaryen.none), () => mod.i32.const(1), false));
      }
      // between runs: spin (the thread's bound) on the run counter (back-to-back runs start without a wake-up), then block
      const idle = () => mod.local.get(3, I32);
      const idleEnd = () => mod.local.get(4, F64);
      mod.addFunction('thread_main', binaryen.createType([I32]), binaryen.none, [I32, I32, I32, F64], mod.block(null, [
        mod.local.set(2, a),
        mod.i32.store(0, 4, mod.local.get(2, I32), mod.i32.add(mod.local.get(2, I32), mod.i32.const(64))),
        mod.call(area, [mod.local.get(2, I32)], binaryen.none),
        mod.local.set(1, mod.i32.const(0)),
        mod.loop('runs', mod.block(null, [
          mod.if(mod.i32.eq(load(SYNC.start), last()), mod.block(null, [
            mod.if(load(SYNC.stop), mod.return()),
            mod.local.set(3, mod.i32.add(idle(), mod.i32.const(1))),
            mod.if(mod.i32.eqz(mod.i32.and(idle(), mod.i32.const(SPIN_CHECK - 1))),
              mod.if(mod.f64.eq(idleEnd(), mod.f64.const(0)), mod.local.set(4, mod.f64.add(mod.call('edgec_now', [], F64), mod.global.get('edgec_spin', F64))),
                mod.if(mod.f64.gt(mod.call('edgec_now', [], F64), idleEnd()), mod.block(null, [
                  mod.drop(mod.memory.atomic.wait32(at(SYNC.start), last(), mod.i64.const(-1n))),
                  mod.local.set(3, mod.i32.sub(idle(), mod.i32.const(1))),
                ])))),
            mod.br('runs'),
          ])),
          mod.local.set(3, mod.i32.const(0)),
          mod.local.set(4, mod.f64.const(0)),
          mod.local.set(1, load(SYNC.start)),
          mod.if(mod.i32.or(load(SYNC.stop), load(SYNC.abort)), mod.return()),
          ...body,
          mod.br('runs'),
        ])),
      ]));
      mod.addFunctionExport('thread_main', 'thread_main');
    },
  };
}
