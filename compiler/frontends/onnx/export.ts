/**
 * Graph -> standard ONNX ModelProto bytes (what `edgec compile --emit-onnx` writes).
 *
 * - opset imports come from g.opsets (internal domain 'edgec' is never imported: its ops are
 *   expanded into standard ONNX here);
 * - constants become initializers with raw_data;
 * - every value gets value_info with its dtype and shape (symbolic dims as dim_param);
 * - attribute kinds (INT vs FLOAT, INTS vs FLOATS) come from the ONNX spec's schema of the op at
 *   the model's opset (attr-kinds.ts), else from the op's own attribute parser, run with a
 *   recording AttrReader, so `alpha: 1` stays a FLOAT and an empty FLOATS list stays FLOATS; only
 *   attributes of ops that neither knows (custom domains) are typed from their values;
 * - value names are the source names where unique, generated ones otherwise (names are data).
 */
import onnxproto from 'onnx-proto';
import { AttrValue, Graph, Node, TypeAttr, ValueId, explicitInputs, implicitInputCount } from '../../ir/graph.js';
import { Tensor, TensorType } from '../../ir/tensor.js';
import { ONNX_DTYPE } from '../../ir/dtype.js';
import { AttrReader, getOp, normDomain } from '../../ops/registry.js';
import '../../ops/index.js';
import { ACT_KINDS, ActKind } from '../../ops/act.js';
import { EdgecError, ErrorContext, unsupported } from '../../errors.js';
import { tensorToProto } from './tensor-proto.js';
import { ONNX_ATTR_KINDS, OnnxAttrKind } from './attr-kinds.js';

const { onnx } = onnxproto;
const ATTR = onnx.AttributeProto.AttributeType;

/** Options of exportOnnx. */
export interface OnnxExportOptions {
  /** producer_name (default 'edgec'). */
  producerName?: string;
  /** producer_version (default ''). */
  producerVersion?: string;
  /**
   * Write edgec's internal ops that have no standard-ONNX form (e.g. the integer ops of an imported
   * int8 TFLite model) as nodes of the custom domain 'edgec' (opset 1), which edgec reads back;
   * default false: they are an unsupported error.
   */
  internalOps?: boolean;
}

/** IR version matching an ai.onnx opset (the oldest IR that carries it). */
export function irVersionFor(opset: number): number {
  if (opset <= 8) return 3;
  if (opset === 9) return 4;
  if (opset === 10) return 5;
  if (opset === 11) return 6;
  if (opset <= 14) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  if (opset <= 22) return 10;
  return 11;
}

type AttrKind = OnnxAttrKind;

/**
 * Attribute kinds the ONNX spec declares for op `op` of `domain` at opset `opset` (attr-kinds.ts;
 * undefined when the spec has no such op or version).
 * @param domain op domain ('' or 'ai.onnx' for the default domain)
 * @param op op name
 * @param opset the model's opset of that domain
 */
export function specAttrKinds(domain: string, op: string, opset: number): Readonly<Record<string, AttrKind>> | undefined {
  const versions = ONNX_ATTR_KINDS[normDomain(domain)]?.[op];
  let kinds: Readonly<Record<string, AttrKind>> | undefined;
  for (const [since, k] of versions ?? []) if (since <= opset) kinds = k;
  return kinds;
}

/** An AttrReader that records which getter the op's parser used for each attribute. */
class RecordingReader extends AttrReader {
  readonly kinds = new Map<string, AttrKind>();
  override int(name: string, def?: number): any {
    this.kinds.set(name, 'int');
    return super.int(name, def as number);
  }
  override float(name: string, def?: number): any {
    this.kinds.set(name, 'float');
    return super.float(name, def as number);
  }
  override string(name: string, def?: string): any {
    this.kinds.set(name, 'string');
    return super.string(name, def as string);
  }
  override ints(name: string, def?: number[]): any {
    this.kinds.set(name, 'ints');
    return super.ints(name, def as number[]);
  }
  override floats(name: string, def?: number[]): any {
    this.kinds.set(name, 'floats');
    return super.floats(name, def as number[]);
  }
  override strings(name: string): string[] | undefined {
    this.kinds.set(name, 'strings');
    return super.strings(name);
  }
  override tensor(name: string): Tensor | undefined {
    this.kinds.set(name, 'tensor');
    return super.tensor(name);
  }
}

/**
 * Attribute kinds of a node: the ONNX spec's schema first (attr-kinds.ts), then what the op
 * definition's parser reads (for attributes the spec does not declare: edgec and custom ops).
 */
function attrKinds(domain: string, op: string, node: Node, opset: number): Map<string, AttrKind> {
  const kinds = new Map<string, AttrKind>();
  const def = getOp(domain, op);
  if (def) {
    const r = new RecordingReader(node, opset);
    try {
      def.attrs(r, { opset, node });
    } catch {
      // validation errors do not matter here: we only want the kinds read so far
    }
    for (const [k, v] of r.kinds) kinds.set(k, v);
  }
  for (const [k, v] of Object.entries(specAttrKinds(domain, op, opset) ?? {})) kinds.set(k, v);
  return kinds;
}

/** protobuf int64 words of INT64_MAX and INT64_MIN ({low, high} is what protobufjs's LongBits reads). */
const INT64_MAX_WORDS = { low: -1, high: 0x7fffffff, unsigned: false };
const INT64_MIN_WORDS = { low: 0, high: -0x80000000, unsigned: false };
const TWO_POW_63 = 2 ** 63;

/**
 * An integer attribute value for protobuf's int64 fields. IR attributes hold ints as JS numbers,
 * so INT64_MAX (e.g. Slice's "to the end" `ends`, 9223372036854775807) reads back as 2^63, which
 * protobufjs would encode as INT64_MIN (two's-complement wrap), reversing its meaning. Values at
 * or beyond the int64 range saturate to INT64_MAX / INT64_MIN; all others encode exactly.
 * @param v an integer (or +-Infinity)
 */
export function int64Attr(v: number): number | typeof INT64_MAX_WORDS {
  if (v >= TWO_POW_63) return INT64_MAX_WORDS;
  if (v < -TWO_POW_63) return INT64_MIN_WORDS;
  return v;
}

/**
 * Encodes one attribute. `kind` comes from the op schema; otherwise (an op neither the ONNX spec
 * nor edgec knows) it is guessed from the value.
 * `sub` writes a subgraph attribute's GraphProto.
 */
function attrProto(name: string, v: AttrValue, kind: AttrKind | undefined, ctx: ErrorContext,
  sub: (g: Graph) => onnxproto.onnx.GraphProto): onnxproto.onnx.AttributeProto {
  const a = new onnx.AttributeProto();
  a.name = name;
  if (v instanceof Graph) {
    a.type = ATTR.GRAPH;
    a.g = sub(v);
  } else if (v instanceof TypeAttr) {
    a.type = ATTR.TYPE_PROTO;
    a.tp = typeProto(v.type);
  } else if (Array.isArray(v) && v[0] instanceof Graph) {
    a.type = ATTR.GRAPHS;
    a.graphs = (v as Graph[]).map(sub);
  } else if (v instanceof Tensor) {
    a.type = ATTR.TENSOR;
    a.t = tensorToProto(v, name);
  } else if (typeof v === 'string') {
    a.type = ATTR.STRING;
    a.s = new TextEncoder().encode(v);
  } else if (typeof v === 'number') {
    if (kind === 'float' || (kind === undefined && !Number.isInteger(v))) {
      a.type = ATTR.FLOAT;
      a.f = v;
    } else {
      a.type = ATTR.INT;
      a.i = int64Attr(v) as unknown as typeof a.i;
    }
  } else if (Array.isArray(v)) {
    if (v.length && typeof v[0] === 'string') {
      a.type = ATTR.STRINGS;
      a.strings = (v as string[]).map((s) => new TextEncoder().encode(s));
    } else if (kind === 'floats' || (kind === undefined && (v as number[]).some((x) => !Number.isInteger(x)))) {
      a.type = ATTR.FLOATS;
      a.floats = [...(v as number[])];
    } else if (kind === 'strings') {
      a.type = ATTR.STRINGS;
      a.strings = [];
    } else {
      a.type = ATTR.INTS;
      a.ints = (v as number[]).map(int64Attr) as unknown as typeof a.ints;
    }
  } else {
    throw unsupported(`attribute "${name}" has a value that cannot be exported`, ctx);
  }
  return a;
}

function valueInfo(name: string, t: TensorType): onnxproto.onnx.ValueInfoProto {
  const vi = new onnx.ValueInfoProto();
  vi.name = name;
  vi.type = typeProto(t);
  return vi;
}

/** TypeProto of a value type: a tensor type, or sequence/optional wrappers around one (see ValueKind). */
function typeProto(t: TensorType): onnxproto.onnx.TypeProto {
  const tt = new onnx.TypeProto.Tensor();
  tt.elemType = ONNX_DTYPE[t.dtype];
  const sh = new onnx.TensorShapeProto();
  sh.dim = t.shape.map((d) => {
    const dim = new onnx.TensorShapeProto.Dimension();
    if (typeof d === 'number') dim.dimValue = d as unknown as typeof dim.dimValue;
    else dim.dimParam = d;
    return dim;
  });
  tt.shape = sh;
  const tensor = new onnx.TypeProto();
  tensor.tensorType = tt;
  const seq = (): onnxproto.onnx.TypeProto => {
    const tp = new onnx.TypeProto();
    tp.sequenceType = new onnx.TypeProto.Sequence();
    tp.sequenceType.elemType = tensor;
    return tp;
  };
  const opt = (elem: onnxproto.onnx.TypeProto): onnxproto.onnx.TypeProto => {
    const tp = new onnx.TypeProto();
    tp.optionalType = new onnx.TypeProto.Optional();
    tp.optionalType.elemType = elem;
    return tp;
  };
  switch (t.kind) {
    case undefined: return tensor;
    case 'sequence': return seq();
    case 'optional': return opt(tensor);
    case 'optional-sequence': return opt(seq());
  }
}

/**
 * Unique names for values: public (input/output) names kept, others kept when free. Names are
 * unique across the whole model (`used` is shared with subgraphs, so no subgraph shadows an outer
 * name); a subgraph's captures take the names of the outer values they stand for (`captures`).
 */
function nameValues(g: Graph, used: Set<string>, captures: readonly string[] = []): Map<ValueId, string> {
  const names = new Map<ValueId, string>();
  g.captures.forEach((id, k) => names.set(id, captures[k]!));
  const claim = (id: ValueId, preferred: string): void => {
    if (names.has(id)) return;
    let n = preferred;
    if (!n || used.has(n)) {
      let k = 0;
      const base = n ? `${n}__${id}` : `v${id}`;
      n = base;
      while (used.has(n)) n = `${base}_${++k}`;
    }
    used.add(n);
    names.set(id, n);
  };
  for (const id of g.inputs) claim(id, g.value(id).name);
  for (const id of g.outputs) claim(id, g.value(id).name);
  for (const id of g.consts.keys()) claim(id, g.value(id).name);
  for (const n of g.orderedNodes()) {
    for (const o of n.outputs) claim(o, g.value(o).name);
  }
  return names;
}

/** Builder state of one export. */
class Emitter {
  readonly nodes: onnxproto.onnx.NodeProto[] = [];
  private readonly nodeNames = new Set<string>();
  readonly extraInits: onnxproto.onnx.TensorProto[] = [];
  readonly extraInfo: onnxproto.onnx.ValueInfoProto[] = [];
  private fresh = 0;
  /** Values read by a node or listed as graph outputs. */
  readonly used = new Set<ValueId>();
  constructor(readonly g: Graph, readonly names: Map<ValueId, string>, readonly taken: Set<string>,
    readonly sub: (g: Graph, node: Node) => onnxproto.onnx.GraphProto) {
    for (const o of g.outputs) this.used.add(o);
    for (const n of g.nodes.values()) for (const i of n.inputs) if (i !== null) this.used.add(i);
  }

  /** A new value name that no source value uses. */
  freshName(hint: string): string {
    let n: string;
    do n = `${hint}__edgec${this.fresh++}`; while (this.taken.has(n));
    this.taken.add(n);
    return n;
  }

  node(op: string, domain: string, inputs: string[], outputs: string[], name: string, attrs: onnxproto.onnx.AttributeProto[]): void {
    // node names must be unique (ONNX Runtime rejects duplicates); derived names of anonymous
    // source nodes (".w_DequantizeLinear") can collide, so repeats get a numeric suffix
    if (name !== '') {
      let k = 1;
      const base = name;
      while (this.nodeNames.has(name)) name = `${base}_${k++}`;
      this.nodeNames.add(name);
    }
    const np = new onnx.NodeProto();
    np.opType = op;
    np.domain = domain;
    np.input = inputs;
    np.output = outputs;
    np.name = name;
    np.attribute = attrs;
    this.nodes.push(np);
  }

  nameOf(id: ValueId | null): string {
    return id === null ? '' : this.names.get(id)!;
  }

  /** Output names of a node: omitted optional outputs (anonymous and unused) stay omitted. */
  outputNames(n: Node): string[] {
    const outs = n.outputs.map((o) => {
      const v = this.g.value(o);
      return v.name === '' && !this.used.has(o) ? '' : this.nameOf(o);
    });
    while (outs.length > 1 && outs[outs.length - 1] === '') outs.pop();
    return outs;
  }

  /** Emits a node with its attributes encoded with the kinds of op `op` (domain `domain`). */
  plain(n: Node, op: string, domain: string, attrs: Record<string, AttrValue>, outputs: string[], ctx: ErrorContext): void {
    const opset = this.g.opsets[normDomain(domain)] ?? (domain === '' ? this.g.opset : 1);
    const probe: Node = { ...n, op, domain, attrs };
    const kinds = attrKinds(domain, op, probe, opset);
    const protos = Object.keys(attrs).sort().map((k) => attrProto(k, attrs[k]!, kinds.get(k), ctx, (b) => this.sub(b, n)));
    // implicit inputs (values the subgraphs capture) are not node inputs in ONNX
    this.node(op, domain, explicitInputs(n).map((i) => this.nameOf(i)), outputs, n.name, protos);
  }

  /** edgec.FusedX -> X + activation node. */
  fused(n: Node, base: string, ctx: ErrorContext): void {
    const attrs: Record<string, AttrValue> = {};
    for (const [k, v] of Object.entries(n.attrs)) if (k !== 'activation' && k !== 'activation_params') attrs[k] = v;
    const kind = n.attrs['activation'];
    const params = Array.isArray(n.attrs['activation_params']) ? (n.attrs['activation_params'] as number[]) : [];
    const out = this.nameOf(n.outputs[0] ?? null);
    if (typeof kind !== 'string' || kind === '') {
      this.plain(n, base, '', attrs, [out], ctx);
      return;
    }
    if (!(ACT_KINDS as readonly string[]).includes(kind)) throw unsupported(`fused activation "${kind}" cannot be exported`, ctx);
    const tmp = this.freshName(`${out}_pre`);
    this.plain(n, base, '', attrs, [tmp], ctx);
    const t = this.g.typeOf(n.outputs[0]!);
    this.extraInfo.push(valueInfo(tmp, t));
    this.activation(kind as ActKind, params, tmp, out, `${n.name}_act`, t);
  }

  /** Standard ONNX nodes computing activation `kind` from `x` into `y`. */
  activation(kind: ActKind, params: readonly number[], x: string, y: string, name: string, t: TensorType): void {
    const f = (nm: string, v: number): onnxproto.onnx.AttributeProto => {
      const a = new onnx.AttributeProto();
      a.name = nm;
      a.type = ATTR.FLOAT;
      a.f = v;
      return a;
    };
    const opset = this.g.opset;
    switch (kind) {
      case 'Relu': case 'Sigmoid': case 'Tanh':
        this.node(kind, '', [x], [y], name, []);
        return;
      case 'LeakyRelu':
        this.node(kind, '', [x], [y], name, [f('alpha', params[0] ?? 0.01)]);
        return;
      case 'HardSigmoid':
        this.node(kind, '', [x], [y], name, [f('alpha', params[0] ?? 0.2), f('beta', params[1] ?? 0.5)]);
        return;
      case 'HardSwish':
        if (opset >= 14) {
          this.node(kind, '', [x], [y], name, []);
        } else {
          // HardSwish(x) = x * HardSigmoid(x; alpha 1/6, beta 0.5)
          const hs = this.freshName(`${y}_hsig`);
          this.extraInfo.push(valueInfo(hs, t));
          this.node('HardSigmoid', '', [x], [hs], `${name}_hsig`, [f('alpha', 1 / 6), f('beta', 0.5)]);
          this.node('Mul', '', [x, hs], [y], name, []);
        }
        return;
      case 'Clip': {
        const lo = params[0] ?? -Infinity;
        const hi = params[1] ?? Infinity;
        if (opset < 11) {
          const attrs = [];
          if (Number.isFinite(lo)) attrs.push(f('min', lo));
          if (Number.isFinite(hi)) attrs.push(f('max', hi));
          this.node('Clip', '', [x], [y], name, attrs);
          return;
        }
        const bound = (v: number, which: string): string => {
          if (!Number.isFinite(v)) return '';
          const nm = this.freshName(`${y}_${which}`);
          this.extraInits.push(tensorToProto(Tensor.from(t.dtype, [], [v]), nm));
          return nm;
        };
        const ins = [x, bound(lo, 'min'), bound(hi, 'max')];
        while (ins[ins.length - 1] === '') ins.pop();
        this.node('Clip', '', ins, [y], name, []);
        return;
      }
    }
  }
}

/**
 * One graph (the main graph or a subgraph) as a GraphProto.
 * @param g the graph
 * @param taken value names used anywhere in the model so far (shared with subgraphs)
 * @param captures for a subgraph, the outer names its captures stand for
 * @param domains collects the domains of every emitted node
 */
function graphProto(g: Graph, taken: Set<string>, captures: readonly string[], domains: Set<string>, partial = false, internalOps = false): onnxproto.onnx.GraphProto {
  const names = nameValues(g, taken, captures);
  // A subgraph whose types inference could not fill (partialTypes, or inside such a subgraph)
  // gets no value_info and untyped outputs: its placeholder types would mislead the reader.
  const untyped = partial || g.partialTypes;
  // A subgraph's captures are bound to the node's implicit inputs, by the outer names.
  const sub = (b: Graph, node: Node): onnxproto.onnx.GraphProto => {
    const implicit = node.inputs.slice(node.inputs.length - implicitInputCount(node)).map((i) => names.get(i!)!);
    return graphProto(b, taken, implicit, domains, untyped, internalOps);
  };
  const em = new Emitter(g, names, taken, sub);
  g.orderedNodes().forEach((n, index) => {
    const ctx: ErrorContext = { nodeIndex: index, node: n.name, op: n.op };
    const dom = normDomain(n.domain);
    try {
      if (dom === 'edgec') {
        const base = /^Fused(Conv|Gemm|MatMul)$/.exec(n.op)?.[1];
        if (!base && internalOps) {
          em.plain(n, n.op, 'edgec', { ...n.attrs }, em.outputNames(n), ctx);
          return;
        }
        if (!base) throw unsupported(`internal op edgec.${n.op} cannot be exported to standard ONNX yet`, ctx);
        em.fused(n, base, ctx);
      } else {
        em.plain(n, n.op, dom, { ...n.attrs }, em.outputNames(n), ctx);
      }
    } catch (e) {
      if (e instanceof EdgecError) throw e.withContext(ctx);
      throw e;
    }
  });
  // A subgraph output that is a captured outer value gets its own name through an Identity.
  const captureSet = new Set(g.captures);
  const outNames = g.outputs.map((id) => {
    if (!captureSet.has(id)) return names.get(id)!;
    const n = em.freshName(names.get(id)!);
    em.node('Identity', '', [names.get(id)!], [n], '', []);
    return n;
  });
  for (const np of em.nodes) domains.add(np.domain ?? '');

  const gp = new onnx.GraphProto();
  gp.name = g.name;
  gp.node = em.nodes;
  const usedConsts = new Set<ValueId>(g.outputs);
  for (const n of g.nodes.values()) for (const i of n.inputs) if (i !== null) usedConsts.add(i);
  gp.initializer = [
    ...[...g.consts.entries()].filter(([id]) => usedConsts.has(id)).map(([id, t]) => tensorToProto(t, names.get(id)!)),
    ...em.extraInits,
  ];
  gp.input = g.inputs.map((id) => valueInfo(names.get(id)!, g.typeOf(id)));
  gp.output = g.outputs.map((id, k) => (untyped ? new onnx.ValueInfoProto({ name: outNames[k]! }) : valueInfo(outNames[k]!, g.typeOf(id))));
  const pub = new Set<ValueId>([...g.inputs, ...g.outputs, ...g.consts.keys()]);
  const info: onnxproto.onnx.ValueInfoProto[] = [];
  for (const n of g.orderedNodes()) {
    for (const o of n.outputs) {
      if (pub.has(o) || (g.value(o).name === '' && !em.used.has(o))) continue;
      const t = g.typeOf(o);
      if (t) info.push(valueInfo(names.get(o)!, t));
    }
  }
  gp.valueInfo = untyped ? [] : [...info, ...em.extraInfo];
  return gp;
}

/**
 * Writes a graph as a standard ONNX model.
 * @param g the graph (not modified)
 * @param opts producer fields
 * @returns serialized ModelProto bytes
 */
export function exportOnnx(g: Graph, opts: OnnxExportOptions = {}): Uint8Array {
  const usedDomains = new Set<string>();
  const gp = graphProto(g, new Set<string>(), [], usedDomains, false, !!opts.internalOps);

  const m = new onnx.ModelProto();
  const opset = g.opsets[''] ?? g.opset;
  m.irVersion = irVersionFor(opset) as unknown as typeof m.irVersion;
  m.producerName = opts.producerName ?? 'edgec';
  m.producerVersion = opts.producerVersion ?? '';
  m.graph = gp;
  const imports: onnxproto.onnx.OperatorSetIdProto[] = [];
  for (const d of Object.keys(g.opsets).sort()) {
    const nd = normDomain(d);
    if (nd === 'edgec') continue;
    if (nd !== '' && !usedDomains.has(d) && !usedDomains.has(nd)) continue;
    const o = new onnx.OperatorSetIdProto();
    o.domain = nd;
    o.version = g.opsets[d]! as unknown as typeof o.version;
    imports.push(o);
  }
  if (usedDomains.has('edgec')) {
    const o = new onnx.OperatorSetIdProto();
    o.domain = 'edgec';
    o.version = 1 as unknown as typeof o.version;
    imports.push(o);
  }
  if (!imports.some((o) => o.domain === '')) {
    const o = new onnx.OperatorSetIdProto();
    o.domain = '';
    o.version = opset as unknown as typeof o.version;
    imports.unshift(o);
  }
  m.opsetImport = imports;
  m.metadataProps = Object.keys(g.meta).sort().filter((k) => k !== 'producer').map((k) => {
    const p = new onnx.StringStringEntryProto();
    p.key = k;
    p.value = g.meta[k]!;
    return p;
  });
  return onnx.ModelProto.encode(m).finish();
}
