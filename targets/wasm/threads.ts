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
}

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
  const plan: ThreadPlan = { parts, split: new Map(), blobs: [], scratchBytes: 0 };
  let depth = 0;
  low.steps.forEach((s, i) => {
    if (s.ctrl) {
      depth += s.ctrl.k === 'if' || s.ctrl.k === 'loop' ? 1 : s.ctrl.k === 'end' ? -1 : 0;
      return;
    }
    if (depth > 0 || s.patches?.length) return;
    const ws = splitStep(low, plan, s.kernel, s.words, parts);
    if (!ws || ws.length < 2) return;
    plan.split.set(i, ws);
    plan.scratchBytes = Math.max(plan.scratchBytes, s.scratchBytes);
  });
  return plan;
}

/** Parts of one step, or undefined when it stays whole (small, batched or not splittable). */
function splitStep(low: Lowered, plan: ThreadPlan, kernel: string, w: Word[], parts: number): Word[][] | undefined {
  const set = (base: Word[], edits: Record<number, Word>): Word[] => base.map((x, i) => edits[i] ?? x);
  const I = (v: number): Word => ({ k: 'i', v });
  if (kernel === 'conv2d_f32') {
    const [N, C, H, W, K, OH, OW, KH, KW, G] = [5, 6, 7, 8, 9, 10, 11, 12, 13, 20].map((j) => iv(w[j])) as Nums;
    if (N !== 1 || K * OH * OW * (C / G) * KH * KW < MIN_SPLIT_MACS) return undefined;
    if (G === C && G === K) {
      return ranges(C, parts, 1).map(([a, b]) => set(w, {
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
    if (N !== 1 || M * OH * OW * (C / G) * KH * KW < MIN_SPLIT_MACS) return undefined;
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
    return ranges(M, parts, dw ? 1 : 4).map(([a, b]) => {
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
  if (kernel === 'qdw_nhwc_i8') {
    const [N, C, H, W, OH, OW, KH, KW, sh, ph] = [9, 10, 11, 12, 13, 14, 15, 16, 17, 21].map((j) => iv(w[j])) as Nums;
    if (N !== 1 || C * OH * OW * KH * KW < MIN_SPLIT_MACS) return undefined;
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

/** Channel parameters (i32 off[Mp], mult[Mp], shift[Mp], Mp = M rounded up to 4) of channels [a, b). */
function chanSlice(blob: Uint8Array, M: number, a: number, b: number): Uint8Array {
  const mp = (M + 3) & ~3, n = b - a, np = (n + 3) & ~3;
  const src = new Int32Array(blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.byteLength));
  const out = new Int32Array(3 * np);
  for (let t = 0; t < 3; t++) out.set(src.subarray(t * mp + a, t * mp + b), t * np);
  return new Uint8Array(out.buffer);
}

/** Byte offsets of the synchronization words (from `ThreadLayout.sync`). */
export const SYNC = { start: 0, stop: 4, count: 8, gen: 12, threads: 16, mainWaits: 20 } as const;
/** Bytes per worker area: a one-word parameter block for thread_area at 0, the slot area at 64. */
const AREA_BYTES = 512;
/** Barrier spins before a thread that may block waits (memory.atomic.wait32). */
const SPIN = 1 << 14;

/** Where the threads module's own memory lives (after the arena). */
export interface ThreadLayout {
  /** Synchronization words (SYNC offsets): run counter, stop flag, barrier count and generation, threads, main may block. */
  sync: number;
  /** Worker t's area: areas + t * AREA_BYTES. */
  areas: number;
  /** Scratch region of part k >= 1 of a split step. */
  scratchOf(k: number): number;
  end: number;
}

/** Memory of the threads module after the arena ending at `arenaEnd`. */
export function threadLayout(plan: ThreadPlan, arenaEnd: number): ThreadLayout {
  const a64 = (x: number): number => Math.ceil(x / 64) * 64;
  const sync = a64(arenaEnd);
  const areas = sync + 64;
  const scratch = a64(areas + plan.parts * AREA_BYTES);
  const per = a64(plan.scratchBytes);
  return { sync, areas, scratchOf: (k) => scratch + (k - 1) * per, end: scratch + (plan.parts - 1) * per };
}

/**
 * The threads module's code: `thread0` turns a split step's part calls into thread 0's share
 * between barriers (inside `run`), `prologue` starts the workers' run, `finish` adds the barrier
 * and the exported `thread_main(t)` each worker calls once (it returns when the stop flag is set).
 * Barrier: a counter and a generation word; the last thread to arrive resets the counter and bumps
 * the generation, the others spin on the generation, then block in memory.atomic.wait32 (workers,
 * and thread 0 when the mainWaits word is 1: Node; a browser's main thread only spins).
 */
export function threadFunctions(mod: binaryen.Module, plan: ThreadPlan, tl: ThreadLayout, fnOf: Map<string, string>,
  partAddr: Map<number, number[]>, stepKernel: (i: number) => string): { thread0(i: number, calls: number[]): number[]; prologue(): number[]; finish(): void } {
  const I32 = binaryen.i32;
  const at = (o: number): number => mod.i32.const(tl.sync + o);
  const load = (o: number): number => mod.i32.atomic.load(0, at(o));
  const barrier = (canWait: number): number => mod.call('edgec_barrier', [canWait], binaryen.none);
  // the share of thread `t` (an expression) of split step i: parts k with k % n == t, then a barrier
  const share = (i: number, t: () => number, calls: (k: number) => number, canWait: () => number): number[] => {
    const out: number[] = [];
    if (i > 0 && !plan.split.has(i - 1)) out.push(barrier(canWait()));
    const n = partAddr.get(i)!.length;
    for (let k = 0; k < n; k++) out.push(mod.if(mod.i32.eq(mod.i32.rem_u(mod.i32.const(k), load(SYNC.threads)), t()), calls(k)));
    out.push(barrier(canWait()));
    return out;
  };
  return {
    thread0(i, calls) {
      return share(i, () => mod.i32.const(0), (k) => calls[k]!, () => load(SYNC.mainWaits));
    },
    prologue() {
      return [mod.drop(mod.i32.atomic.rmw.add(0, at(SYNC.start), mod.i32.const(1))), mod.drop(mod.memory.atomic.notify(at(SYNC.start), mod.i32.const(0x7fffffff)))];
    },
    finish() {
      // edgec_barrier(canWait): locals 1 generation, 2 spins
      const g = mod.local.get(1, I32), spins = mod.local.get(2, I32);
      mod.addFunction('edgec_barrier', binaryen.createType([I32]), binaryen.none, [I32, I32], mod.block(null, [
        mod.local.set(1, load(SYNC.gen)),
        mod.if(mod.i32.eq(mod.i32.atomic.rmw.add(0, at(SYNC.count), mod.i32.const(1)), mod.i32.sub(load(SYNC.threads), mod.i32.const(1))),
          mod.block(null, [
            mod.i32.atomic.store(0, at(SYNC.count), mod.i32.const(0)),
            mod.i32.atomic.store(0, at(SYNC.gen), mod.i32.add(g, mod.i32.const(1))),
            mod.drop(mod.memory.atomic.notify(at(SYNC.gen), mod.i32.const(0x7fffffff))),
            mod.return(),
          ])),
        mod.loop('spin', mod.block(null, [
          mod.if(mod.i32.ne(load(SYNC.gen), g), mod.return()),
          mod.local.set(2, mod.i32.add(spins, mod.i32.const(1))),
          mod.if(mod.i32.and(mod.i32.gt_u(spins, mod.i32.const(SPIN)), mod.local.get(0, I32)),
            mod.drop(mod.memory.atomic.wait32(at(SYNC.gen), g, mod.i64.const(-1n as unknown as number)))),
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
        body.push(...share(i, t, (k) => mod.call(fn, [mod.i32.const(partAddr.get(i)![k]!)], binaryen.none), () => mod.i32.const(1)));
      }
      mod.addFunction('thread_main', binaryen.createType([I32]), binaryen.none, [I32, I32], mod.block(null, [
        mod.local.set(2, a),
        mod.i32.store(0, 4, mod.local.get(2, I32), mod.i32.add(mod.local.get(2, I32), mod.i32.const(64))),
        mod.call(area, [mod.local.get(2, I32)], binaryen.none),
        mod.local.set(1, mod.i32.const(0)),
        mod.loop('runs', mod.block(null, [
          mod.if(mod.i32.eq(load(SYNC.start), last()), mod.block(null, [
            mod.if(load(SYNC.stop), mod.return()),
            mod.drop(mod.memory.atomic.wait32(at(SYNC.start), last(), mod.i64.const(-1n as unknown as number))),
            mod.br('runs'),
          ])),
          mod.local.set(1, load(SYNC.start)),
          mod.if(load(SYNC.stop), mod.return()),
          ...body,
          mod.br('runs'),
        ])),
      ]));
      mod.addFunctionExport('thread_main', 'thread_main');
    },
  };
}
