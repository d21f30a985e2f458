/**
 * Reads the text form written by `print.ts` back into a Graph.
 *
 * Accepted beyond what print writes (to keep hand-written test graphs short):
 * - names may be omitted (values get `v<N>`, nodes `<op>_<id>`, the graph `graph`);
 * - node output types may be omitted; shape inference then fills them in (the ops must be registered);
 * - `opsets {...}` may be omitted (default {"": 17}); `%N` numbers need not be contiguous.
 * Consts must carry inline values (`#fnv1a:` digests cannot be parsed). Subgraph attributes are
 * nested `graph "name" { capture ... input ... output ... }` blocks with their own value numbering
 * (see print.ts); `capture` values bind, in order, to the node's trailing (implicit) inputs.
 */
import { AttrValue, Graph, TypeAttr, ValueId, linkSubgraphOpsets } from './graph.js';
import { Dim, Tensor, TensorType, QuantParams, ValueKind, numel } from './tensor.js';
import { ALL_DTYPES, DType, intRange, isBigInt, isFloat } from './dtype.js';
import { DEFAULT_LIMITS, invalid } from '../errors.js';
import { inferShapes } from '../interp/interp.js';
import { getOp } from '../ops/registry.js';

type Tok =
  | { k: 'val'; n: number; pos: number } // %N
  | { k: 'str'; s: string; pos: number }
  | { k: 'num'; text: string; pos: number }
  | { k: 'id'; s: string; pos: number }
  | { k: 'p'; s: string; pos: number } // punctuation
  | { k: 'digest'; s: string; pos: number };

function lex(src: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) { i++; continue; }
    if (c === '/' && src[i + 1] === '/') { // line comment
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    const pos = i;
    if (c === '%') {
      const m = /^%(\d+)/.exec(src.slice(i));
      if (!m) throw err(src, i, 'expected a value number after %');
      toks.push({ k: 'val', n: Number(m[1]), pos });
      i += m[0].length;
    } else if (c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"') j += src[j] === '\\' ? 2 : 1;
      if (j >= src.length) throw err(src, i, 'unterminated string');
      let s: string;
      try {
        s = JSON.parse(src.slice(i, j + 1)) as string;
      } catch {
        throw err(src, i, 'bad string literal (control character or bad escape)');
      }
      toks.push({ k: 'str', s, pos });
      i = j + 1;
    } else if (c === '#') {
      const m = /^#[A-Za-z0-9_]+:[0-9a-fA-F]+/.exec(src.slice(i));
      if (!m) throw err(src, i, 'bad digest');
      toks.push({ k: 'digest', s: m[0], pos });
      i += m[0].length;
    } else if (/[-+0-9.]/.test(c)) {
      const m = /^[-+]?(inf|nan|(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)/.exec(src.slice(i));
      if (!m) throw err(src, i, 'bad number');
      toks.push({ k: 'num', text: m[0], pos });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(src.slice(i))!;
      if (m[0] === '_') toks.push({ k: 'p', s: '_', pos });
      else if (m[0] === 'inf' || m[0] === 'nan') toks.push({ k: 'num', text: m[0], pos });
      else toks.push({ k: 'id', s: m[0], pos });
      i += m[0].length;
    } else if ('=(){}[],:@_'.includes(c)) {
      toks.push({ k: 'p', s: c, pos });
      i++;
    } else {
      throw err(src, i, `unexpected character ${JSON.stringify(c)}`);
    }
  }
  return toks;
}

/** Sets an own property (names are data: `__proto__` is a key like any other, never a prototype). */
function setOwn<T>(o: Record<string, T>, k: string, v: T): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/** Exact integer range of an integer dtype (bool is 0..1). */
function intRangeBig(dt: DType): [bigint, bigint] {
  if (dt === 'i64') return [-(2n ** 63n), 2n ** 63n - 1n];
  if (dt === 'u64') return [0n, 2n ** 64n - 1n];
  const [lo, hi] = intRange(dt);
  return [BigInt(lo), BigInt(hi)];
}

function err(src: string, pos: number, msg: string) {
  const line = src.slice(0, pos).split('\n').length;
  return invalid(`IR parse error at line ${line}: ${msg}`);
}

function numValue(text: string): number {
  const neg = text.startsWith('-');
  const body = text.replace(/^[-+]/, '');
  if (body === 'inf') return neg ? -Infinity : Infinity;
  if (body === 'nan') return NaN;
  return Number(text);
}

class Parser {
  private i = 0;
  /** Some node (in any graph) omitted its output types: inference runs after parsing. */
  missingTypes = false;
  /** Subgraph nesting depth of the graph being parsed. */
  depth = 0;
  constructor(private readonly src: string, private readonly toks: Tok[]) {}

  peek(): Tok | undefined {
    return this.toks[this.i];
  }
  next(): Tok {
    const t = this.toks[this.i++];
    if (!t) throw err(this.src, this.src.length, 'unexpected end of text');
    return t;
  }
  fail(msg: string): never {
    const t = this.peek();
    throw err(this.src, t ? t.pos : this.src.length, msg);
  }
  isP(s: string): boolean {
    const t = this.peek();
    return t !== undefined && t.k === 'p' && t.s === s;
  }
  isId(s: string): boolean {
    const t = this.peek();
    return t !== undefined && t.k === 'id' && t.s === s;
  }
  eatP(s: string): boolean {
    if (this.isP(s)) { this.i++; return true; }
    return false;
  }
  expectP(s: string): void {
    if (!this.eatP(s)) this.fail(`expected "${s}"`);
  }
  str(): string {
    const t = this.next();
    if (t.k !== 'str') { this.i--; this.fail('expected a string'); }
    return t.s;
  }
  optStr(): string | undefined {
    const t = this.peek();
    if (t?.k === 'str') { this.i++; return t.s; }
    return undefined;
  }
  ident(): string {
    const t = this.next();
    if (t.k !== 'id') { this.i--; this.fail('expected an identifier'); }
    return t.s;
  }
  num(): number {
    return numValue(this.numText());
  }
  numText(): string {
    const t = this.next();
    if (t.k !== 'num') { this.i--; this.fail('expected a number'); }
    return t.text;
  }
  valRef(): number {
    const t = this.next();
    if (t.k !== 'val') { this.i--; this.fail('expected a %value'); }
    return t.n;
  }
  done(): boolean {
    return this.i >= this.toks.length;
  }

  type(): TensorType {
    // seq(T), opt(T), opt(seq(T)) wrap a tensor type
    if (this.isId('seq') || this.isId('opt')) {
      const outer = this.ident();
      this.expectP('(');
      let kind: ValueKind = outer === 'seq' ? 'sequence' : 'optional';
      let inner: TensorType;
      if (outer === 'opt' && this.isId('seq')) {
        this.next();
        this.expectP('(');
        inner = this.type();
        this.expectP(')');
        kind = 'optional-sequence';
      } else inner = this.type();
      if (inner.kind !== undefined) this.fail('only seq(T), opt(T) and opt(seq(T)) are supported');
      this.expectP(')');
      return { ...inner, kind };
    }
    const dt = this.ident();
    if (!(ALL_DTYPES as readonly string[]).includes(dt)) this.fail(`unknown dtype ${dt}`);
    this.expectP('[');
    const shape: Dim[] = [];
    while (!this.eatP(']')) {
      const t = this.next();
      if (t.k === 'num') {
        const d = Number(t.text);
        if (!Number.isSafeInteger(d) || d < 0) { this.i--; this.fail(`dimension ${t.text} is not a non-negative integer`); }
        shape.push(d);
      } else if (t.k === 'str' || t.k === 'id') shape.push(t.s);
      else { this.i--; this.fail('expected a dimension'); }
      if (!this.isP(']')) this.expectP(',');
    }
    if (this.isId('quant')) {
      this.i++;
      this.expectP('(');
      const q: { scale: number[]; zeroPoint: number[]; axis?: number } = { scale: [], zeroPoint: [] };
      while (!this.eatP(')')) {
        const key = this.ident();
        this.expectP('=');
        if (key === 'scale') q.scale = this.numList();
        else if (key === 'zp') q.zeroPoint = this.numList();
        else if (key === 'axis') q.axis = this.num();
        else this.fail(`unknown quant field ${key}`);
        if (!this.isP(')')) this.expectP(',');
      }
      return { dtype: dt as DType, shape, quant: q as QuantParams };
    }
    return { dtype: dt as DType, shape };
  }

  numList(): number[] {
    this.expectP('[');
    const out: number[] = [];
    while (!this.eatP(']')) {
      out.push(this.num());
      if (!this.isP(']')) this.expectP(',');
    }
    return out;
  }

  /** `[v, ...]` parsed into a tensor of `type` (exact for i64 via BigInt). */
  tensorValues(type: TensorType): Tensor {
    if (this.peek()?.k === 'digest') this.fail('const values are a digest and cannot be parsed; print with a larger inlineLimit');
    const shape = type.shape.map((d) => {
      if (typeof d !== 'number') this.fail('const shapes must be concrete');
      return d;
    });
    this.expectP('[');
    const raw: (string | number | bigint)[] = [];
    const dt = type.dtype;
    const intLike = dt !== 'string' && !isFloat(dt);
    while (!this.eatP(']')) {
      const t = this.next();
      if (t.k === 'str') {
        if (dt !== 'string') { this.i--; this.fail(`a ${dt} const cannot hold a string`); }
        raw.push(t.s);
      } else if (t.k === 'num') {
        if (dt === 'string') { this.i--; this.fail('a string const holds quoted strings'); }
        if (intLike) {
          // integers must be written exactly and fit the dtype (no silent truncation or wrapping)
          if (!/^[-+]?\d+$/.test(t.text)) { this.i--; this.fail(`${t.text} is not an integer (const dtype ${dt})`); }
          const b = BigInt(t.text);
          const [lo, hi] = intRangeBig(dt);
          if (b < lo || b > hi) { this.i--; this.fail(`${t.text} is out of range for ${dt}`); }
          raw.push(isBigInt(dt) ? b : Number(b));
        } else raw.push(numValue(t.text));
      } else { this.i--; this.fail('expected a value'); }
      if (!this.isP(']')) this.expectP(',');
    }
    if (raw.length !== numel(shape)) this.fail(`const has ${raw.length} values but its shape needs ${numel(shape)}`);
    if (type.dtype === 'string') {
      return new Tensor('string', shape, raw.map((x) => String(x)), type.quant);
    }
    const t = Tensor.from(type.dtype, shape, raw.map((x) => (typeof x === 'string' ? Number(x) : x)));
    return type.quant ? new Tensor(t.dtype, t.shape, t.data, type.quant) : t;
  }

  attrValue(): AttrValue {
    const t = this.peek();
    if (!t) this.fail('expected an attribute value');
    if (t.k === 'num') return this.num();
    if (t.k === 'str') { this.i++; return t.s; }
    if (t.k === 'id' && t.s === 'tensor') {
      this.i++;
      this.expectP('(');
      const ty = this.type();
      this.expectP(',');
      const v = this.tensorValues(ty);
      this.expectP(')');
      return v;
    }
    if (t.k === 'id' && t.s === 'subgraph') this.fail('subgraph summaries cannot be parsed; print subgraphs in full');
    if (t.k === 'id' && t.s === 'graph') {
      if (this.depth >= DEFAULT_LIMITS.maxNesting) this.fail(`subgraphs are nested more than ${DEFAULT_LIMITS.maxNesting} deep`);
      this.depth++;
      const g = parseGraph(this, false);
      this.depth--;
      return g;
    }
    if (t.k === 'id' && t.s === 'type') {
      this.i++;
      this.expectP('(');
      const ty = this.type();
      this.expectP(')');
      return new TypeAttr(ty);
    }
    if (this.eatP('[')) {
      const nums: number[] = [];
      const strs: string[] = [];
      while (!this.eatP(']')) {
        const x = this.next();
        if (x.k === 'num') nums.push(numValue(x.text));
        else if (x.k === 'str') strs.push(x.s);
        else { this.i--; this.fail('expected a list element'); }
        if (!this.isP(']')) this.expectP(',');
      }
      if (nums.length && strs.length) this.fail('mixed list attribute');
      return strs.length ? strs : nums;
    }
    return this.fail('expected an attribute value');
  }
}

/**
 * Parses the text form of a graph.
 * @param src text as written by `print` (or a hand-written variant, see the module comment)
 * @returns a new Graph; node output types are inferred when the text omits any of them
 */
export function parse(src: string): Graph {
  const p = new Parser(src, lex(src));
  const g = parseGraph(p, true);
  if (!p.done()) p.fail('text after the closing "}"');
  linkSubgraphOpsets(g);
  if (p.missingTypes) inferShapes(g);
  return g;
}

/** Parses `graph "name" [opsets {...}] { ... }`; subgraphs (top false) infer nothing themselves. */
function parseGraph(p: Parser, top: boolean): Graph {
  const g = new Graph();
  const ids = new Map<number, ValueId>();
  const define = (n: number, name: string | undefined, type: TensorType): ValueId => {
    if (ids.has(n)) p.fail(`%${n} is defined twice`);
    const v = g.addValue(name ?? `v${n}`, type);
    ids.set(n, v.id);
    return v.id;
  };
  const use = (n: number): ValueId => {
    const id = ids.get(n);
    if (id === undefined) return p.fail(`%${n} is used before it is defined`);
    return id;
  };
  if (!p.isId('graph')) p.fail('expected "graph"');
  p.next();
  const gname = p.optStr();
  if (gname !== undefined) g.name = gname;
  if (p.isId('opsets')) {
    if (!top) p.fail('a subgraph has no opsets of its own');
    p.next();
    p.expectP('{');
    g.opsets = {};
    while (!p.eatP('}')) {
      const d = p.str();
      p.expectP(':');
      const v = p.num();
      if (!Number.isSafeInteger(v) || v < 1) p.fail(`opset version for "${d}" must be a positive integer`);
      setOwn(g.opsets, d, v);
      if (!p.isP('}')) p.expectP(',');
    }
  }
  p.expectP('{');
  let missingTypes = false;
  let sawOutput = false;
  const placeholder: TensorType = { dtype: 'f32', shape: [] };
  while (!p.eatP('}')) {
    if (p.isId('input') || p.isId('capture')) {
      const capture = p.ident() === 'capture';
      if (capture && top) p.fail('only a subgraph can capture values');
      const n = p.valRef();
      const name = p.optStr();
      p.expectP(':');
      (capture ? g.captures : g.inputs).push(define(n, name, p.type()));
    } else if (p.isId('const')) {
      p.next();
      const n = p.valRef();
      const name = p.optStr();
      p.expectP(':');
      const ty = p.type();
      p.expectP('=');
      const t = p.tensorValues(ty);
      const id = define(n, name, t.type);
      g.consts.set(id, t);
    } else if (p.isId('output')) {
      p.next();
      if (sawOutput) p.fail('only one output line is allowed');
      sawOutput = true;
      while (p.peek()?.k === 'val') {
        g.outputs.push(use(p.valRef()));
        if (!p.eatP(',')) break;
      }
    } else {
      // %a "na", %b = Op(%x, _, %y) {k=v} @"node" : t1, t2
      const outs: [number, string | undefined][] = [];
      if (p.eatP('(')) p.expectP(')');
      else {
        do outs.push([p.valRef(), p.optStr()]);
        while (p.eatP(','));
      }
      p.expectP('=');
      const full = p.ident();
      const dot = full.lastIndexOf('.');
      const domain = dot < 0 ? '' : full.slice(0, dot);
      const op = dot < 0 ? full : full.slice(dot + 1);
      p.expectP('(');
      const inputs: (ValueId | null)[] = [];
      const minInputs = getOp(domain, op)?.arity[0] ?? 0;
      while (!p.eatP(')')) {
        if (p.isP('_') && inputs.length < minInputs) p.fail(`input ${inputs.length} of ${op} is required; "_" omits only optional inputs`);
        if (p.eatP('_')) inputs.push(null);
        else inputs.push(use(p.valRef()));
        if (!p.isP(')')) p.expectP(',');
      }
      const attrs: Record<string, AttrValue> = {};
      if (p.eatP('{')) {
        while (!p.eatP('}')) {
          const kt = p.next();
          const key = kt.k === 'id' || kt.k === 'str' ? kt.s : p.fail('expected an attribute name');
          p.expectP('=');
          if (Object.prototype.hasOwnProperty.call(attrs, key)) p.fail(`attribute "${key}" is given twice`);
          setOwn(attrs, key, p.attrValue());
          if (!p.isP('}')) p.expectP(',');
        }
      }
      const bodies = Object.values(attrs).filter((v): v is Graph => v instanceof Graph);
      const caps = bodies[0]?.captures.length ?? 0;
      if (bodies.some((b) => b.captures.length !== caps)) p.fail(`the subgraphs of ${op} capture different numbers of values`);
      if (caps > inputs.length) p.fail(`${op} has ${caps} captured values but only ${inputs.length} inputs`);
      let nodeName: string | undefined;
      if (p.eatP('@')) nodeName = p.str();
      const types: TensorType[] = [];
      if (p.eatP(':')) {
        do types.push(p.type());
        while (p.eatP(','));
      }
      if (types.length && types.length !== outs.length) p.fail(`${outs.length} outputs but ${types.length} types`);
      if (!types.length && outs.length) missingTypes = true;
      const outIds = outs.map(([n, name], k) => define(n, name, types[k] ?? placeholder));
      g.addNode({ op, domain, inputs, outputs: outIds, attrs, ...(nodeName !== undefined ? { name: nodeName } : {}) });
    }
  }
  if (missingTypes) p.missingTypes = true;
  return g;
}
