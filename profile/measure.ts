/**
 * Measured host latency, per layer: warm-up runs, then N timed runs; per-layer and total times are
 * the median over the timed runs (per layer and per total separately, so layer medians need not add
 * up to the total median exactly).
 *
 * - reference interpreter: runGraph's `onNode` hook with performance.now() (time between
 *   consecutive node completions; includes the interpreter's own bookkeeping per node);
 * - wasm target: a module built with `profile: true` (targets/wasm/emit.ts), which imports
 *   `env.now` and accumulates milliseconds per layer; `model.resetProfile()` before each run.
 */
import { Graph } from '../compiler/ir/graph.js';
import { Tensor } from '../compiler/ir/tensor.js';
import { isFloat } from '../compiler/ir/dtype.js';
import { runGraph } from '../compiler/interp/interp.js';
import { usage } from '../compiler/errors.js';
import { elems } from './estimate.js';

/** How many runs to time. */
export interface MeasureOptions {
  /** Untimed runs first (default 1). */
  warmup?: number;
  /** Timed runs (default 5); fewer when `budgetMs` runs out (at least 1). */
  runs?: number;
  /** Stop starting new timed runs after this much wall time (default 10000 ms). */
  budgetMs?: number;
  /** Inputs in graph-input order (default: deterministic random data, see randomInputs). */
  inputs?: Tensor[];
  /** Called after each run (warm-up and timed) with the runs done and planned (progress bars). */
  onRun?: (done: number, total: number) => void;
}

/** Per-layer measured times. */
export interface Measurement {
  /** 'ref' (reference interpreter) or 'wasm'. */
  engine: 'ref' | 'wasm';
  /** Median total milliseconds per inference. */
  total_ms: number;
  /** Median milliseconds per node, indexed like g.orderedNodes(); null where not measured. */
  layer_ms: (number | null)[];
  warmup: number;
  runs: number;
  /** Time spent outside any profiled layer (wasm: steps not attributed to a node). */
  unattributed_ms: number;
}

/** Median of a non-empty list. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Deterministic inputs for timing: floats uniform in [-1, 1) (mulberry32, seeded), integers and
 * booleans zero (safe for index-like inputs). Symbolic dims are 1.
 * @param g the graph
 * @param seed PRNG seed
 */
export function randomInputs(g: Graph, seed = 1): Tensor[] {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return g.inputs.map((id) => {
    const t = g.typeOf(id);
    const shape = t.shape.map((d) => (typeof d === 'number' ? d : 1));
    const out = Tensor.zeros(t.dtype, shape);
    if (isFloat(t.dtype)) for (let i = 0; i < elems(shape); i++) out.set(i, 2 * next() - 1);
    return out;
  });
}

function checkCounts(o: MeasureOptions): { warmup: number; runs: number; budgetMs: number } {
  const warmup = o.warmup ?? 1;
  const runs = o.runs ?? 5;
  const budgetMs = o.budgetMs ?? 10000;
  if (!Number.isInteger(warmup) || warmup < 0) throw usage(`warm-up runs must be an integer >= 0, got ${warmup}`);
  if (!Number.isInteger(runs) || runs < 1) throw usage(`timed runs must be an integer >= 1, got ${runs}`);
  return { warmup, runs, budgetMs };
}

/**
 * Times the reference interpreter per node.
 * @param g graph to run (concrete shapes)
 * @param opts runs, warm-up, inputs
 */
export function measureReference(g: Graph, opts: MeasureOptions = {}): Measurement {
  const { warmup, runs, budgetMs } = checkCounts(opts);
  const inputs = opts.inputs ?? randomInputs(g);
  const nodes = g.orderedNodes();
  const index = new Map(nodes.map((n, i) => [n.id, i]));
  const perRun: number[][] = [];
  const totals: number[] = [];
  const start = performance.now();
  for (let r = 0; r < warmup + runs; r++) {
    if (r > warmup && performance.now() - start > budgetMs) break;
    const t = new Array<number>(nodes.length).fill(0);
    let prev = performance.now();
    const t0 = prev;
    runGraph(g, inputs, {
      onNode: (n) => {
        const now = performance.now();
        const i = index.get(n.id);
        if (i !== undefined) t[i]! += now - prev;
        prev = now;
      },
    });
    const total = performance.now() - t0;
    if (r >= warmup) {
      perRun.push(t);
      totals.push(total);
    }
    opts.onRun?.(r + 1, warmup + runs);
  }
  const layer_ms = nodes.map((_, i) => median(perRun.map((t) => t[i]!)));
  const total_ms = median(totals);
  const attributed = layer_ms.reduce((a, b) => a + b, 0);
  return { engine: 'ref', total_ms, layer_ms, warmup, runs: totals.length, unattributed_ms: Math.max(0, total_ms - attributed) };
}

/** The parts of a wasm artifact's runtime API (model.mjs, profiling build) the profiler uses. */
export interface ProfiledModel {
  inputs: { name: string; shape: number[]; dtype: string }[];
  run(feeds: Record<string, ArrayLike<number>>): unknown;
  profile?(): { name: string; op: string; ms: number }[];
  resetProfile?(): void;
}

/**
 * Times a loaded, profiling-enabled wasm model and attributes its layer times to the nodes of `g`
 * (the graph the module was emitted from): the k-th profiled layer named X with op Y is the k-th
 * node of `g` named X with op Y (names are data and need not be unique).
 * @param model the instantiated model (create() of a module built with profile: true)
 * @param g the graph it was emitted from
 * @param opts runs, warm-up, inputs (graph-input order)
 */
export async function measureWasmModel(model: ProfiledModel, g: Graph, opts: MeasureOptions = {}): Promise<Measurement> {
  const { warmup, runs, budgetMs } = checkCounts(opts);
  const inputs = opts.inputs ?? randomInputs(g);
  const feeds: Record<string, Float32Array> = {};
  model.inputs.forEach((x, i) => {
    const t = inputs[i];
    if (!t) throw usage(`wasm model input "${x.name}" has no data`);
    feeds[x.name] = t.data instanceof Float32Array ? t.data : Float32Array.from(t.toNumbers());
  });
  const nodes = g.orderedNodes();
  const slots = new Map<string, number[]>();
  const byName = new Map<string, number[]>();
  const push = (m: Map<string, number[]>, k: string, i: number) => {
    const l = m.get(k);
    if (l) l.push(i);
    else m.set(k, [i]);
  };
  nodes.forEach((n, i) => {
    push(slots, `${n.op}\u0000${n.name}`, i);
    push(byName, n.name, i);
  });
  const perRun: (number | null)[][] = [];
  const totals: number[] = [];
  const start = performance.now();
  for (let r = 0; r < warmup + runs; r++) {
    if (r > warmup && performance.now() - start > budgetMs) break;
    model.resetProfile?.();
    const t0 = performance.now();
    await model.run(feeds);
    const total = performance.now() - t0;
    opts.onRun?.(r + 1, warmup + runs);
    if (r < warmup) continue;
    totals.push(total);
    const t = new Array<number | null>(nodes.length).fill(null);
    const seen = new Map<string, number>();
    const seenName = new Map<string, number>();
    for (const l of model.profile?.() ?? []) {
      const k = `${l.op}\u0000${l.name}`;
      const occ = seen.get(k) ?? 0;
      seen.set(k, occ + 1);
      const occName = seenName.get(l.name) ?? 0;
      seenName.set(l.name, occName + 1);
      // same op and name; else (a fused node, e.g. FusedConv for Conv) the same name
      const i = slots.get(k)?.[occ] ?? byName.get(l.name)?.[occName];
      if (i !== undefined) t[i] = (t[i] ?? 0) + l.ms;
    }
    perRun.push(t);
  }
  const layer_ms = nodes.map((_, i) => {
    const xs = perRun.map((t) => t[i]).filter((x): x is number => x !== null && x !== undefined);
    return xs.length ? median(xs) : null;
  });
  const total_ms = median(totals);
  const attributed = layer_ms.reduce<number>((a, b) => a + (b ?? 0), 0);
  return { engine: 'wasm', total_ms, layer_ms, warmup, runs: totals.length, unattributed_ms: Math.max(0, total_ms - attributed) };
}

/**
 * Builds a profiling wasm module for `g` (the wasm pipeline runs on a copy first; on a graph that
 * is already optimized, e.g. an artifact's model.onnx, it changes nothing), loads it through its
 * model.mjs and times it per layer. Layers are matched to the nodes of `g` by op and name, else by
 * name (a fused node takes the time of the node it replaced; the fused activation shows none).
 * @param g graph with concrete shapes (not modified)
 * @param opts runs, warm-up, inputs
 */
export async function measureWasm(g: Graph, opts: MeasureOptions = {}): Promise<Measurement> {
  const fs = await import('node:fs');
  const { compileWasm } = await import('../targets/wasm/emit.js');
  const { loadWasmArtifact, writeTempArtifact } = await import('../targets/wasm/runner.js');
  const art = compileWasm(g, { profile: true });
  const dir = writeTempArtifact(art.files);
  try {
    const model = await loadWasmArtifact(dir);
    return await measureWasmModel(model, g, opts);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
