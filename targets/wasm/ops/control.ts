/**
 * Wasm lowerings of the control / type family (compiler/ops/control.ts, compiler/ops/control-flow.ts).
 *
 * Cast and CastLike between every runtime dtype: a cast to the same dtype is an alias; i32/i8/u8 ->
 * f32 keep cast_to_f32 (the int8 graphs' accumulator rescale); every other pair runs on unary_any,
 * which converts as the reference's castTensor does (round to nearest even, truncate + wrap to
 * integers, != 0 to bool).
 *
 * If, Loop and Scan run inside model.wasm: their subgraph bodies are inlined into the step list
 * (every body value becomes a fresh value of the lowered graph, captures bind to the node's implicit
 * inputs) between control steps (ctx.ts Ctrl) that module.ts turns into wasm `if` / `loop`.
 * - If(cond): [if cond] then-branch, copy its outputs into the node's outputs [else] the same for
 *   the else branch [end]. A constant condition lowers the taken branch only.
 * - Loop(M, cond, v...): v_in = v (copies); c = cond ?? true;
 *   [loop i < M while c] store i; body(i, true, v_in...) -> (c', v'..., s'...); s[i] = s';
 *   c = c'; v_in = v' [end]; outputs v_in... and s...
 *   (the body's condition input is always true when the body runs, as in the reference).
 * - Scan(s..., x...): s_in = s; [loop t < T] x_t = slice t of each x (direction-reversed index);
 *   body(s_in..., x_t...) -> (s'..., y...); y written at its (reversed) index t along its output
 *   axis; s_in = s' [end]. Opset 8 (batch axis 0) wraps that in a loop over the batch.
 * Per-iteration slices are strided copies whose address words the loop rewrites (ctx.ts Patch).
 * The memory planner keeps every buffer used both inside and outside a loop live over the whole
 * loop (lower.ts). Shapes must be static: a loop-carried value whose shape changes, If branches
 * whose outputs differ in shape, and Loop scan outputs without a compile-time trip count (a runtime
 * M or an early exit) are 'unsupported'.
 */
import { Graph, Node, ValueId } from '../../../compiler/ir/graph.js';
import { Tensor, numel } from '../../../compiler/ir/tensor.js';
import { EdgecError } from '../../../compiler/errors.js';
import { requireTensorType } from '../../../compiler/ir/value.js';
import { opsetOf } from '../../../compiler/ops/registry.js';
import { castNode } from '../../common/cast.js';
import { splitImplicit } from '../../../compiler/ops/control-flow.js';
import { ANY_UNARY } from '../kernels.js';
import { Ctrl, LowerCtx, LowerFn, Patch, Word, contiguous, copyView, i32 } from '../ctx.js';
import { emitUnaryAny } from './elementwise.js';

function lowerCast(c: LowerCtx, n: Node): void {
  const cast = castNode(c, n);
  if (!cast) return;
  const { x, y, from, to } = cast;
  c.checkRuntime(x);
  c.checkRuntime(y);
  if (from === to) {
    c.parent.set(y, x);
    return;
  }
  // integer -> f32 (e.g. the int32 accumulator of ConvInteger/MatMulInteger before its rescale)
  const kind = ({ i32: 0, i8: 1, u8: 2 } as Record<string, number>)[from];
  if (to === 'f32' && kind !== undefined) {
    c.emit('cast_to_f32', [c.vaddr(x), c.addr(y), i32(numel(c.shape(y))), i32(kind)], { reads: [x], writes: [y] });
    return;
  }
  emitUnaryAny(c, ANY_UNARY.Cast, x, y);
}

// ---------------------------------------------------------------------------------------------
// Subgraph inlining and helpers
// ---------------------------------------------------------------------------------------------

const nextBodyNode = new WeakMap<LowerCtx, number>();

/** A fresh runtime value of the lowered graph, typed like body value `v` of `b`. */
function freshValue(c: LowerCtx, owner: Node, b: Graph, v: ValueId): ValueId {
  const bv = b.value(v);
  return c.g.addValue(`${owner.name}/${bv.name}`, bv.type).id;
}

/**
 * Inlines subgraph `b` of node `owner` at the current end of the step list: its captures read the
 * owner's implicit inputs, `bind` gives the values its inputs stand for, every other body value
 * becomes a fresh value of the lowered graph (body constants are known constants). The body nodes
 * are registered in the graph while they are lowered (use counts see them), then removed.
 * @returns the values the body's outputs stand for
 */
function inlineBody(c: LowerCtx, owner: Node, b: Graph, bind: ReadonlyMap<ValueId, ValueId>): ValueId[] {
  const hook = c.lowerHook;
  if (!hook) throw c.unsupported(`${owner.op} bodies are lowered only by lowerGraph`);
  if (b.partialTypes) throw c.unsupported(`${owner.op} subgraph "${b.name}" cannot run at these input shapes`);
  const map = new Map(bind);
  const [, caps] = splitImplicit(owner, owner.inputs);
  b.captures.forEach((v, k) => {
    const o = caps[k];
    if (o === null || o === undefined) throw c.unsupported(`${owner.op}: implicit input ${k} is missing`);
    map.set(v, o);
  });
  const val = (id: ValueId): ValueId => {
    let m = map.get(id);
    if (m === undefined) {
      m = freshValue(c, owner, b, id);
      const t = b.consts.get(id);
      if (t) c.consts.set(m, t);
      map.set(id, m);
    }
    return m;
  };
  for (const i of b.inputs) if (!map.has(i)) throw c.unsupported(`${owner.op}: body input "${b.value(i).name}" is not bound`);
  let nid = nextBodyNode.get(c) ?? -1_000_000;
  const made: Node[] = b.orderedNodes().map((n) => {
    const m: Node = {
      id: nid--, op: n.op, domain: n.domain, attrs: n.attrs, name: `${owner.name}/${n.name}`,
      inputs: n.inputs.map((x) => (x === null ? null : val(x))), outputs: n.outputs.map(val),
      ...(n.meta ? { meta: n.meta } : {}),
    };
    return m;
  });
  const outs = b.outputs.map(val);
  // the body's outputs are read after it (copies into the node's outputs): a placeholder node
  // keeps them used while the body lowers (lowerings skip optional outputs nothing reads)
  made.push({ id: nid--, op: 'BodyOutputs', domain: 'edgec', attrs: {}, name: `${owner.name}/outputs`, inputs: outs, outputs: [] });
  nextBodyNode.set(c, nid);
  for (const m of made) {
    c.g.nodes.set(m.id, m);
    for (const o of m.outputs) c.g.value(o).producer = m.id;
  }
  try {
    for (const m of made.slice(0, -1)) {
      c.node = m;
      try {
        for (const v of [...m.inputs, ...m.outputs]) if (v !== null) requireTensorType(c.g.typeOf(v), `value "${c.g.value(v).name}"`);
        if (c.foldNode(m)) continue;
        const before = c.steps.length;
        hook(m);
        if (c.steps.length > before) c.bodyLayers.push(m);
      } catch (e) {
        if (e instanceof EdgecError) throw e.withContext({ node: m.name, op: m.op, opset: opsetOf(m, c.g) });
        throw e;
      }
    }
  } finally {
    // the body values stay (the lowering's buffers refer to them), without a producer
    for (const m of made) {
      c.g.nodes.delete(m.id);
      for (const o of m.outputs) c.g.value(o).producer = undefined;
    }
    c.node = owner;
  }
  return outs;
}

/** A runtime buffer of a value or temporary (temporaries: ids below 0). */
type Buf = { id: number; bytes: number; shape: number[]; es: 1 | 2 | 4 | 8 };

/** Address word of a value (constant blob or runtime buffer) or temporary. */
function word(c: LowerCtx, id: number): Word {
  return id < 0 ? { k: 'buf', id, off: 0 } : c.vaddr(id);
}

/** Adds a control step for the current node. */
function ctrl(c: LowerCtx, s: Ctrl, reads: (number | null)[] = [], writes: number[] = []): void {
  c.steps.push({
    kernel: 'fill_u8', words: [], node: c.node, ctrl: s, scratchBytes: 0,
    reads: reads.filter((x): x is number => x !== null && !(x >= 0 && c.consts.has(x))), writes,
  });
}

/** Contiguous copy of every element of `src` (value or temporary) into `dst`. */
function copyAll(c: LowerCtx, dst: number, src: number, shape: number[], es: 1 | 2 | 4 | 8): void {
  copyView(c, word(c, dst), contiguous(shape), word(c, src), contiguous(shape), shape, { reads: [src], writes: [dst] }, es);
}

/** Strided copy whose word `w` (0: destination, 1: source) advances per loop iteration. */
function copyPatched(c: LowerCtx, dst: Word, dstStrides: number[], src: Word, srcStrides: number[], dims: number[],
  io: { reads: number[]; writes: number[] }, es: 1 | 2 | 4 | 8, w: 0 | 1, terms: Patch['terms']): void {
  const before = c.steps.length;
  copyView(c, dst, dstStrides, src, srcStrides, dims, io, es);
  if (c.steps.length > before) c.steps[c.steps.length - 1]!.patches = [{ word: w, terms }];
}

/** Root of a value's alias chain (so far). */
function rootOf(c: LowerCtx, id: number): number {
  let r = id;
  while (c.parent.has(r)) r = c.parent.get(r)!;
  return r;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * A runtime buffer standing for body input `bv` (a loop-carried / state value), initialized from
 * `init`: same dtype and static shape, 'unsupported' otherwise.
 */
function carriedBuffer(c: LowerCtx, owner: Node, b: Graph, bv: ValueId, init: ValueId | null | undefined, what: string): Buf {
  if (init === null || init === undefined) throw c.unsupported(`${owner.op}: ${what} is omitted`);
  c.checkRuntime(init);
  const t = b.typeOf(bv);
  const it = c.g.typeOf(init);
  if (t.dtype !== it.dtype) throw c.unsupported(`${owner.op}: ${what} has dtype ${it.dtype}, the body takes ${t.dtype}`);
  const shape = c.shape(init);
  const id = c.g.addValue(`${owner.name}/${b.value(bv).name}`, { dtype: it.dtype, shape }).id;
  const es = c.esize(id);
  return { id, bytes: numel(shape) * es, shape, es };
}

/**
 * Copies body outputs into the carried buffers at the end of an iteration; a source that is another
 * carried buffer (a swap) is staged in a temporary first, so every copy reads this iteration's value.
 */
function copyBack(c: LowerCtx, owner: Node, pairs: { src: ValueId; dst: Buf; what: string }[]): void {
  for (const p of pairs) {
    if (c.g.typeOf(p.src).dtype !== c.g.typeOf(p.dst.id).dtype) throw c.unsupported(`${owner.op}: ${p.what} changes dtype across iterations`);
    const s = c.shape(p.src);
    if (!sameShape(s, p.dst.shape)) {
      throw c.unsupported(`${owner.op}: ${p.what} changes shape across iterations ([${p.dst.shape.join(',')}] to [${s.join(',')}]); the wasm target needs static shapes`);
    }
  }
  const dstRoots = pairs.map((p) => rootOf(c, p.dst.id));
  const staged = pairs.map((p, k): number | null => {
    if (c.isConst(p.src)) return p.src;
    const r = rootOf(c, p.src);
    if (r === dstRoots[k]) return null;
    if (!dstRoots.some((d, j) => j !== k && d === r)) return p.src;
    const t = c.temp(p.dst.bytes);
    copyAll(c, t, p.src, p.dst.shape, p.dst.es);
    return t;
  });
  staged.forEach((s, k) => {
    if (s !== null) copyAll(c, pairs[k]!.dst.id, s, pairs[k]!.dst.shape, pairs[k]!.dst.es);
  });
}

/** The node's output `k` (a final carried / state value) is the carried buffer after the loop. */
function aliasFinal(c: LowerCtx, owner: Node, o: ValueId | undefined, buf: Buf, what: string): void {
  if (o === undefined) return;
  c.checkRuntime(o);
  if (c.g.typeOf(o).dtype !== c.g.typeOf(buf.id).dtype || !sameShape(c.shape(o), buf.shape)) {
    throw c.unsupported(`${owner.op}: the type of ${what} differs from its initial value's`);
  }
  c.parent.set(o, buf.id);
}

// ---------------------------------------------------------------------------------------------
// If
// ---------------------------------------------------------------------------------------------

function lowerIf(c: LowerCtx, n: Node): void {
  const a = c.attrs<{ then: Graph; else: Graph }>();
  const cond = n.inputs[0]!;
  for (const o of n.outputs) c.checkRuntime(o);
  const branch = (b: Graph): void => {
    const outs = inlineBody(c, n, b, new Map());
    outs.forEach((v, k) => {
      const o = n.outputs[k];
      if (o === undefined) return;
      const shape = c.shape(o);
      if (c.g.typeOf(v).dtype !== c.g.typeOf(o).dtype) throw c.unsupported(`If: branch "${b.name}" output ${k} has dtype ${c.g.typeOf(v).dtype}, the node's ${c.g.typeOf(o).dtype}`);
      // the same elements in the same order: shapes may differ in size-1 dims only (a branch giving
      // a scalar where the other gives [1]; the output has the inferred union type)
      const bs = c.shape(v);
      const squeezed = (d: number[]): number[] => d.filter((x) => x !== 1);
      if (!sameShape(squeezed(bs), squeezed(shape))) {
        throw c.unsupported(`If: branch "${b.name}" output ${k} has shape [${bs.join(',')}] but the output is [${shape.join(',')}]; the wasm target needs branches of one static shape`);
      }
      copyAll(c, o, v, shape, c.esize(o));
    });
  };
  const ct = c.consts.get(cond);
  if (ct) {
    if (ct.size !== 1) throw c.unsupported('If condition must hold one element');
    branch(ct.get(0) !== 0 ? a.then : a.else);
    return;
  }
  c.checkRuntime(cond);
  if (c.g.typeOf(cond).dtype !== 'bool' || numel(c.shape(cond)) !== 1) throw c.unsupported('If condition must be one bool');
  ctrl(c, { k: 'if', cond: c.vaddr(cond) }, [cond]);
  branch(a.then);
  ctrl(c, { k: 'else' });
  branch(a.else);
  ctrl(c, { k: 'end' });
}

// ---------------------------------------------------------------------------------------------
// Loop
// ---------------------------------------------------------------------------------------------

function lowerLoop(c: LowerCtx, n: Node): void {
  const a = c.attrs<{ body: Graph; carried: number; scans: number }>();
  const body = a.body;
  const [ex] = splitImplicit(n, n.inputs);
  const mIn = ex[0] ?? null;
  const cIn = ex[1] ?? null;
  if (ex.length - 2 !== a.carried) throw c.unsupported(`Loop has ${ex.length - 2} loop-carried inputs but its body takes ${a.carried}`);
  const bind = new Map<ValueId, ValueId>();
  // the iteration number (an i64 the loop head stores) and the condition input (true in the body)
  const iterUsed = body.useCount(body.inputs[0]!) > 0 || body.outputs.includes(body.inputs[0]!);
  const iter = c.g.addValue(`${n.name}/iter`, { dtype: 'i64', shape: [] }).id;
  bind.set(body.inputs[0]!, iter);
  const yes = c.g.addValue(`${n.name}/cond_in`, { dtype: 'bool', shape: [] }).id;
  c.consts.set(yes, Tensor.from('bool', [], [1]));
  bind.set(body.inputs[1]!, yes);
  const carried = body.inputs.slice(2).map((bv, k) => {
    const buf = carriedBuffer(c, n, body, bv, ex[2 + k], `loop-carried value ${k}`);
    copyAll(c, buf.id, ex[2 + k]!, buf.shape, buf.es);
    bind.set(bv, buf.id);
    return buf;
  });
  // trip count and condition
  let trip: Word | number | null = null;
  let tripConst: number | undefined;
  if (mIn !== null) {
    const mt = c.consts.get(mIn);
    if (mt) {
      if (mt.size !== 1) throw c.unsupported('Loop trip count M must hold one element');
      tripConst = Math.max(0, Number(mt.get(0)));
      trip = Math.min(tripConst, 2 ** 31 - 1);
    } else {
      c.checkRuntime(mIn);
      if (c.g.typeOf(mIn).dtype !== 'i64' || numel(c.shape(mIn)) !== 1) throw c.unsupported('Loop trip count M must be one i64');
      trip = c.vaddr(mIn);
    }
  }
  // the body's condition output is always true when it is the condition input (true whenever the
  // body runs) or a nonzero constant, possibly through Identity nodes
  const alwaysTrue = (v: ValueId): boolean => {
    const t = body.consts.get(v);
    if (t) return t.size === 1 && t.get(0) !== 0;
    const p = body.producerOf(v);
    return v === body.inputs[1] || (p !== undefined && p.op === 'Identity' && p.domain === '' && alwaysTrue(p.inputs[0]!));
  };
  const bodyAlwaysTrue = alwaysTrue(body.outputs[0]!);
  const cc = cIn === null ? undefined : c.consts.get(cIn);
  const initTrue = cIn === null || (cc !== undefined && cc.size === 1 && cc.get(0) !== 0);
  let condBuf: number | null = null;
  if (!(initTrue && bodyAlwaysTrue)) {
    condBuf = c.temp(1);
    if (cIn === null) c.emit('fill_u8', [{ k: 'buf', id: condBuf, off: 0 }, i32(1), i32(1)], { writes: [condBuf], anyDtype: true });
    else {
      c.checkRuntime(cIn);
      if (c.g.typeOf(cIn).dtype !== 'bool' || numel(c.shape(cIn)) !== 1) throw c.unsupported('Loop condition must be one bool');
      copyAll(c, condBuf, cIn, [], 1);
    }
  }
  if (trip === null && condBuf === null) throw c.unsupported('Loop has no trip count and a condition that is always true: it never ends');
  // scan outputs need their length at compile time: a constant M and no early exit, or a declared
  // length that the run-time iteration count must then match (else the run traps)
  const scanOuts = n.outputs.slice(a.carried);
  let scanLen = tripConst;
  let count: number | undefined;
  if (scanOuts.length > 0 && (tripConst === undefined || condBuf !== null)) {
    const lens = new Set(scanOuts.map((o) => c.g.typeOf(o).shape[0]));
    const T = [...lens][0];
    if (lens.size !== 1 || typeof T !== 'number') {
      throw c.unsupported('Loop scan outputs need a constant trip count M and no early exit on the wasm target (their length would depend on data)');
    }
    scanLen = T;
    count = T;
  }
  const id = c.loops++;
  const iterWord: Word | null = iterUsed ? { k: 'buf', id: iter, off: 0 } : null;
  ctrl(c, { k: 'loop', id, trip, cond: condBuf === null ? null : { k: 'buf', id: condBuf, off: 0 }, iter: iterWord, ...(count !== undefined ? { count } : {}) },
    [mIn, condBuf], iterUsed ? [iter] : []);
  const outs = inlineBody(c, n, body, bind);
  // scan outputs: slice i of output k
  scanOuts.forEach((o, k) => {
    c.checkRuntime(o);
    const v = outs[1 + a.carried + k]!;
    const es = c.esize(o);
    if (c.g.typeOf(v).dtype !== c.g.typeOf(o).dtype) throw c.unsupported(`Loop scan output ${k} dtype differs from the body's`);
    const shape = c.shape(o);
    const elem = c.shape(v);
    if (shape[0] !== scanLen || !sameShape(shape.slice(1), elem)) {
      throw c.unsupported(`Loop scan output ${k} has shape [${shape.join(',')}], expected [${scanLen},${elem.join(',')}]`);
    }
    copyPatched(c, { k: 'buf', id: o, off: 0 }, contiguous(elem), word(c, v), contiguous(elem), elem,
      { reads: [v], writes: [o] }, es, 0, [{ loop: id, stride: numel(elem) * es }]);
  });
  if (condBuf !== null) {
    const cv = outs[0]!;
    if (c.g.typeOf(cv).dtype !== 'bool' || numel(c.shape(cv)) !== 1) throw c.unsupported('Loop body condition output must be one bool');
    copyAll(c, condBuf, cv, [], 1);
  }
  copyBack(c, n, carried.map((buf, k) => ({ src: outs[1 + k]!, dst: buf, what: `loop-carried value ${k}` })));
  ctrl(c, { k: 'end' });
  carried.forEach((buf, k) => aliasFinal(c, n, n.outputs[k], buf, `loop-carried output ${k}`));
}

// ---------------------------------------------------------------------------------------------
// Scan
// ---------------------------------------------------------------------------------------------

interface ScanAttrs {
  body: Graph;
  numScan: number;
  v8: boolean;
  inAxes: number[] | undefined;
  inDirs: number[];
  outAxes: number[] | undefined;
  outDirs: number[];
}

const normAx = (ax: number, rank: number): number => (ax < 0 ? ax + rank : ax);

/** Strides of `shape` without `axis`, and the stride of `axis` (elements). */
function dropAxis(shape: number[], axis: number): { strides: number[]; step: number } {
  const st = contiguous(shape);
  return { strides: st.filter((_, i) => i !== axis), step: st[axis]! };
}

function lowerScan(c: LowerCtx, n: Node): void {
  const a = c.attrs<ScanAttrs>();
  const body = a.body;
  const [ex0] = splitImplicit(n, n.inputs);
  const nState = body.inputs.length - a.numScan;
  const nOut = body.outputs.length - nState;
  // opset 8: batch axis 0 everywhere, the scan axis is 1, sequence_lens first
  const lens = a.v8 ? ex0[0] ?? null : null;
  const ex = a.v8 ? ex0.slice(1) : ex0;
  if (ex.length !== body.inputs.length) throw c.unsupported(`Scan has ${ex.length} state and scan inputs but its body takes ${body.inputs.length}`);
  const xs = ex.slice(nState).map((x, j) => {
    if (x === null || x === undefined) throw c.unsupported(`Scan input ${nState + j} is omitted`);
    c.checkRuntime(x);
    return x;
  });
  const B = a.v8 ? c.shape(xs[0]!)[0]! : 1;
  const inAx = xs.map((x, j) => (a.v8 ? 1 : normAx(a.inAxes?.[j] ?? 0, c.shape(x).length)));
  const T = c.shape(xs[0]!)[inAx[0]!]!;
  xs.forEach((x, j) => {
    if (c.shape(x)[inAx[j]!] !== T) throw c.unsupported(`Scan inputs have different sequence lengths (${T} and ${c.shape(x)[inAx[j]!]})`);
  });
  if (lens !== null) {
    const lt = c.consts.get(lens);
    if (!lt || lt.toNumbers().some((l) => l !== T)) throw c.unsupported('Scan sequence_lens must be a constant equal to the sequence length on the wasm target');
  }
  const bind = new Map<ValueId, ValueId>();
  const outerId = a.v8 ? c.loops++ : -1;
  const bTerm = (stride: number): Patch['terms'] => (a.v8 ? [{ loop: outerId, stride }] : []);
  // states: per batch entry (opset 8) or whole
  const states = body.inputs.slice(0, nState).map((bv, k) => {
    const init = ex[k];
    if (init === null || init === undefined) throw c.unsupported(`Scan state input ${k} is omitted`);
    c.checkRuntime(init);
    const full = c.shape(init);
    const shape = a.v8 ? full.slice(1) : full;
    const t = body.typeOf(bv);
    if (t.dtype !== c.g.typeOf(init).dtype) throw c.unsupported(`Scan state ${k} has dtype ${c.g.typeOf(init).dtype}, the body takes ${t.dtype}`);
    const id = c.g.addValue(`${n.name}/${body.value(bv).name}`, { dtype: t.dtype, shape }).id;
    const es = c.esize(id);
    bind.set(bv, id);
    return { buf: { id, bytes: numel(shape) * es, shape, es } as Buf, init };
  });
  if (a.v8) {
    for (const o of n.outputs.slice(0, nState)) c.checkRuntime(o);
    ctrl(c, { k: 'loop', id: outerId, trip: B, cond: null, iter: null });
  }
  for (const { buf, init } of states) {
    if (!a.v8) copyAll(c, buf.id, init, buf.shape, buf.es);
    else copyPatched(c, word(c, buf.id), contiguous(buf.shape), word(c, init), contiguous(buf.shape), buf.shape,
      { reads: [init], writes: [buf.id] }, buf.es, 1, bTerm(numel(buf.shape) * buf.es));
  }
  // scan-input slices: body inputs
  const slices = body.inputs.slice(nState).map((bv, j) => {
    const x = xs[j]!;
    const xShape = c.shape(x);
    const es = c.esize(x);
    const shape = xShape.filter((_, i) => i !== inAx[j] && !(a.v8 && i === 0));
    const t = body.typeOf(bv);
    if (t.dtype !== c.g.typeOf(x).dtype) throw c.unsupported(`Scan input ${nState + j} has dtype ${c.g.typeOf(x).dtype}, the body takes ${t.dtype}`);
    const id = c.g.addValue(`${n.name}/${body.value(bv).name}`, { dtype: t.dtype, shape }).id;
    bind.set(bv, id);
    return { id, x, xShape, es, shape };
  });
  const id = c.loops++;
  ctrl(c, { k: 'loop', id, trip: T, cond: null, iter: null });
  slices.forEach((s, j) => {
    const st = contiguous(s.xShape);
    const srcStrides = st.filter((_, i) => i !== inAx[j] && !(a.v8 && i === 0));
    const step = st[inAx[j]!]! * s.es;
    const rev = a.inDirs[j] === 1;
    const src = word(c, s.x);
    const first: Word = src.k === 'buf' || src.k === 'blob' ? { ...src, off: src.off + (rev ? (T - 1) * step : 0) } : src;
    copyPatched(c, word(c, s.id), contiguous(s.shape), first, srcStrides, s.shape,
      { reads: [s.x], writes: [s.id] }, s.es, 1, [...bTerm(st[0]! * s.es), { loop: id, stride: rev ? -step : step }]);
  });
  const outs = inlineBody(c, n, body, bind);
  // scan outputs: slice t (reversed: T-1-t) along the output axis
  for (let k = 0; k < nOut; k++) {
    const o = n.outputs[nState + k];
    if (o === undefined) continue;
    c.checkRuntime(o);
    const v = outs[nState + k]!;
    if (c.g.typeOf(v).dtype !== c.g.typeOf(o).dtype) throw c.unsupported(`Scan output ${k} dtype differs from the body's`);
    const es = c.esize(o);
    const shape = c.shape(o);
    const elem = c.shape(v);
    const ax = a.v8 ? 1 : normAx(a.outAxes?.[k] ?? 0, elem.length + 1);
    const want = a.v8 ? [B, T, ...elem] : [...elem.slice(0, ax), T, ...elem.slice(ax)];
    if (!sameShape(shape, want)) throw c.unsupported(`Scan output ${k} has shape [${shape.join(',')}], expected [${want.join(',')}]`);
    const st = contiguous(shape);
    const { strides } = dropAxis(shape, ax);
    const dstStrides = a.v8 ? strides.slice(1) : strides;
    const step = st[ax]! * es;
    const rev = a.outDirs[k] === 1;
    copyPatched(c, { k: 'buf', id: o, off: rev ? (T - 1) * step : 0 }, dstStrides, word(c, v), contiguous(elem), elem,
      { reads: [v], writes: [o] }, es, 0, [...bTerm(st[0]! * es), { loop: id, stride: rev ? -step : step }]);
  }
  copyBack(c, n, states.map(({ buf }, k) => ({ src: outs[k]!, dst: buf, what: `state ${k}` })));
  ctrl(c, { k: 'end' });
  if (!a.v8) {
    states.forEach(({ buf }, k) => aliasFinal(c, n, n.outputs[k], buf, `final state ${k}`));
    return;
  }
  // opset 8: final states stacked over the batch
  states.forEach(({ buf }, k) => {
    const o = n.outputs[k];
    if (o === undefined) return;
    if (!sameShape(c.shape(o), [B, ...buf.shape])) throw c.unsupported(`Scan final state ${k} has shape [${c.shape(o).join(',')}], expected [${[B, ...buf.shape].join(',')}]`);
    copyPatched(c, { k: 'buf', id: o, off: 0 }, contiguous(buf.shape), word(c, buf.id), contiguous(buf.shape), buf.shape,
      { reads: [buf.id], writes: [o] }, buf.es, 0, bTerm(numel(buf.shape) * buf.es));
  });
  ctrl(c, { k: 'end' });
}

/** Control-family lowerings by qualified op name. */
export const CONTROL_LOWERINGS: Readonly<Record<string, LowerFn>> = {
  Cast: lowerCast, CastLike: lowerCast, If: lowerIf, Loop: lowerLoop, Scan: lowerScan,
};
