/**
 * ONNX ModelProto -> Graph. Untrusted input: every size is checked, names are data, external
 * data is confined to the model's folder, and malformed input gives one clear EdgecError.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import onnxproto from 'onnx-proto';
import { AttrValue, Graph, TypeAttr, ValueId } from '../../ir/graph.js';
import { Dim, Tensor, TensorType } from '../../ir/tensor.js';
import { DEFAULT_LIMITS, EdgecError, ErrorContext, Limits, internal, invalid, limit, security, unsupported } from '../../errors.js';
import { getOp, normDomain } from '../../ops/registry.js';
import '../../ops/index.js';
import { inferShapes } from '../../interp/interp.js';
import { dtypeOrThrow, tensorFromProto, toNum, ExternalReader } from './tensor-proto.js';

const { onnx } = onnxproto;

/**
 * Highest ai.onnx opset whose semantics edgec implements. Opsets 26-28 only add ops (BitCast and
 * CumProd at 26, LinearAttention and CausalConvWithState at 27, SwiGLU at 28) or widen types
 * (Range-27 float16/bfloat16 with stash_type, Celu-28 float16/bfloat16); unknown ops still fail.
 */
export const MAX_OPSET = 28;
/** Lowest ai.onnx opset accepted. */
export const MIN_OPSET = 1;
/** Non-default domains edgec knows (others are 'unsupported'). */
const KNOWN_DOMAINS = new Set(['', 'ai.onnx', 'edgec', 'com.microsoft', 'ai.onnx.ml', 'qonnx.custom_op.general', 'onnx.brevitas']);
/** Custom-op domains that exporters use without an opset_import (QONNX/Brevitas): version 1 is assumed. */
const IMPLICIT_DOMAINS = new Set(['qonnx.custom_op.general', 'onnx.brevitas', 'edgec']);

export interface OnnxImportOptions {
  limits?: Limits;
  /** Folder that external data must stay inside (the model's folder). Omit to forbid external data. */
  baseDir?: string;
  /** File name for error messages. */
  file?: string;
  /** Fix dims: input name -> concrete shape (replaces symbolic dims). */
  inputShapes?: Record<string, number[]>;
  /** Replace remaining symbolic input dims with 1 (default true), like most deployment tools do for batch. */
  symbolicToOne?: boolean;
  /** Run shape inference after import (default true). */
  infer?: boolean;
}

/** Loads an .onnx file (with external data confined to its folder). */
export function loadOnnxFile(file: string, opts: OnnxImportOptions = {}): Graph {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw invalid(`cannot read model file`, { file, hint: 'check the path' });
  }
  if (st.isDirectory()) throw invalid('model path is a folder, expected an .onnx file', { file });
  if (st.size > limits.maxModelBytes) throw limit(`model file is ${st.size} bytes, over the limit of ${limits.maxModelBytes}`, { file });
  const bytes = fs.readFileSync(file);
  return importOnnx(bytes, { baseDir: path.dirname(path.resolve(file)), file, ...opts });
}

/** Describes what some bytes look like, for "wrong format" errors. */
export function sniffFormat(b: Uint8Array): string | undefined {
  if (b.length === 0) return 'the file is empty';
  const head = new TextDecoder().decode(b.subarray(0, Math.min(64, b.length))).trimStart();
  if (head.startsWith('{') || head.startsWith('[')) return 'it looks like JSON (a TF.js model.json? use the TF.js frontend)';
  if (b.length >= 8 && String.fromCharCode(b[4]!, b[5]!, b[6]!, b[7]!) === 'TFL3') return 'it looks like a TFLite flatbuffer';
  if (b[0] === 0x50 && b[1] === 0x4b) return 'it looks like a ZIP archive (PyTorch .pt/.pth or Keras?)';
  if (b[0] === 0x93 && head.includes('NUMPY')) return 'it looks like a NumPy .npy file';
  if (b[0] === 0x89 && b[1] === 0x48 && b[2] === 0x44 && b[3] === 0x46) return 'it looks like HDF5 (Keras .h5)';
  if (head.startsWith('<')) return 'it looks like HTML/XML';
  if (b[0] === 0x00 && b[1] === 0x61 && b[2] === 0x73 && b[3] === 0x6d) return 'it looks like a WebAssembly module';
  return undefined;
}

/** Decodes protobuf bytes into a ModelProto, turning every decoder failure into one clear error. */
function decodeModel(bytes: Uint8Array, ctx: ErrorContext): onnxproto.onnx.ModelProto {
  const sniff = sniffFormat(bytes);
  if (sniff) throw invalid(`not an ONNX model: ${sniff}`, ctx);
  let m: onnxproto.onnx.ModelProto;
  try {
    m = onnx.ModelProto.decode(bytes);
  } catch (e) {
    if (e instanceof RangeError && /call stack/i.test(e.message)) {
      throw limit('not a usable ONNX model: protobuf messages are nested too deeply', ctx);
    }
    throw invalid(`not a valid ONNX model: protobuf decoding failed (${(e as Error).message})`, {
      ...ctx,
      hint: 'the file is truncated, corrupt, or not ONNX',
    });
  }
  if (!m.graph) throw invalid('not a valid ONNX model: it has no graph', ctx);
  return m;
}

/** Imports ONNX model bytes into a Graph. */
export function importOnnx(bytes: Uint8Array, opts: OnnxImportOptions = {}): Graph {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const fctx: ErrorContext = opts.file ? { file: opts.file } : {};
  if (bytes.length > limits.maxModelBytes) throw limit(`model is ${bytes.length} bytes, over the limit`, fctx);
  const m = decodeModel(bytes, fctx);
  const gp = m.graph!;
  const g = new Graph();
  g.name = gp.name || 'graph';

  // Opsets: required, unique per domain, within what we implement.
  const opsets: Record<string, number> = Object.create(null);
  if (!m.opsetImport || m.opsetImport.length === 0) {
    if (toNum(m.irVersion) >= 3 || !m.irVersion) throw invalid('model has no opset_import', { ...fctx, hint: 'the ONNX spec requires one for ai.onnx' });
  }
  for (const o of m.opsetImport ?? []) {
    const d = normDomain(o.domain ?? '');
    const v = toNum(o.version);
    if (Object.prototype.hasOwnProperty.call(opsets, d)) throw invalid(`opset_import lists domain "${d || 'ai.onnx'}" twice`, fctx);
    if (!Number.isInteger(v) || v <= 0) throw invalid(`opset_import for "${d || 'ai.onnx'}" has invalid version ${v}`, fctx);
    if (d === '' && v > MAX_OPSET) {
      throw unsupported(`ai.onnx opset ${v} is newer than the newest supported (${MAX_OPSET})`, { ...fctx, opset: v });
    }
    opsets[d] = v;
  }
  if (opsets[''] === undefined) opsets[''] = m.opsetImport && m.opsetImport.length ? MIN_OPSET : 1;
  g.opsets = { ...opsets };
  for (const p of m.metadataProps ?? []) {
    if (p.key) Object.defineProperty(g.meta, p.key, { value: p.value ?? '', enumerable: true, writable: true, configurable: true });
  }
  if (m.producerName) g.meta['producer'] = String(m.producerName);

  const external = opts.baseDir ? confinedReader(opts.baseDir, fctx) : undefined;
  const sc: ImportScope = { opsets, root: g, limits, external, fctx, opts, nodes: 0, totalBytes: 0 };
  importGraph(gp, g, sc, 0);
  if (opts.infer !== false) {
    try {
      inferShapes(g);
    } catch (e) {
      if (e instanceof EdgecError) throw e.withContext(fctx);
      throw e;
    }
  }
  return g;
}

/** State shared by the main graph and every subgraph of one import. */
interface ImportScope {
  /** Opset per domain (implicit custom domains are added as nodes use them). */
  opsets: Record<string, number>;
  /** The main graph (its `opsets` follow `opsets`). */
  root: Graph;
  limits: Limits;
  external: ExternalReader | undefined;
  fctx: ErrorContext;
  opts: OnnxImportOptions;
  /** Nodes imported so far, all graphs together (limits.maxNodes). */
  nodes: number;
  /** Weight bytes imported so far, all graphs together (limits.maxTotalBytes). */
  totalBytes: number;
}

/** Names visible from the graphs enclosing a subgraph. */
interface OuterScope {
  /** The type of outer value `name`, or undefined when no enclosing graph defines it. */
  lookup(name: string): TensorType | undefined;
}

/** Outer-scope names each imported subgraph captures (capture k of the graph stands for name k). */
const capturedNames = new WeakMap<Graph, string[]>();

/**
 * Imports a GraphProto into `g`. The main graph has no `outer`; a subgraph resolves names it does
 * not define through `outer` and turns each into a capture (Graph.captures). Its nodes' own
 * subgraphs are imported recursively and the names they capture become the node's implicit inputs.
 */
function importGraph(gp: onnxproto.onnx.IGraphProto, g: Graph, sc: ImportScope, depth: number, outer?: OuterScope): void {
  const { limits, external, opts, opsets } = sc;
  const fctx: ErrorContext = sc.fctx;
  const nodesP = gp.node ?? [];
  sc.nodes += nodesP.length;
  if (sc.nodes > limits.maxNodes) throw limit(`graph has ${sc.nodes} nodes, over the limit of ${limits.maxNodes}`, { ...fctx, hint: 'raise it with --max-nodes' });

  const names = new Map<string, ValueId>();
  const captured: string[] = [];
  if (outer) capturedNames.set(g, captured);
  /** A name defined in this graph, or a capture of an outer value; undefined when neither. */
  const resolve = (n: string): ValueId | undefined => {
    const id = names.get(n);
    if (id !== undefined || !outer) return id;
    const t = outer.lookup(n);
    if (!t) return undefined;
    const v = g.addValue(n, t);
    names.set(n, v.id);
    g.captures.push(v.id);
    captured.push(n);
    return v.id;
  };
  const scope: OuterScope = {
    lookup: (n) => {
      const id = names.get(n);
      return id !== undefined ? g.value(id).type : outer?.lookup(n);
    },
  };

  // Initializers -> constants.
  for (const tp of gp.initializer ?? []) {
    const name = tp.name ?? '';
    if (!name) throw invalid('an initializer has no name', fctx);
    if (names.has(name)) throw invalid(`initializer "${name}" is defined twice`, { ...fctx, tensor: name });
    const t = tensorFromProto(tp, { limits, ...(external ? { external } : {}), ctx: { ...fctx, tensor: name }, rejectNaN: true });
    sc.totalBytes += t.byteSize();
    if (sc.totalBytes > limits.maxTotalBytes) throw limit('total weight bytes exceed the limit', { ...fctx, tensor: name });
    names.set(name, g.addConst(name, t).id);
  }
  if ((gp.sparseInitializer ?? []).length) throw unsupported('sparse initializers are not supported', fctx);

  // Graph inputs (skip those that are initializers: IR<4 exporters list them as inputs too).
  for (const vi of gp.input ?? []) {
    const name = vi.name ?? '';
    if (!name) throw invalid('a graph input has no name', fctx);
    if (names.has(name)) {
      if (g.consts.has(names.get(name)!)) continue;
      throw invalid(`graph input "${name}" is listed twice`, { ...fctx, tensor: name });
    }
    let type: TensorType;
    if (depth === 0) type = fixInputShape(typeFromValueInfo(vi, { ...fctx, tensor: name }, limits), name, opts);
    else type = vi.type ? typeFromValueInfo(vi, { ...fctx, tensor: name }, limits) : { dtype: 'f32', shape: [] }; // the op's inference sets body input types
    const v = g.addValue(name, type);
    names.set(name, v.id);
    g.inputs.push(v.id);
  }

  // Declared types of intermediate values and outputs (used where inference knows less).
  const declared = new Map<string, TensorType>();
  for (const vi of [...(gp.valueInfo ?? []), ...(gp.output ?? [])]) {
    if (!vi.name || !vi.type) continue;
    try {
      declared.set(vi.name, typeFromValueInfo(vi, { ...fctx, tensor: vi.name }, limits));
    } catch (e) {
      if (!(e instanceof EdgecError)) throw e;
      // a bad annotation on an intermediate value is ignored: inference recomputes it
    }
  }

  // Node outputs: create values first (allows forward references, detects double producers).
  const producedBy = new Map<string, number>();
  nodesP.forEach((np, i) => {
    for (const o of np.output ?? []) {
      if (!o) continue;
      if (names.has(o) || producedBy.has(o)) {
        const prev = producedBy.get(o);
        throw invalid(`value "${o}" is produced twice${prev !== undefined ? ` (also by node ${prev})` : ' (it is also a graph input or initializer)'}`, {
          ...fctx, nodeIndex: i, node: np.name ?? '', op: np.opType ?? '',
        });
      }
      producedBy.set(o, i);
      const v = g.addValue(o, declared.get(o) ?? { dtype: 'f32', shape: [] });
      names.set(o, v.id);
    }
  });

  nodesP.forEach((np, i) => {
    const opType = np.opType ?? '';
    const domain = normDomain(np.domain ?? '');
    const nctx: ErrorContext = { ...fctx, nodeIndex: i, node: np.name ?? '', op: opType };
    if (!opType) throw invalid('node has no op_type', nctx);
    if (!KNOWN_DOMAINS.has(domain) && opsets[domain] === undefined) {
      throw unsupported(`op ${domain}.${opType} is in domain "${domain}", which is not imported by the model and not supported`, nctx);
    }
    if (opsets[domain] === undefined && domain !== '' && IMPLICIT_DOMAINS.has(domain)) {
      opsets[domain] = 1;
      sc.root.opsets[domain] = 1;
      g.opsets[domain] = 1;
    }
    if (opsets[domain] === undefined && domain !== '') {
      throw invalid(`node uses domain "${domain}" but the model has no opset_import for it`, nctx);
    }
    const opset = opsets[domain] ?? 1;
    nctx.opset = opset;
    if (!getOp(domain, opType) && !(domain === '' && opType === 'Constant')) {
      throw unsupported(`unsupported op ${domain ? `${domain}.` : ''}${opType}`, { ...nctx, hint: 'see README "Supported ops"' });
    }
    const since = getOp(domain, opType)?.since ?? 1;
    if (opset < since) throw unsupported(`${opType} at opset ${opset} is not supported (edgec implements it from opset ${since})`, nctx);
    const subgraph = (sgp: onnxproto.onnx.IGraphProto, attr: string): Graph => {
      if (depth + 1 > limits.maxNesting) throw limit(`subgraphs are nested more than ${limits.maxNesting} deep`, nctx);
      const body = new Graph();
      body.name = sgp.name || attr;
      body.opsets = sc.root.opsets;
      importGraph(sgp, body, sc, depth + 1, scope);
      return body;
    };
    const attrs = parseAttributes(np.attribute ?? [], nctx, limits, external, subgraph);
    const def = getOp(domain, opType);
    const inputs = (np.input ?? []).map((n, k) => {
      if (n === '') {
        // '' omits an optional input; ONNX puts required inputs first, so these come before arity[0]
        if (def && k < def.arity[0]) throw invalid(`input ${k} of ${opType} is required but is empty ("")`, nctx);
        return null;
      }
      const id = resolve(n);
      if (id === undefined) throw invalid(`input "${n}" is not produced by any node, initializer or graph input`, nctx);
      return id;
    });
    // Outer values the node's subgraphs read become its implicit inputs (same captures in each).
    const bodies = Object.values(attrs).flatMap((v) => (v instanceof Graph ? [v] : Array.isArray(v) ? (v as unknown[]).filter((x): x is Graph => x instanceof Graph) : []));
    if (bodies.length) {
      const union: string[] = [];
      for (const b of bodies) for (const n of capturedNames.get(b) ?? []) if (!union.includes(n)) union.push(n);
      for (const b of bodies) alignCaptures(b, union);
      for (const n of union) {
        const id = resolve(n);
        if (id === undefined) throw internal(`captured value "${n}" has no definition`, nctx);
        inputs.push(id);
      }
    }
    const outputs = (np.output ?? []).map((o) => {
      if (!o) {
        // omitted optional output: give it an anonymous value
        return g.addValue('', { dtype: 'f32', shape: [] }).id;
      }
      return names.get(o)!;
    });
    if (domain === '' && opType === 'Constant') {
      // Constant nodes become constants directly.
      const t = constantValue(attrs, nctx);
      const out = outputs[0];
      if (out === undefined) throw invalid('Constant node has no output', nctx);
      g.consts.set(out, t);
      g.value(out).type = t.type;
      return;
    }
    g.addNode({ op: opType, domain, inputs, outputs, attrs, name: np.name ?? '' });
  });

  for (const vi of gp.output ?? []) {
    const id = resolve(vi.name ?? '');
    if (id === undefined) throw invalid(`graph output "${vi.name}" is not produced by any node`, fctx);
    g.outputs.push(id);
  }
  if (g.outputs.length === 0) throw invalid('graph has no outputs', fctx);
  try {
    g.toposort();
  } catch (e) {
    throw invalid(`graph is not a DAG: ${(e as Error).message}`, fctx);
  }
}

/** Makes `body` capture exactly `names`, in that order (adding unused captures where needed). */
function alignCaptures(body: Graph, names: readonly string[]): void {
  const have = capturedNames.get(body) ?? [];
  const byName = new Map(have.map((n, k) => [n, body.captures[k]!]));
  body.captures = names.map((n) => byName.get(n) ?? body.addValue(n, { dtype: 'f32', shape: [] }).id);
  capturedNames.set(body, [...names]);
}

function fixInputShape(type: TensorType, name: string, opts: OnnxImportOptions): TensorType {
  const fixed = opts.inputShapes && Object.prototype.hasOwnProperty.call(opts.inputShapes, name) ? opts.inputShapes[name] : undefined;
  if (fixed) {
    if (fixed.length !== type.shape.length) {
      throw invalid(`--input-shape for "${name}" has rank ${fixed.length}, the model's input has rank ${type.shape.length}`);
    }
    type.shape.forEach((d, i) => {
      if (typeof d === 'number' && d !== fixed[i]) {
        throw invalid(`--input-shape for "${name}" sets dim ${i} to ${fixed[i]}, but the model fixes it to ${d}`);
      }
    });
    return { ...type, shape: [...fixed] };
  }
  if (opts.symbolicToOne === false) return type;
  return { ...type, shape: type.shape.map((d) => (typeof d === 'number' ? d : 1)) };
}

let anonDim = 0;

/**
 * ValueInfoProto type -> TensorType: tensor types (symbolic dims keep their dim_param name), and
 * sequence(tensor), optional(tensor), optional(sequence(tensor)) as a TensorType with `kind`.
 */
function typeFromValueInfo(vi: onnxproto.onnx.IValueInfoProto, ctx: ErrorContext, limits: Limits): TensorType {
  if (!vi.type) throw invalid('value has no type', ctx);
  return typeFromTypeProto(vi.type, ctx, limits);
}

/** TypeProto -> TensorType (see typeFromValueInfo). */
function typeFromTypeProto(t: onnxproto.onnx.ITypeProto, ctx: ErrorContext, limits: Limits): TensorType {
  if (t.sequenceType) {
    const e = t.sequenceType.elemType;
    if (!e?.tensorType) throw unsupported('only sequences of tensors are supported', ctx);
    return { ...tensorTypeOf(e.tensorType, ctx, limits), kind: 'sequence' };
  }
  if (t.optionalType) {
    const e = t.optionalType.elemType;
    if (e?.tensorType) return { ...tensorTypeOf(e.tensorType, ctx, limits), kind: 'optional' };
    if (e?.sequenceType?.elemType?.tensorType) return { ...tensorTypeOf(e.sequenceType.elemType.tensorType, ctx, limits), kind: 'optional-sequence' };
    throw unsupported('only optional tensors and optional sequences of tensors are supported', ctx);
  }
  if (!t.tensorType) {
    if (t.mapType) throw unsupported('map types are not supported', ctx);
    throw invalid('value has no tensor type', ctx);
  }
  return tensorTypeOf(t.tensorType, ctx, limits);
}

function tensorTypeOf(tt: onnxproto.onnx.TypeProto.ITensor, ctx: ErrorContext, limits: Limits): TensorType {
  const dtype = dtypeOrThrow(tt.elemType ?? 0, ctx);
  const dims = tt.shape?.dim ?? [];
  if (dims.length > limits.maxRank) throw limit(`rank ${dims.length} exceeds the limit of ${limits.maxRank}`, ctx);
  const shape: Dim[] = dims.map((d) => {
    if (d.dimValue !== undefined && d.dimValue !== null && (d.dimParam === undefined || d.dimParam === '' || d.dimParam === null)) {
      const v = toNum(d.dimValue);
      if (v < 0) return `unk${anonDim++}`;
      if (!Number.isSafeInteger(v) || v > limits.maxTensorBytes) {
        throw limit(`dimension ${v} is too large`, ctx);
      }
      return v;
    }
    if (d.dimParam) return String(d.dimParam);
    return `unk${anonDim++}`;
  });
  return { dtype, shape };
}

const ATTR = onnx.AttributeProto.AttributeType;

function parseAttributes(
  list: onnxproto.onnx.IAttributeProto[],
  ctx: ErrorContext,
  limits: Limits,
  external: ExternalReader | undefined,
  subgraph: (g: onnxproto.onnx.IGraphProto, attr: string) => Graph,
): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = Object.create(null);
  const dec = new TextDecoder();
  for (const a of list) {
    const name = a.name ?? '';
    if (!name) throw invalid('attribute without a name', ctx);
    if (Object.prototype.hasOwnProperty.call(out, name)) throw invalid(`attribute "${name}" is given twice`, ctx);
    let v: AttrValue;
    if (a.refAttrName) throw unsupported(`attribute "${name}" refers to a function attribute`, ctx);
    switch (a.type) {
      case ATTR.FLOAT: v = a.f ?? 0; break;
      case ATTR.INT: v = toNum(a.i ?? 0); break;
      case ATTR.STRING: v = dec.decode(a.s ?? new Uint8Array()); break;
      case ATTR.TENSOR:
        if (!a.t) throw invalid(`attribute "${name}" has no tensor`, ctx);
        v = tensorFromProto(a.t, { limits, ...(external ? { external } : {}), ctx: { ...ctx, tensor: name } });
        break;
      case ATTR.FLOATS: v = [...(a.floats ?? [])]; break;
      case ATTR.INTS: v = (a.ints ?? []).map(toNum); break;
      case ATTR.STRINGS: v = (a.strings ?? []).map((s) => dec.decode(s)); break;
      case ATTR.GRAPH:
        if (!a.g) throw invalid(`attribute "${name}" has no graph`, ctx);
        v = subgraph(a.g, name);
        break;
      case ATTR.GRAPHS:
        v = (a.graphs ?? []).map((x) => subgraph(x, name));
        break;
      case ATTR.TYPE_PROTO: {
        if (!a.tp) throw invalid(`attribute "${name}" has no type`, ctx);
        const t = typeFromTypeProto(a.tp, ctx, limits);
        if (t.kind !== undefined && t.kind !== 'sequence') throw unsupported(`attribute "${name}" names an optional type`, ctx);
        v = new TypeAttr(t);
        break;
      }
      case ATTR.SPARSE_TENSOR: case ATTR.SPARSE_TENSORS:
        throw unsupported(`attribute "${name}" holds a sparse tensor`, ctx);
      case ATTR.TENSORS:
        throw unsupported(`attribute "${name}" holds a list of tensors`, ctx);
      default:
        // Old exporters leave `type` unset: infer from which field is filled.
        if (a.ints && a.ints.length) v = a.ints.map(toNum);
        else if (a.floats && a.floats.length) v = [...a.floats];
        else if (a.strings && a.strings.length) v = a.strings.map((s) => dec.decode(s));
        else if (a.t) v = tensorFromProto(a.t, { limits, ctx: { ...ctx, tensor: name } });
        else if (a.s && a.s.length) v = dec.decode(a.s);
        else if (a.f) v = a.f;
        else if (a.g) v = subgraph(a.g, name);
        else if (a.i !== undefined && a.i !== null) v = toNum(a.i);
        else throw invalid(`attribute "${name}" has unknown type ${a.type}`, ctx);
    }
    out[name] = v;
  }
  return out;
}

/** The tensor a Constant node produces. */
function constantValue(attrs: Record<string, AttrValue>, ctx: ErrorContext): Tensor {
  const keys = Object.keys(attrs);
  if (keys.length !== 1) throw invalid(`Constant must have exactly one value attribute, got ${keys.length}`, ctx);
  const k = keys[0]!;
  const v = attrs[k]!;
  switch (k) {
    case 'value': if (v instanceof Tensor) return v; break;
    case 'value_float': if (typeof v === 'number') return Tensor.from('f32', [], [v]); break;
    case 'value_floats': if (Array.isArray(v)) return Tensor.from('f32', [v.length], v as number[]); break;
    case 'value_int': if (typeof v === 'number') return Tensor.from('i64', [], [BigInt(v)]); break;
    case 'value_ints': if (Array.isArray(v)) return Tensor.from('i64', [v.length], (v as number[]).map((x) => BigInt(x))); break;
    case 'value_string': if (typeof v === 'string') return new Tensor('string', [], [v]); break;
    case 'value_strings': if (Array.isArray(v)) return new Tensor('string', [v.length], [...(v as string[])]); break;
    case 'sparse_value': throw unsupported('sparse Constant values are not supported', ctx);
    default: throw invalid(`Constant has unknown attribute "${k}"`, ctx);
  }
  throw invalid(`Constant attribute "${k}" has the wrong type`, ctx);
}

/**
 * External data reader confined to `baseDir`: rejects absolute paths, drive letters, URLs, `..`
 * escapes, symlinks and hardlinks, and offset/length outside the file.
 */
export function confinedReader(baseDir: string, fctx: ErrorContext): ExternalReader {
  const realBase = fs.realpathSync(baseDir);
  return (location, offset, length, ctx) => {
    const c = { ...fctx, ...ctx };
    if (location.includes('\0')) throw security('external data location contains a NUL byte', c);
    if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(location)) throw security(`external data location "${location}" is a URL or drive path`, c);
    if (path.isAbsolute(location) || location.startsWith('\\') || location.startsWith('/')) {
      throw security(`external data location "${location}" is absolute; it must be relative to the model folder`, c);
    }
    const parts = location.split(/[\\/]+/);
    if (parts.includes('..')) throw security(`external data location "${location}" escapes the model folder`, c);
    const full = path.resolve(realBase, location);
    if (!full.startsWith(realBase + path.sep)) throw security(`external data location "${location}" escapes the model folder`, c);
    // Walk each component: no symlinks anywhere below the base.
    let cur = realBase;
    for (const p of parts.filter((x) => x && x !== '.')) {
      cur = path.join(cur, p);
      let st: fs.Stats;
      try {
        st = fs.lstatSync(cur);
      } catch {
        throw invalid(`external data file "${location}" does not exist`, c);
      }
      if (st.isSymbolicLink()) throw security(`external data location "${location}" goes through a symbolic link`, c);
    }
    const st = fs.statSync(full);
    if (!st.isFile()) throw invalid(`external data location "${location}" is not a regular file`, c);
    if (st.nlink > 1) throw security(`external data file "${location}" is a hard link`, c);
    const len = length ?? st.size - offset;
    if (offset > st.size || len < 0 || offset + len > st.size) {
      throw invalid(`external data range [${offset}, ${offset + len}) is outside "${location}" (${st.size} bytes)`, c);
    }
    const fd = fs.openSync(full, 'r');
    try {
      const buf = new Uint8Array(len);
      let got = 0;
      while (got < len) {
        const r = fs.readSync(fd, buf, got, len - got, offset + got);
        if (r <= 0) break;
        got += r;
      }
      if (got !== len) throw invalid(`external data file "${location}" is shorter than expected`, c);
      return buf;
    } finally {
      fs.closeSync(fd);
    }
  };
}
