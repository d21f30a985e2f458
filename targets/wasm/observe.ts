/**
 * A float graph compiled to wasm as a fast forward engine for analyses that need every
 * intermediate value (int8 calibration): the profiling build of the module calls `env.now()`
 * before and after each layer; after a layer, its output buffers (and the reshape-like aliases of
 * them) are handed to a callback as Float32Array views of the wasm memory, valid only during the
 * callback. Orders of magnitude faster than the reference interpreter on large models; numbers are
 * the wasm target's f32 results (equal to the reference within f32 rounding).
 */
import { Graph, ValueId } from '../../compiler/ir/graph.js';
import { Tensor, isConcrete, numel } from '../../compiler/ir/tensor.js';
import { inferShapes } from '../../compiler/interp/interp.js';
import { EdgecError, invalid } from '../../compiler/errors.js';
import { lowerGraph } from './lower.js';
import { buildModule } from './module.js';

/** The WebAssembly API of the host (Node >= 18, browsers); tsconfig has no DOM typings. */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object, imports: object) => { exports: Record<string, unknown> };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/**
 * Receives one value of one sample: `data` is a view into wasm memory (Float32Array for f32 values;
 * Int8Array / Uint8Array / Int32Array for integer ones), valid during the call only.
 */
export type ValueSink = (id: ValueId, data: Float32Array | Int8Array | Uint8Array | Int32Array) => void;

/** Element types the observer can report, with their typed-array views. */
const VIEWS = { f32: Float32Array, i8: Int8Array, u8: Uint8Array, i32: Int32Array } as const;

export interface ObserverOptions {
  /** Also report int8/uint8/int32 values (integer graphs); default: f32 values only. */
  integers?: boolean;
}

/** A compiled float graph that reports its values sample by sample. */
export interface FloatObserver {
  /** Samples per run (the compiled batch size). */
  readonly batch: number;
  /**
   * Runs a batch of samples (first axis of each input tensor, a multiple of `batch`) and reports
   * every observable value of every run, graph inputs included.
   */
  run(inputs: readonly Tensor[], sink: ValueSink): void;
  /** Values the observer reports (float runtime values; others are constants or not f32). */
  readonly observed: ReadonlySet<ValueId>;
}

/**
 * Compiles `g` (float graph, already optimized) for observation. Returns undefined when the graph
 * does not compile for wasm as f32 (unsupported op, dynamic shapes other than a symbolic batch,
 * non-f32 inputs), so callers fall back to the reference interpreter.
 * @param g float graph (not modified)
 */
export function createFloatObserver(g: Graph, opts: ObserverOptions = {}): FloatObserver | undefined {
  try {
    return build(g, opts);
  } catch (e) {
    if (e instanceof EdgecError) return undefined;
    throw e;
  }
}

function build(src: Graph, opts: ObserverOptions): FloatObserver | undefined {
  const g = src.clone();
  // a symbolic batch dim compiles as 1 (samples run one at a time); any other symbolic dim: fall back
  let batch = 0;
  for (const id of g.inputs) {
    const v = g.value(id);
    if (v.type.dtype !== 'f32' || v.type.shape.length === 0) return undefined;
    const d0 = v.type.shape[0]!;
    const b = typeof d0 === 'number' ? d0 : 1;
    if (batch !== 0 && b !== batch) return undefined;
    batch = b;
    v.type = { ...v.type, shape: [b, ...v.type.shape.slice(1)] };
    if (!isConcrete(v.type.shape)) return undefined;
  }
  if (batch === 0) return undefined;
  inferShapes(g);
  const low = lowerGraph(g, { graphLayouts: true });
  // If/Loop/Scan (control steps): layers run per iteration or not at all, so the layer-end sequence
  // below does not hold; the reference interpreter observes such graphs
  if (low.steps.some((s) => s.ctrl)) return undefined;
  const { wasm, layout } = buildModule(low, { profile: true });
  const bufAddr = (id: number): number | undefined => {
    const off = low.plan.offsets.get(low.rootOf(id));
    return off === undefined ? undefined : layout.arenaBase + off;
  };
  // observable values: f32 runtime values with a buffer. A layer's outputs are reported when that
  // layer ends (later in-place writes may reuse the buffer); values of step-less nodes (reshape-like
  // aliases) with their input
  const observed = new Set<ValueId>();
  const elems = new Map<ValueId, number>();
  const ok = (id: ValueId): boolean => {
    const t = g.typeOf(id);
    const kind = t.dtype === 'f32' || (opts.integers === true && (t.dtype === 'i8' || t.dtype === 'u8' || t.dtype === 'i32'));
    return kind && !g.consts.has(id) && low.buffers.has(low.rootOf(id)) && bufAddr(id) !== undefined;
  };
  const layerSet = new Set(low.layers);
  const aliases = new Map<ValueId, ValueId[]>();
  for (const n of g.orderedNodes()) {
    if (layerSet.has(n)) continue;
    const x = n.inputs[0];
    for (const o of n.outputs) {
      if (x == null || !ok(o) || low.rootOf(o) !== low.rootOf(x)) continue;
      let l = aliases.get(x);
      if (!l) aliases.set(x, (l = []));
      l.push(o);
    }
  }
  const roots: ValueId[][] = low.layers.map((n) => n.outputs.filter(ok));
  const inputIds = g.inputs.filter(ok);
  for (const id of [...inputIds, ...roots.flat()]) {
    const stack = [id];
    while (stack.length) {
      const v = stack.pop()!;
      observed.add(v);
      elems.set(v, numel(g.typeOf(v).shape as number[]));
      stack.push(...(aliases.get(v) ?? []));
    }
  }
  // the k-th layer end reported by env.now() is layer seq[k] (the module's grouping of steps); a
  // layer reports at its last group
  const layerIdx = new Map(low.layers.map((n, i) => [n, i]));
  const seq: number[] = [];
  for (let i = 0; i < low.steps.length;) {
    const node = low.steps[i]!.node;
    while (i < low.steps.length && low.steps[i]!.node === node) i++;
    const li = layerIdx.get(node);
    if (li !== undefined) seq.push(li);
  }
  const lastGroup = new Map<number, number>();
  seq.forEach((li, k) => lastGroup.set(li, k));
  let calls = 0;
  let sink: ValueSink | undefined;
  let mem: { buffer: ArrayBuffer } | undefined;
  const report = (id: ValueId) => {
    sink!(id, new VIEWS[g.typeOf(id).dtype as keyof typeof VIEWS](mem!.buffer, bufAddr(id)!, elems.get(id)!));
    for (const a of aliases.get(id) ?? []) report(a);
  };
  const now = (): number => {
    if (calls++ % 2 === 1 && sink) {
      const k = (calls >> 1) - 1;
      const li = seq[k];
      if (li !== undefined && lastGroup.get(li) === k) for (const id of roots[li]!) report(id);
    }
    return 0;
  };
  const instance = new WA.Instance(new WA.Module(wasm), { env: { now } });
  mem = instance.exports['memory'] as { buffer: ArrayBuffer };
  const runWasm = instance.exports['run'] as () => void;
  const inputAddr = layout.inputAddr;
  const per = g.inputs.map((id) => numel(g.typeOf(id).shape as number[]));
  return {
    batch,
    observed,
    run(inputs, s) {
      if (inputs.length !== g.inputs.length) throw invalid(`observer: ${inputs.length} inputs for a model with ${g.inputs.length}`);
      const count = inputs[0]!.shape[0]! / batch;
      if (!Number.isInteger(count)) throw invalid(`observer: ${inputs[0]!.shape[0]} samples are not a multiple of the batch size ${batch}`);
      for (let r = 0; r < count; r++) {
        inputs.forEach((t, k) => {
          const d = t.data as Float32Array;
          new Float32Array(mem!.buffer, inputAddr[k]!, per[k]!).set(d.subarray(r * per[k]!, (r + 1) * per[k]!));
        });
        sink = s;
        for (const id of inputIds) report(id);
        calls = 0;
        try {
          runWasm();
        } finally {
          sink = undefined;
        }
      }
    },
  };
}
