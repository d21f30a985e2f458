/**
 * The run-time planner of dynamic-shape wasm artifacts (`edgec compile --max-input-shape`, or a
 * graph whose input dims stay symbolic). It is bundled with the compiler code it needs into the
 * artifact's `relower.mjs` (scripts/build-runtime.mjs) and runs inside model.mjs, in Node and
 * browsers: for the input shapes of a call it binds the symbolic dims, infers every shape, lowers
 * the graph with the same lowering as a static compile (targets/wasm/lower.ts: same kernels, same
 * parameter blocks, same memory planner) and lays the result out in linear memory after the
 * module's static data. The module (module.ts buildDynamicModule) holds every kernel in a function
 * table and runs the step table [kernel index, parameter-block address]* that this planner writes.
 * A plan depends only on the input shapes, so model.mjs keeps the last one and re-plans when they
 * change. No Node APIs here: this runs in browsers too.
 */
import { Graph, Node, ValueId, hasSubgraph } from '../../../compiler/ir/graph.js';
import { Tensor, TypedArray, isConcrete } from '../../../compiler/ir/tensor.js';
import { opOf, opsetOf, parseAttrs } from '../../../compiler/ops/registry.js';
import { DType, bf16BitsToNumber, f16BitsToNumber, numberToBf16Bits, numberToF16Bits } from '../../../compiler/ir/dtype.js';
import { EdgecError, invalid, unsupported } from '../../../compiler/errors.js';
import { inferShapes } from '../../../compiler/interp/interp.js';
import { decodeBlocked } from '../../common/compress.js';
import { ConstCtx } from '../../common/ctx.js';
import { KERNELS, KernelId } from '../kernels.js';
import { lowerGraph, Lowered } from '../lower.js';
import { alignUp } from '../memory-plan.js';
import { GraphJson, graphFromJson } from './graph-json.js';
import { resolveWords } from '../layout.js';
import type { Word } from '../ctx.js';
import { hasNonTensorValues } from '../../common/sequences.js';
import { HostValue, StructuredGraph, bindStructure, computedStructure, structureInputs, structureKey } from './sequences.js';

export type { HostValue } from './sequences.js';

/** Table index of each kernel in a dynamic module: the order of targets/wasm/kernels.ts. */
export const KERNEL_INDEX: ReadonlyMap<KernelId, number> = new Map((Object.keys(KERNELS) as KernelId[]).map((k, i) => [k, i]));

/** A graph input or output as the plan placed it. */
export interface PlannedIo {
  name: string;
  dtype: string;
  shape: number[];
  /** Byte address in linear memory. */
  addr: number;
  /** Element count. */
  size: number;
}

/** Everything model.mjs needs to run one input-shape configuration. */
export interface Plan {
  /** Bytes to write at `base`: constant blobs, parameter blocks, the step table. */
  image: Uint8Array;
  base: number;
  /** Address and number of [kernel index, parameter address] pairs of the step table. */
  table: number;
  steps: number;
  /** First byte past the arena: linear memory must be at least this large. */
  end: number;
  inputs: PlannedIo[];
  outputs: PlannedIo[];
}

/** Binds dims of the graph inputs: dim names -> sizes, checked against the model and the bound. */
export interface Bound {
  /** Largest shape of each input (the `--max-input-shape` bound; absent: unbounded). */
  max?: Record<string, number[]>;
}

/**
 * Fixes the graph inputs of a copy of `base` to `shapes` and infers every shape.
 * @param base graph with symbolic input dims
 * @param shapes one concrete shape per graph input name
 * @param bound optional upper bounds per input
 * @throws EdgecError 'invalid' on a rank mismatch, a fixed dim that differs, a symbolic dim given
 *   two different sizes, or a dim over the bound
 */
export function bindShapes(base: Graph, shapes: Readonly<Record<string, readonly number[]>>, bound: Bound = {}, requireStatic = true): Graph {
  const g = base.clone();
  const sym = new Map<string, number>();
  for (const id of g.inputs) {
    const v = g.value(id);
    // sequence / optional inputs are bound with their structure (dynamic/sequences.ts)
    if (v.type.kind !== undefined) continue;
    const s = shapes[v.name];
    if (!s) throw invalid(`no shape given for input "${v.name}"`);
    if (s.length !== v.type.shape.length) throw invalid(`input "${v.name}" has rank ${v.type.shape.length}, got a shape of rank ${s.length} [${s.join(',')}]`);
    const max = bound.max?.[v.name];
    v.type.shape.forEach((d, i) => {
      const n = s[i]!;
      if (!Number.isInteger(n) || n < 0) throw invalid(`input "${v.name}": dim ${i} must be a non-negative integer, got ${n}`);
      if (typeof d === 'number' && d !== n) throw invalid(`input "${v.name}" has dim ${i} = ${d}, got ${n}`);
      if (typeof d === 'string') {
        const prev = sym.get(d);
        if (prev !== undefined && prev !== n) throw invalid(`symbolic dim "${d}" is ${prev} in one input and ${n} in "${v.name}"`);
        sym.set(d, n);
      }
      if (max && n > max[i]!) throw invalid(`input "${v.name}" dim ${i} is ${n}, over the compiled bound ${max[i]} (shape [${max.join(',')}])`);
    });
    v.type = { ...v.type, shape: [...s] };
  }
  inferShapes(g);
  foldShapeValues(g);
  if (!requireStatic) return g;
  for (const id of g.outputs) {
    const t = g.typeOf(id);
    if (!isConcrete(t.shape)) throw unsupported(`output "${g.value(id).name}" has shape [${t.shape.join(',')}] at these input shapes: its size depends on data`);
  }
  return g;
}

/**
 * Control entries of the step table (kind < 0; the entry's second word is the address of a block of
 * 32-bit words): run_steps (module.ts buildDynamicModule) interprets them. Targets are entry indices.
 * - BR_IF_ZERO [cond address, target]: go to target when the bool byte is 0 (If: to the else part)
 * - JUMP [target]
 * - LOOP_INIT [counter address]: counter = 0
 * - LOOP_HEAD [counter address, trip kind (0 none, 1 number, 2 i64 address), trip, cond address
 *   (0: none), iteration address (0: none), exit target]: leaves the loop when counter >= trip or the
 *   condition byte is 0, else stores the counter as an i64 at the iteration address; word 6: the
 *   iteration count the loop must run (-1: any), traps when it would run more or exits after fewer
 * - LOOP_NEXT [counter address, head entry]: counter++, go to the head
 * - PATCH [word address, static value, term count, (counter address, stride)...]: word = static +
 *   sum of counter * stride (per-iteration slices)
 */
/** Words of a control entry's block (PATCH blocks vary with their term count). */
function blockWords(e: { kind: number }): number {
  return e.kind === CTRL_ENTRY.PATCH ? 3 + 2 * MAX_PATCH_TERMS : e.kind === CTRL_ENTRY.LOOP_HEAD ? 7 : 2;
}

/** Most loop terms of one patch (a Scan inside a batch loop has two). */
const MAX_PATCH_TERMS = 4;

export const CTRL_ENTRY = { BR_IF_ZERO: -1, JUMP: -2, LOOP_INIT: -3, LOOP_HEAD: -4, LOOP_NEXT: -5, PATCH: -6 } as const;

/**
 * Lays a lowering out in linear memory from `base`: blobs (16-byte aligned), parameter blocks and
 * control blocks, loop counters, the step table, then the arena (64-byte aligned).
 * @param low the lowering of a graph with concrete shapes
 * @param base first free byte address
 */
export function layoutPlan(low: Lowered, base: number): Plan {
  let cur = alignUp(base, 16);
  const blobAddr = low.blobs.map((b) => {
    const a = alignUp(cur, 16);
    cur = a + b.length;
    return a;
  });
  cur = alignUp(cur, 16);
  const paramAddr = low.steps.map((s) => {
    const a = cur;
    if (!s.ctrl) cur += KERNELS[s.kernel].words * 4;
    return a;
  });
  // loop counters, one word per loop
  const nLoops = low.steps.reduce((m, s) => (s.ctrl?.k === 'loop' ? Math.max(m, s.ctrl.id + 1) : m), 0);
  const counters = cur;
  cur += nLoops * 4;
  const counter = (id: number): number => counters + id * 4;
  const bufAddr = (id: number): number => {
    const off = low.plan.offsets.get(low.rootOf(id));
    if (off === undefined) throw invalid(`no buffer planned for value ${id}`);
    return arenaBase + off;
  };
  const wordAddr = (w: Word): number => (w.k === 'buf' ? bufAddr(w.id) + w.off : w.k === 'blob' ? blobAddr[w.id]! + w.off : 0);
  // table entries: kernel calls and control entries (blocks resolved once every address is known)
  type Entry = { kind: number; param: number } | { kind: number; block: () => number[] };
  const entries: Entry[] = [];
  const open: { k: 'if' | 'loop'; id?: number; fix: { at?: number; elseJump?: number; head?: number } }[] = [];
  const targets = new Map<string, number>();
  low.steps.forEach((s, i) => {
    const ct = s.ctrl;
    if (!ct) {
      for (const p of s.patches ?? []) {
        if (p.terms.length > MAX_PATCH_TERMS) throw invalid(`a parameter word advances with ${p.terms.length} loops (at most ${MAX_PATCH_TERMS})`);
        const at = paramAddr[i]! + p.word * 4;
        entries.push({ kind: CTRL_ENTRY.PATCH, block: () => [at, dv.getInt32(at - base, true), p.terms.length, ...p.terms.flatMap((t) => [counter(t.loop), t.stride])] });
      }
      entries.push({ kind: KERNEL_INDEX.get(s.kernel)!, param: paramAddr[i]! });
      return;
    }
    if (ct.k === 'if') {
      const key = `if${i}`;
      entries.push({ kind: CTRL_ENTRY.BR_IF_ZERO, block: () => [wordAddr(ct.cond), targets.get(key)!] });
      open.push({ k: 'if', fix: { at: i } });
    } else if (ct.k === 'else') {
      const o = open[open.length - 1]!;
      const key = `else${o.fix.at}`;
      entries.push({ kind: CTRL_ENTRY.JUMP, block: () => [targets.get(key)!] });
      targets.set(`if${o.fix.at}`, entries.length);
      o.fix.elseJump = 1;
    } else if (ct.k === 'loop') {
      entries.push({ kind: CTRL_ENTRY.LOOP_INIT, block: () => [counter(ct.id)] });
      const head = entries.length;
      const kind = typeof ct.trip === 'number' ? 1 : ct.trip ? 2 : 0;
      entries.push({ kind: CTRL_ENTRY.LOOP_HEAD, block: () => [counter(ct.id), kind, typeof ct.trip === 'number' ? ct.trip : ct.trip ? wordAddr(ct.trip) : 0,
        ct.cond ? wordAddr(ct.cond) : 0, ct.iter ? wordAddr(ct.iter) : 0, targets.get(`loop${ct.id}`)!, ct.count ?? -1] });
      open.push({ k: 'loop', id: ct.id, fix: { head } });
    } else {
      const o = open.pop();
      if (!o) throw invalid('control steps are not nested');
      if (o.k === 'if') {
        targets.set(o.fix.elseJump ? `else${o.fix.at}` : `if${o.fix.at}`, entries.length);
      } else {
        const head = o.fix.head!;
        entries.push({ kind: CTRL_ENTRY.LOOP_NEXT, block: () => [counter(o.id!), head] });
        targets.set(`loop${o.id}`, entries.length);
      }
    }
  });
  const blockAddr = entries.map((e) => {
    if (!('block' in e)) return e.param;
    const a = cur;
    // block sizes do not depend on addresses: measure with a dry run of the word count
    cur += blockWords(e) * 4;
    return a;
  });
  const table = alignUp(cur, 8);
  cur = table + entries.length * 8;
  const arenaBase = alignUp(cur, 64);
  const image = new Uint8Array(arenaBase - base);
  const dv = new DataView(image.buffer);
  low.blobs.forEach((b, i) => {
    const codec = low.codecs[i];
    // compressed storage is a static-artifact concern: here blobs are written expanded
    const bytes = codec?.kind === 'int4' ? new Uint8Array(decodeBlocked(codec).buffer) : b;
    image.set(bytes, blobAddr[i]! - base);
  });
  low.steps.forEach((s, i) => {
    if (s.ctrl) return;
    resolveWords(dv, paramAddr[i]! - base, s.words, {
      buf: bufAddr, blob: (id) => blobAddr[id]!, scratch: () => arenaBase + low.plan.offsets.get(low.scratchKey.get(i)!)!,
    });
  });
  entries.forEach((e, k) => {
    if ('block' in e) e.block().forEach((w, j) => dv.setInt32(blockAddr[k]! - base + j * 4, w | 0, true));
    dv.setInt32(table - base + k * 8, e.kind, true);
    dv.setInt32(table - base + k * 8 + 4, blockAddr[k]!, true);
  });
  const io = (xs: Lowered['inputs'] | Lowered['outputs']): PlannedIo[] =>
    xs.map((x) => ({ name: x.name, dtype: x.dtype, shape: [...x.shape], addr: x.shape.includes(0) ? 0 : bufAddr(x.id), size: x.shape.reduce((a, b) => a * b, 1) }));
  return {
    image, base, table, steps: entries.length, end: arenaBase + low.plan.arenaBytes + 64,
    inputs: io(low.inputs), outputs: io(low.outputs),
  };
}

/** A tensor crossing the model.mjs boundary: data in its dtype's typed array, and its shape. */
export interface HostTensor {
  data: TypedArray;
  shape: number[];
}

/** What the planner needs from the instantiated module (model.mjs implements it). */
export interface ModuleHost {
  /** Makes linear memory at least `end` bytes. */
  ensure(end: number): void;
  /** Writes bytes at an address. */
  write(addr: number, bytes: Uint8Array): void;
  /** A copy of `size` elements of `dtype` at `addr`. */
  read(dtype: string, addr: number, size: number): TypedArray;
  /** Writes a typed array at `addr` (element type converted by the view). */
  set(dtype: string, addr: number, data: ArrayLike<number | bigint>): void;
  /** Runs `steps` entries of the step table at `table`. */
  runSteps(table: number, steps: number): void;
}

/** A tensor from data in wasm storage (f16/bf16 as 16-bit encodings). */
function fromWasm(dtype: DType, shape: readonly number[], data: TypedArray): Tensor {
  if (dtype !== 'f16' && dtype !== 'bf16') return new Tensor(dtype, shape, data);
  const dec = dtype === 'f16' ? f16BitsToNumber : bf16BitsToNumber;
  return new Tensor(dtype, shape, Float32Array.from(data as Uint16Array, (h) => dec(h)));
}

/** A tensor's data in wasm storage (f16/bf16 as 16-bit encodings). */
function toWasm(t: Tensor): TypedArray {
  if (t.dtype !== 'f16' && t.dtype !== 'bf16') return t.data as TypedArray;
  const enc = t.dtype === 'f16' ? numberToF16Bits : numberToBf16Bits;
  return Uint16Array.from(t.data as Float32Array, (v) => enc(v));
}

/** True when every output of `n` has a concrete, plain-tensor type in `g`. */
function staticNode(g: Graph, n: Node): boolean {
  return n.outputs.every((o) => g.typeOf(o).kind === undefined && isConcrete(g.typeOf(o).shape));
}

/**
 * Ops whose output sizes depend on the values of their data inputs: they run on the host with
 * their reference kernel, whatever their declared output shapes.
 */
export const HOST_OPS: ReadonlySet<string> = new Set(['NonZero', 'Unique', 'Compress', 'NonMaxSuppression']);

/**
 * edgec-domain ops that run on the host the same way: TfNonMaxSuppression (TensorFlow's
 * NonMaxSuppressionV5 with soft-NMS: a sequential, score-reweighting search with no wasm kernel).
 */
export const HOST_EDGEC_OPS: ReadonlySet<string> = new Set(['TfNonMaxSuppression']);

/**
 * Inputs that size or place an op's output (Reshape's shape, Slice's starts...). The wasm lowering
 * takes them as constants: when one is a runtime value, the graph runs in segments and the value,
 * read back after the segment that computes it, is a constant of the next one.
 */
export const SHAPE_PARAMS: Readonly<Record<string, readonly number[]>> = {
  Reshape: [1], Expand: [1], Tile: [1], Slice: [1, 2, 3, 4], Pad: [1, 2, 3], Resize: [1, 2, 3], Upsample: [1],
  ConstantOfShape: [0], Range: [0, 1, 2], OneHot: [1], TopK: [1], CenterCropPad: [1], Squeeze: [1], Unsqueeze: [1], Split: [1],
  Col2Im: [1, 2],
};

/** Inputs of `n` listed in SHAPE_PARAMS that are not known in `known` (or the graph's constants). */
export function missingParams(g: Graph, n: Node, known: ReadonlyMap<ValueId, Tensor>): ValueId[] {
  if (n.domain !== '' && n.domain !== 'ai.onnx') return [];
  // a Slice / Tile of a static output shape reads (Slice) or checks (Tile) its parameters at run time
  if ((n.op === 'Slice' || n.op === 'Tile') && isConcrete(g.typeOf(n.outputs[0]!).shape)) return [];
  const idx = SHAPE_PARAMS[n.op] ?? [];
  return idx.map((i) => n.inputs[i]).filter((x): x is ValueId => x !== null && x !== undefined && !g.consts.has(x) && !known.has(x));
}

/**
 * Folds what the input shapes decide: Shape of a concrete shape, and nodes whose inputs are all
 * constants with small outputs (shape arithmetic: Shape -> Gather -> Concat -> Reshape). Their
 * values become graph constants, so shape parameters computed from shapes need no segment split.
 */
export function foldShapeValues(g: Graph): void {
  const c = new ConstCtx(g, 'wasm');
  for (const n of g.orderedNodes()) {
    if (hasSubgraph(n) || n.outputs.some((o) => g.typeOf(o).kind !== undefined || !isConcrete(g.typeOf(o).shape))) continue;
    if (/^(Random|Multinomial$|Bernoulli$)/.test(n.op)) continue;
    c.node = n;
    try {
      c.foldNode(n);
    } catch {
      // not foldable here: it runs in wasm or on the host
    }
  }
  for (const [id, t] of c.consts) if (!g.consts.has(id) && t.size <= HOST_CONST_MAX) g.consts.set(id, t);
}

/** Why `n` cannot join a wasm segment now: its sizes depend on values, or it needs parameter values. */
export function blocks(g: Graph, n: Node, known: ReadonlyMap<ValueId, Tensor>): 'host' | 'params' | undefined {
  if ((n.domain === '' && HOST_OPS.has(n.op)) || (n.domain === 'edgec' && HOST_EDGEC_OPS.has(n.op)) || !staticNode(g, n)) return 'host';
  return missingParams(g, n, known).length > 0 ? 'params' : undefined;
}

/** Host results up to this many elements become constants of later segments (shape values). */
const HOST_CONST_MAX = 4096;

/**
 * A graph of some of `g`'s nodes (in order): values read from outside become graph inputs, or
 * constants when `consts` holds them; values used after `nodes` (or graph outputs) become outputs.
 * Returns the graph and the outer value of each of its inputs and outputs, in order.
 */
function segmentGraph(g: Graph, nodes: Node[], consts: ReadonlyMap<ValueId, Tensor>, later: ReadonlySet<ValueId>): {
  graph: Graph; inputs: ValueId[]; outputs: ValueId[];
} {
  const s = new Graph();
  s.name = g.name;
  s.opsets = { ...g.opsets };
  const ids = new Map<ValueId, ValueId>();
  const inputs: ValueId[] = [];
  const produced = new Set(nodes.flatMap((n) => n.outputs));
  const val = (id: ValueId): ValueId => {
    let m = ids.get(id);
    if (m !== undefined) return m;
    const v = g.value(id);
    const t = produced.has(id) ? undefined : consts.get(id);
    if (t) m = s.addConst(v.name, t).id;
    else {
      m = s.addValue(v.name, v.type).id;
      if (!produced.has(id)) {
        s.inputs.push(m);
        inputs.push(id);
      }
    }
    ids.set(id, m);
    return m;
  };
  for (const n of nodes) {
    const ins = n.inputs.map((x) => (x === null ? null : val(x)));
    const outs = n.outputs.map(val);
    s.addNode({ op: n.op, domain: n.domain, name: n.name, inputs: ins, outputs: outs, attrs: n.attrs });
  }
  const outputs = nodes.flatMap((n) => n.outputs).filter((o) => later.has(o));
  s.outputs = outputs.map((o) => ids.get(o)!);
  return { graph: s, inputs, outputs };
}

/**
 * Runs one node on the host with its reference kernel (a node whose output shapes depend on
 * values: NonZero, a Reshape to a computed shape...), exactly as the reference interpreter does.
 */
function hostRun(g: Graph, n: Node, env: ReadonlyMap<ValueId, Tensor>): Tensor[] {
  const def = opOf(n, g);
  const opset = opsetOf(n, g);
  const ins = n.inputs.map((x) => (x === null ? null : g.consts.get(x) ?? env.get(x) ?? null));
  return def.ref(ins, parseAttrs(def, n, opset), { opset, node: n });
}

/**
 * The entry point model.mjs uses: reads the artifact's graph once and returns a runner. A call
 * whose shapes are all known from the input shapes runs as one plan, kept until the input shapes
 * change. Otherwise the graph runs in segments: each maximal run of nodes with known output shapes
 * is lowered and run in wasm; a node whose output shapes depend on values runs on the host with its
 * reference kernel, and the shapes after it are inferred from its results. Errors are plain
 * `Error`s with edgec's one-line message.
 * @param json model.graph.json
 * @param weights model.weights.bin
 * @param memBase first free byte of the module's memory
 * @param bound compiled upper bounds
 * @param host the module's memory and step runner
 */
export function createRunner(json: GraphJson, weights: Uint8Array, memBase: number, bound: Bound, host: ModuleHost): {
  run(inputs: Record<string, HostValue>): Record<string, HostValue>;
} {
  const base = graphFromJson(json, weights);
  let cached: { key: string; plan: Plan } | undefined;
  // sequences / optionals: structure fixed per call (dynamic/sequences.ts)
  const structured = hasNonTensorValues(base);
  const structural = new Set(structured ? structureInputs(base) : []);
  let cachedS: { key: string; s: StructuredGraph; plan?: Plan; graph?: Graph } | undefined;

  /** Writes a plan into memory (when new), feeds its inputs (in order), runs it, reads its outputs (in order). */
  let lastPlan: Plan | undefined;
  const exec = (plan: Plan, fresh: boolean, feeds: readonly TypedArray[]): HostTensor[] => {
    host.ensure(plan.end);
    if (fresh) host.write(plan.base, plan.image);
    lastPlan = plan;
    plan.inputs.forEach((x, k) => {
      const d = feeds[k]!;
      if (d.length !== x.size) throw invalid(`input "${x.name}" has ${d.length} elements, expected ${x.size} (shape [${x.shape.join(',')}])`);
      host.set(x.dtype, x.addr, d as ArrayLike<number>);
    });
    host.runSteps(plan.table, plan.steps);
    return plan.outputs.map((y) => ({ data: host.read(y.dtype, y.addr, y.size), shape: y.shape }));
  };
  const feedsOf = (g: Graph, inputs: Record<string, HostValue>): TypedArray[] => g.inputs.map((id) => (inputs[g.value(id).name] as HostTensor).data);

  const runSegmented = (g: Graph, inputs: Record<string, HostTensor>): Record<string, HostTensor> => {
    const env = new Map<ValueId, Tensor>();
    for (const id of g.inputs) {
      const v = g.value(id);
      env.set(id, fromWasm(v.type.dtype, inputs[v.name]!.shape, inputs[v.name]!.data));
    }
    const order = g.orderedNodes();
    const lastUse = new Map<ValueId, number>();
    order.forEach((n, i) => n.inputs.forEach((x) => x !== null && lastUse.set(x, i)));
    for (const o of g.outputs) lastUse.set(o, order.length);
    let i = 0;
    while (i < order.length) {
      const n = order[i]!;
      const why = blocks(g, n, g.consts);
      if (why === 'params') {
        // parameters computed by earlier segments: their values become constants from here on
        for (const x of missingParams(g, n, g.consts)) {
          const t = env.get(x);
          if (!t) throw invalid(`value "${g.value(x).name}" was not computed`);
          g.consts.set(x, t);
        }
        inferShapes(g);
        foldShapeValues(g);
        if (blocks(g, n, g.consts) === undefined) continue;
      }
      if (why !== undefined) {
        const outs = hostRun(g, n, env);
        n.outputs.forEach((o, k) => {
          const t = outs[k];
          if (!t) return;
          env.set(o, t);
          g.value(o).type = { ...g.typeOf(o), shape: [...t.shape] };
          if (t.size <= HOST_CONST_MAX) {
            g.consts.set(o, t);
          }
        });
        // the shapes after it follow from its results
        inferShapes(g);
        foldShapeValues(g);
        i++;
        continue;
      }
      let j = i;
      while (j < order.length && blocks(g, order[j]!, g.consts) === undefined) j++;
      const nodes = order.slice(i, j);
      const later = new Set([...lastUse].filter(([, u]) => u >= j).map(([v]) => v));
      const seg = segmentGraph(g, nodes, g.consts, later);
      const plan = layoutPlan(lowerGraph(seg.graph), memBase);
      const outs = exec(plan, true, seg.inputs.map((x) => toWasm(env.get(x)!)));
      seg.outputs.forEach((o, k) => env.set(o, fromWasm(g.typeOf(o).dtype, outs[k]!.shape, outs[k]!.data)));
      i = j;
    }
    return Object.fromEntries(g.outputs.map((o) => {
      const t = env.get(o) ?? g.consts.get(o);
      if (!t) throw invalid(`output "${g.value(o).name}" was not computed`);
      return [g.value(o).name, { data: toWasm(t), shape: [...t.shape] }];
    }));
  };

  const named = (g: Graph, outs: HostTensor[]): Record<string, HostTensor> => Object.fromEntries(g.outputs.map((o, k) => [g.value(o).name, outs[k]!]));

  /** Tensor feeds of a flattened graph: tensor inputs by name, sequence elements as `name[i]`. */
  const flatFeeds = (s: StructuredGraph, inputs: Record<string, HostValue>): Record<string, HostTensor> => {
    const feeds: Record<string, HostTensor> = {};
    for (const [k, v] of Object.entries(inputs)) if (v !== null && !Array.isArray(v)) feeds[k] = v;
    for (const grp of s.inputs) {
      const v = inputs[grp.name];
      grp.items.forEach((item, i) => {
        const t = Array.isArray(v) ? v[i] : v;
        if (!t) throw invalid(`input "${grp.name}": element ${i} is missing`);
        feeds[item] = t;
      });
    }
    return feeds;
  };
  /** Model outputs from the flat graph's: sequences as arrays, empty optionals as null. */
  const regroup = (s: StructuredGraph, res: Record<string, HostTensor>): Record<string, HostValue> => {
    const out: Record<string, HostValue> = {};
    for (const id of base.outputs) {
      const name = base.value(id).name;
      const grp = s.outputs.find((x) => x.name === name);
      if (!grp) {
        out[name] = res[name]!;
        continue;
      }
      const present = grp.flag !== undefined ? Number(res[grp.flag]!.data[0]) !== 0 : grp.present ?? true;
      const items = grp.items.map((k) => res[k]!);
      out[name] = !present ? null : grp.kind === 'optional' ? items[0]! : items;
    }
    return out;
  };
  /** Runs a tensor graph on inputs by name (one plan, or segments), planned for this call. */
  const runTensorGraph = (g0: Graph, inputs: Record<string, HostValue>): Record<string, HostTensor> => {
    const feeds = Object.fromEntries(g0.inputs.map((id) => [g0.value(id).name, inputs[g0.value(id).name] as HostTensor]));
    const g = bindShapes(g0, Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, v.shape])), bound, false);
    if (!g.orderedNodes().every((n) => blocks(g, n, g.consts) === undefined)) return runSegmented(g, feeds);
    return named(g, exec(layoutPlan(lowerGraph(g), memBase), true, feedsOf(g, feeds)));
  };
  // structure parameters computed from data: their nodes run first, every call
  const pre = structured ? computedStructure(base, structural) : { nodes: [], params: [] };
  const preGraph = pre.nodes.length > 0 ? segmentGraph(base, pre.nodes, base.consts, new Set(pre.params)) : undefined;

  const runStructured = (inputs: Record<string, HostValue>): Record<string, HostValue> => {
    const computed = new Map<ValueId, Tensor>();
    if (preGraph) {
      const res = runTensorGraph(preGraph.graph, inputs);
      for (const o of preGraph.outputs) {
        const t = res[base.value(o).name]!;
        computed.set(o, fromWasm(base.typeOf(o).dtype, t.shape, t.data));
      }
    }
    const key = structureKey(base, structural, inputs) + JSON.stringify([...computed.values()].map((t) => Array.from(t.data as ArrayLike<number>, String)));
    if (cachedS?.key !== key) {
      // a new structure: flatten, bind shapes, plan (kept only once planning succeeded)
      cachedS = undefined;
      const s = bindStructure(base, structural, inputs, (dtype, v) => fromWasm(dtype as DType, v.shape, v.data as TypedArray), computed);
      const feeds = flatFeeds(s, inputs);
      const shapes = Object.fromEntries(s.graph.inputs.map((id) => [s.graph.value(id).name, feeds[s.graph.value(id).name]!.shape]));
      const g = bindShapes(s.graph, shapes, bound, false);
      if (g.orderedNodes().every((n) => blocks(g, n, g.consts) === undefined)) {
        const plan = layoutPlan(lowerGraph(g), memBase);
        cachedS = { key, s, plan };
        return regroup(s, named(g, exec(plan, true, feedsOf(g, feeds))));
      }
      cachedS = { key, s, graph: g };
    }
    const c = cachedS;
    const feeds = flatFeeds(c.s, inputs);
    // a plan already in memory (another structure may have overwritten it: written again when it was not the last one run)
    if (c.plan) return regroup(c.s, named(c.s.graph, exec(c.plan, lastPlan !== c.plan, feedsOf(c.s.graph, feeds))));
    return regroup(c.s, runSegmented(c.graph!.clone(), feeds));
  };

  return {
    run(inputs) {
      try {
        if (structured) return runStructured(inputs);
        const shapes = Object.fromEntries(Object.entries(inputs as Record<string, HostTensor>).map(([k, v]) => [k, v.shape]));
        const key = JSON.stringify(base.inputs.map((id) => shapes[base.value(id).name]));
        if (cached?.key === key) return named(base, exec(cached.plan, false, feedsOf(base, inputs)));
        const g = bindShapes(base, shapes, bound, false);
        if (g.orderedNodes().every((n) => blocks(g, n, g.consts) === undefined)) {
          const plan = layoutPlan(lowerGraph(g), memBase);
          cached = { key, plan };
          return named(g, exec(plan, true, feedsOf(g, inputs)));
        }
        cached = undefined;
        return runSegmented(g, inputs as Record<string, HostTensor>);
      } catch (e) {
        // plain Errors across the model.mjs boundary, keeping edgec's kind (unsupported, invalid...)
        if (e instanceof EdgecError) throw Object.assign(new Error(e.message), { kind: e.kind });
        throw e;
      }
    },
  };
}
