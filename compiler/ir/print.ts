/**
 * Stable, human-readable text form of a Graph (for tests, `--print-after` and debugging).
 *
 * ```
 * graph "main" opsets {"": 17} {
 *   input %0 "x" : f32[1,3,8,8]
 *   const %1 "w" : f32[2] = [0.5, -1]
 *   const %2 "big" : f32[64,3,3,3] = #fnv1a:1c2d3e4f
 *   %3 "y" = Conv(%0, %1, _) {pads=[1,1,1,1]} @"conv1" : f32[1,2,8,8]
 *   output %3
 * }
 * ```
 * Values are renumbered in print order (inputs, consts by first use, node outputs), so two
 * structurally equal graphs print the same text whatever their internal ids. Names are data and
 * are always JSON-quoted. `parse.ts` reads this form back (consts must be inline, not digests).
 */
import { Attrs, AttrValue, Graph, TypeAttr, ValueId } from './graph.js';
import { wrapTypeStr } from './value.js';
import { Tensor, TensorType, Shape, TypedArray } from './tensor.js';
import { DType, roundToDType, isFloat } from './dtype.js';

export interface PrintOptions {
  /** Print value, node and graph names (default true). Off gives a purely structural text. */
  names?: boolean;
  /** Consts with at most this many elements are printed inline; larger ones as a digest (default 16). */
  inlineLimit?: number;
  /** Print const values at all (default true); off prints only the const's type. */
  constValues?: boolean;
  /** Print node output types (default true). */
  types?: boolean;
  /**
   * Rename symbolic dims to `s0, s1, ...` in order of first appearance (default false), so
   * structurally equal graphs with different fresh-dim names print the same.
   */
  canonicalSymbols?: boolean;
}

/** Returns the text form of `g`. @param g the graph @param opts what to include */
export function print(g: Graph, opts: PrintOptions = {}): string {
  return printGraph(g, opts, new Map(), '', true) + '\n';
}

/**
 * Text of one graph; subgraphs print nested inside their node's attributes, as
 * `then_branch=graph "name" { capture %0 "x" : f32[3] ... output %2 }` with their own value
 * numbering. A `capture` line is an outer-scope value the subgraph reads; capture k is bound to the
 * node's k-th implicit input (the node's trailing inputs, see Graph.captures).
 */
function printGraph(g: Graph, opts: PrintOptions, syms: Map<string, string>, indent: string, top: boolean): string {
  const names = opts.names ?? true;
  const inlineLimit = opts.inlineLimit ?? 16;
  const constValues = opts.constValues ?? true;
  const types = opts.types ?? true;
  const ty = (t: TensorType): string => {
    if (!opts.canonicalSymbols) return typeStr(t);
    const shape = t.shape.map((d) => {
      if (typeof d === 'number') return d;
      if (!syms.has(d)) syms.set(d, `s${syms.size}`);
      return syms.get(d)!;
    });
    return typeStr({ ...t, shape });
  };
  const num = new Map<ValueId, number>();
  const ref = (id: ValueId | null): string => {
    if (id === null) return '_';
    const n = num.get(id);
    return n === undefined ? `%?${id}` : `%${n}`;
  };
  const assign = (id: ValueId): void => {
    if (!num.has(id)) num.set(id, num.size);
  };
  const nm = (s: string): string => (names ? ` ${JSON.stringify(s)}` : '');
  const lines: string[] = [];
  const ind = `${indent}  `;
  const header = top ? ` opsets {${Object.keys(g.opsets).sort().map((k) => `${JSON.stringify(k)}: ${g.opsets[k]}`).join(', ')}}` : '';
  lines.push(`graph${names ? ` ${JSON.stringify(g.name)}` : ''}${header} {`);
  for (const id of g.captures) {
    assign(id);
    lines.push(`${ind}capture ${ref(id)}${nm(g.value(id).name)} : ${ty(g.typeOf(id))}`);
  }
  for (const id of g.inputs) {
    assign(id);
    lines.push(`${ind}input ${ref(id)}${nm(g.value(id).name)} : ${ty(g.typeOf(id))}`);
  }
  // Consts in order of first use, then unused ones by id.
  const constOrder: ValueId[] = [];
  const seen = new Set<ValueId>();
  const noteConst = (id: ValueId | null): void => {
    if (id !== null && g.consts.has(id) && !seen.has(id) && !num.has(id)) {
      seen.add(id);
      constOrder.push(id);
    }
  };
  const order = g.orderedNodes();
  for (const n of order) n.inputs.forEach(noteConst);
  g.outputs.forEach(noteConst);
  for (const id of [...g.consts.keys()].sort((a, b) => a - b)) noteConst(id);
  for (const id of constOrder) {
    assign(id);
    const t = g.consts.get(id)!;
    let s = `${ind}const ${ref(id)}${nm(g.value(id).name)} : ${ty(t.type)}`;
    if (constValues) s += ` = ${t.size <= inlineLimit ? valuesStr(t) : digestStr(t)}`;
    lines.push(s);
  }
  const sub = (b: Graph): string => printGraph(b, opts, syms, `${ind}  `, false);
  for (const n of order) {
    n.outputs.forEach(assign);
    const outs = n.outputs.map((o) => `${ref(o)}${nm(g.value(o).name)}`).join(', ');
    const op = n.domain ? `${n.domain}.${n.op}` : n.op;
    let s = `${ind}${outs || '()'} = ${op}(${n.inputs.map(ref).join(', ')})`;
    const at = attrsStr(n.attrs, sub);
    if (at) s += ` ${at}`;
    if (names) s += ` @${JSON.stringify(n.name)}`;
    if (types && n.outputs.length) s += ` : ${n.outputs.map((o) => ty(g.typeOf(o))).join(', ')}`;
    lines.push(s);
  }
  lines.push(`${ind}output ${g.outputs.map(ref).join(', ')}`.trimEnd());
  lines.push(`${indent}}`);
  return lines.join('\n');
}

/**
 * `f32[1,3,"N",8]`, plus ` quant(scale=[..], zp=[..], axis=1)` when quantized; sequences and
 * optionals wrap it: `seq(f32[2])`, `opt(f32[2])`, `opt(seq(f32[2]))`.
 */
export function typeStr(t: TensorType): string {
  if (t.kind !== undefined) return wrapTypeStr(t.kind, typeStr({ dtype: t.dtype, shape: t.shape, ...(t.quant ? { quant: t.quant } : {}) }));
  let s = `${t.dtype}${dimsStr(t.shape)}`;
  if (t.quant) {
    const q = t.quant;
    s += ` quant(scale=[${q.scale.map(numStr).join(',')}], zp=[${q.zeroPoint.map(numStr).join(',')}]`;
    if (q.axis !== undefined) s += `, axis=${q.axis}`;
    s += ')';
  }
  return s;
}

function dimsStr(s: Shape): string {
  return `[${s.map((d) => (typeof d === 'number' ? String(d) : JSON.stringify(d))).join(',')}]`;
}

/** Shortest decimal text that reads back to exactly `x` (nan, inf, -inf, -0 spelled out). */
export function numStr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (Object.is(x, -0)) return '-0';
  return String(x);
}

/** Shortest decimal that rounds back to `x` in `dt` (f32 0.1 prints as 0.1, not 0.10000000149). */
function floatStr(dt: DType, x: number): string {
  if (!Number.isFinite(x) || Object.is(x, -0) || dt === 'f64') return numStr(x);
  for (let p = 1; p <= 17; p++) {
    const s = x.toPrecision(p);
    if (roundToDType(dt, Number(s)) === x) return String(Number(s));
  }
  return numStr(x);
}

/** Inline values: `[1, 2.5, -inf]` in row-major order; strings JSON-quoted. */
export function valuesStr(t: Tensor): string {
  const parts: string[] = [];
  for (let i = 0; i < t.size; i++) {
    const v = t.data[i];
    if (typeof v === 'string') parts.push(JSON.stringify(v));
    else if (typeof v === 'bigint') parts.push(v.toString());
    else if (isFloat(t.dtype)) parts.push(floatStr(t.dtype, v as number));
    else parts.push(numStr(v as number));
  }
  return `[${parts.join(', ')}]`;
}

/** `#fnv1a:xxxxxxxx`: FNV-1a over the stored bytes (strings: over their UTF-16 code units). */
export function digestStr(t: Tensor): string {
  let h = 0x811c9dc5;
  const mix = (b: number): void => {
    h ^= b & 0xff;
    h = Math.imul(h, 0x01000193) >>> 0;
  };
  if (t.dtype === 'string') {
    for (const s of t.data as string[]) {
      for (let i = 0; i < s.length; i++) { mix(s.charCodeAt(i)); mix(s.charCodeAt(i) >> 8); }
      mix(0);
    }
  } else {
    const a = t.data as TypedArray;
    const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    for (let i = 0; i < bytes.length; i++) mix(bytes[i]!);
  }
  return `#fnv1a:${h.toString(16).padStart(8, '0')}`;
}

/**
 * `{a=1, b=[1,2], mode="constant"}` with keys sorted; empty string when there are none.
 * @param a the attributes
 * @param sub prints a subgraph (default: a one-line summary `subgraph("name", 3 nodes)`)
 */
export function attrsStr(a: Attrs, sub?: (g: Graph) => string): string {
  const keys = Object.keys(a).sort();
  if (!keys.length) return '';
  return `{${keys.map((k) => `${attrKey(k)}=${attrValueStr(a[k]!, sub)}`).join(', ')}}`;
}

function attrKey(k: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? k : JSON.stringify(k);
}

function attrValueStr(v: AttrValue, sub?: (g: Graph) => string): string {
  const graphStr = (g: Graph): string => (sub ? sub(g) : `subgraph(${JSON.stringify(g.name)}, ${g.nodes.size} nodes)`);
  if (typeof v === 'number') return numStr(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (v instanceof Tensor) return `tensor(${typeStr(v.type)}, ${v.size <= 64 ? valuesStr(v) : digestStr(v)})`;
  if (v instanceof Graph) return graphStr(v);
  if (v instanceof TypeAttr) return `type(${typeStr(v.type)})`;
  if (Array.isArray(v) && v[0] instanceof Graph) return `[${(v as Graph[]).map(graphStr).join(', ')}]`;
  return `[${(v as (number | string)[]).map((x) => (typeof x === 'number' ? numStr(x) : JSON.stringify(x))).join(',')}]`;
}
