/**
 * Structure-aware mutations: decode a ModelProto / TensorProto, change one meaningful thing
 * (dims, dtypes, attribute kinds, hostile names, opsets, self-references, op types...), re-encode.
 */
import onnxproto from 'onnx-proto';
import { allOps } from '../../../compiler/ops/registry.js';
import '../../../compiler/ops/index.js';
import { Rng } from './rng.js';

const { onnx } = onnxproto;
type M = onnxproto.onnx.ModelProto;
type G = onnxproto.onnx.IGraphProto;
type T = onnxproto.onnx.ITensorProto;

const A = onnx.AttributeProto.AttributeType;

export const HOSTILE_NAMES = [
  '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '', ' ', '\u0000', '\u001b[31m',
  '../../etc/passwd', '<script>', '%0', '"', '\\', 'a'.repeat(5000), 'x', 'y', 'w', '\ud800',
];
/** Dims and ints worth trying: zero, negative, 2^31 and friends, beyond 2^53. */
export const INTERESTING_INTS = [
  0, 1, -1, 2, 3, -2, 7, 64, 255, 256, 65535, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), 2 ** 32, 2 ** 32 + 1, 2 ** 53, -(2 ** 53), 2 ** 62, -(2 ** 63),
];
const INTERESTING_FLOATS = [0, -0, 1, -1, 0.5, 1e-45, 3.4e38, 1e39, NaN, Infinity, -Infinity, 2 ** 31];
const ATTR_NAMES = [
  'axis', 'axes', 'pads', 'strides', 'kernel_shape', 'dilations', 'group', 'perm', 'to', 'keepdims', 'epsilon', 'alpha', 'beta',
  'transA', 'transB', 'mode', 'auto_pad', 'blocksize', 'k', 'split', 'num_outputs', 'value', 'ceil_mode', 'output_padding',
  'output_shape', 'coordinate_transformation_mode', 'equation', 'allowzero', 'noop_with_empty_axes', 'largest', 'sorted', 'size',
  'bias', 'min', 'max', 'activation', 'activation_params', 'saturate', 'block_size', 'direction', '__proto__',
];
/** ONNX elem types: valid ones, unsupported ones (string/complex/fp8/...), unknown numbers. */
const DTYPES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 99, -1, 2 ** 31 - 1];

let opNames: string[] | undefined;
function randomOp(r: Rng): { op: string; domain: string } {
  if (!opNames) opNames = allOps().map((d) => `${d.domain}::${d.name}`).sort();
  const [domain, op] = r.pick(opNames).split('::') as [string, string];
  return { op, domain };
}

function randomInt(r: Rng): number {
  return r.bool(0.6) ? r.pick(INTERESTING_INTS) : r.range(-4, 8);
}

function allGraphs(m: M): G[] {
  return m.graph ? [m.graph] : [];
}

/** Every tensor in the model: initializers and tensor attributes. */
function allTensors(g: G): T[] {
  const out: T[] = [...(g.initializer ?? [])];
  for (const nd of g.node ?? []) for (const a of nd.attribute ?? []) if (a.t) out.push(a.t);
  return out;
}

/** Every value name in the graph (inputs, outputs, initializers, node outputs). */
function valueNames(g: G): string[] {
  const s = new Set<string>();
  for (const v of [...(g.input ?? []), ...(g.output ?? [])]) if (v.name) s.add(v.name);
  for (const t of g.initializer ?? []) if (t.name) s.add(t.name);
  for (const nd of g.node ?? []) for (const o of [...(nd.output ?? []), ...(nd.input ?? [])]) if (o) s.add(o);
  return [...s];
}

function mutateTensor(t: T, r: Rng): void {
  switch (r.int(9)) {
    case 0: t.dims = (t.dims ?? []).map((d) => (r.bool(0.5) ? randomInt(r) : d)); if (!t.dims.length) t.dims = [randomInt(r)]; break;
    case 1: t.dims = [2 ** 31, 2 ** 31]; break;
    case 2: t.dataType = r.pick(DTYPES); break;
    case 3: if (t.rawData && t.rawData.length) t.rawData = t.rawData.slice(0, r.int(t.rawData.length)); else t.rawData = new Uint8Array(r.int(9)); break;
    case 4: { // move the payload into float_data / int32_data / int64_data with a random count
      const k = r.int(6);
      t.rawData = new Uint8Array(0);
      const vals = Array.from({ length: k }, () => r.pick(INTERESTING_FLOATS));
      const field = r.pick(['floatData', 'int32Data', 'int64Data', 'doubleData', 'uint64Data', 'stringData']);
      if (field === 'stringData') t.stringData = vals.map(() => new Uint8Array([0xff, 0x41]));
      else (t as Record<string, unknown>)[field] = field.includes('int') ? vals.map((v) => (Number.isFinite(v) ? Math.trunc(v) : -1)) : vals;
      break;
    }
    case 5: { // external data (no base dir -> must be refused), hostile locations
      t.dataLocation = 1;
      t.externalData = [
        { key: 'location', value: r.pick(['../x.bin', '/etc/passwd', 'C:\\w', 'http://x/w', 'w.bin', 'w.bin', 'link.bin', 'sub/v.bin', 'sub/../w.bin', './w.bin', 'w.bin/', 'sub', '', 'a\u0000b', '\\\\srv\\w']) },
        ...Array.from({ length: r.int(3) }, () => ({ key: r.pick(['offset', 'length', '__proto__', 'checksum']), value: r.pick(['0', '4', '8', '-1', '1e30', 'abc', '4294967296', '', '255', '256', '0x10']) })),
      ];
      break;
    }
    case 6: t.dims = [...(t.dims ?? []), ...Array.from({ length: r.pick([1, 17, 40]) }, () => 1)]; break;
    case 7: t.name = r.pick(HOSTILE_NAMES); break;
    case 8: { // NaN/Inf weights
      const raw = t.rawData && t.rawData.length >= 4 ? t.rawData.slice() : undefined;
      if (raw) {
        new DataView(raw.buffer).setFloat32(4 * r.int(raw.length >> 2), r.pick([NaN, Infinity, -Infinity]), true);
        t.rawData = raw;
      } else t.segment = { begin: 0, end: 1 };
      break;
    }
  }
}

type Mut = (m: M, g: G, r: Rng) => void;

const MUTATIONS: [string, Mut][] = [
  ['tensor', (_m, g, r) => { const ts = allTensors(g); if (ts.length) mutateTensor(r.pick(ts), r); }],
  ['dims', (_m, g, r) => {
    const vs = [...(g.input ?? []), ...(g.output ?? []), ...(g.valueInfo ?? [])];
    if (!vs.length) return;
    const v = r.pick(vs);
    const tt = v.type?.tensorType;
    if (!tt) return;
    const dims = tt.shape?.dim ?? [];
    switch (r.int(6)) {
      case 0: if (dims.length) r.pick(dims).dimValue = randomInt(r); break;
      case 1: tt.shape = { dim: [{ dimValue: 2 ** 31 }, { dimValue: 2 ** 31 }] }; break;
      case 2: if (dims.length) { const d = r.pick(dims); d.dimParam = r.pick(HOSTILE_NAMES); d.dimValue = null as unknown as undefined; } break;
      case 3: tt.shape = { dim: Array.from({ length: r.pick([0, 1, 5, 17, 65]) }, () => ({ dimValue: 1 })) }; break;
      case 4: tt.elemType = r.pick(DTYPES); break;
      case 5: v.type = r.pick([{}, { sequenceType: { elemType: v.type! } }, { mapType: { keyType: 7 } }, null]) as typeof v.type; break;
    }
  }],
  ['op', (_m, g, r) => {
    const ns = g.node ?? [];
    if (!ns.length) return;
    const nd = r.pick(ns);
    if (r.bool(0.8)) { const o = randomOp(r); nd.opType = o.op; nd.domain = o.domain; }
    else nd.opType = r.pick(['', 'Loop', 'If', 'NoSuchOp', '__proto__', 'constructor']);
  }],
  ['domain', (m, g, r) => {
    const ns = g.node ?? [];
    if (ns.length) r.pick(ns).domain = r.pick(['', 'ai.onnx', 'com.microsoft', 'edgec', 'ai.onnx.ml', 'foo', '__proto__']);
    if (r.bool(0.3)) m.opsetImport.push({ domain: r.pick(['edgec', 'com.microsoft', 'foo', '__proto__']), version: r.pick([1, 0, -1]) });
  }],
  ['opset', (m, _g, r) => {
    switch (r.int(5)) {
      case 0: m.opsetImport = []; break;
      case 1: m.opsetImport.push({ domain: '', version: 13 }); break;
      case 2: if (m.opsetImport[0]) m.opsetImport[0].version = r.pick([0, -1, 1, 6, 7, 9, 11, 12, 17, 21, 26, 1000, 2 ** 53]); break;
      case 3: m.irVersion = r.pick([0, 1, 2, 3, 99, -1]); break;
      case 4: if (m.opsetImport[0]) m.opsetImport[0].domain = r.pick(['ai.onnx', 'edgec', '', '__proto__']); break;
    }
  }],
  ['attr', (_m, g, r) => {
    const ns = g.node ?? [];
    if (!ns.length) return;
    const nd = r.pick(ns);
    nd.attribute = nd.attribute ?? [];
    const existing = nd.attribute;
    if (existing.length && r.bool(0.6)) {
      const a = r.pick(existing);
      switch (r.int(7)) {
        case 0: a.type = r.pick([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 99]) as onnxproto.onnx.AttributeProto.AttributeType; break;
        case 1: a.i = randomInt(r); break;
        case 2: a.ints = Array.from({ length: r.int(7) }, () => randomInt(r)); break;
        case 3: a.f = r.pick(INTERESTING_FLOATS); break;
        case 4: a.name = r.pick(HOSTILE_NAMES); break;
        case 5: a.s = r.pick([new Uint8Array([0xff, 0xfe]), new TextEncoder().encode(r.pick(['', 'SAME_UPPER', 'VALID', 'reflect', 'nearest', 'x']))]); break;
        case 6: existing.push({ ...a }); break; // duplicate attribute
      }
    } else {
      const name = r.pick(ATTR_NAMES);
      const kind = r.int(5);
      if (kind === 0) existing.push({ name, type: A.INT, i: randomInt(r) });
      else if (kind === 1) existing.push({ name, type: A.INTS, ints: Array.from({ length: r.int(9) }, () => randomInt(r)) });
      else if (kind === 2) existing.push({ name, type: A.FLOAT, f: r.pick(INTERESTING_FLOATS) });
      else if (kind === 3) existing.push({ name, type: A.STRING, s: new TextEncoder().encode(r.pick(['NOTSET', 'SAME_LOWER', 'constant', 'edge', 'cubic', 'Relu', 'i,i->', '...ij->ji'])) });
      else existing.push({ name, type: r.pick([A.TENSOR, A.GRAPH, A.TENSORS, A.SPARSE_TENSOR]), t: { dataType: 1, dims: [1], floatData: [r.pick(INTERESTING_FLOATS)] } });
    }
  }],
  ['wire', (_m, g, r) => { // rewire: self-reference, cycle, dangling, duplicate producer, empty, hostile
    const ns = g.node ?? [];
    if (!ns.length) return;
    const nd = r.pick(ns);
    const names = valueNames(g);
    nd.input = nd.input ?? [];
    nd.output = nd.output ?? [];
    switch (r.int(8)) {
      case 0: if (nd.output[0]) nd.input.push(nd.output[0]); break; // self-reference
      case 1: { const o = r.pick(ns); if (o.output?.[0] && nd.output[0] && o !== nd) { nd.input.push(o.output[0]); o.input = [...(o.input ?? []), nd.output[0]]; } break; } // cycle
      case 2: nd.input.push(r.pick(['nope', '', ...HOSTILE_NAMES])); break;
      case 3: nd.output.push(r.pick(names)); break; // duplicate producer
      case 4: if (nd.input.length) nd.input[r.int(nd.input.length)] = r.pick(names); break;
      case 5: nd.input = nd.input.slice(0, r.int(nd.input.length + 1)); break;
      case 6: nd.output = r.bool() ? [] : ['', ...nd.output]; break;
      case 7: nd.input = [...nd.input, ...Array.from({ length: r.small(6) }, () => r.pick(names))]; break;
    }
  }],
  ['names', (m, g, r) => { // rename a value everywhere to a hostile name, or rename one place only
    const names = valueNames(g);
    if (!names.length) return;
    const from = r.pick(names);
    const to = r.pick(HOSTILE_NAMES);
    const everywhere = r.bool(0.7);
    const ren = (s: string) => (s === from && (everywhere || r.bool(0.5)) ? to : s);
    for (const v of [...(g.input ?? []), ...(g.output ?? []), ...(g.valueInfo ?? [])]) v.name = ren(v.name ?? '');
    for (const t of g.initializer ?? []) t.name = ren(t.name ?? '');
    for (const nd of g.node ?? []) { nd.input = (nd.input ?? []).map(ren); nd.output = (nd.output ?? []).map(ren); if (r.bool(0.2)) nd.name = to; }
    if (r.bool(0.3)) m.metadataProps.push({ key: r.pick(HOSTILE_NAMES), value: r.pick(HOSTILE_NAMES) });
    if (r.bool(0.2)) g.name = to;
  }],
  ['nodes', (_m, g, r) => { // drop, duplicate, reorder, or add a random node
    const ns = (g.node = g.node ?? []);
    switch (r.int(4)) {
      case 0: if (ns.length) ns.splice(r.int(ns.length), 1); break;
      case 1: if (ns.length) ns.push(onnx.NodeProto.fromObject(onnx.NodeProto.toObject(r.pick(ns) as onnxproto.onnx.NodeProto))); break;
      case 2: ns.reverse(); break;
      case 3: {
        const names = valueNames(g);
        const o = randomOp(r);
        const out = `fz${r.int(1000)}`;
        ns.push({ opType: o.op, domain: o.domain, input: Array.from({ length: r.range(1, 3) }, () => r.pick(names)), output: [out], name: 'fz' });
        if (r.bool(0.7)) g.output = [...(g.output ?? []), { name: out }];
        break;
      }
    }
  }],
  ['io', (_m, g, r) => {
    switch (r.int(5)) {
      case 0: g.output = []; break;
      case 1: g.input = []; break;
      case 2: g.input = [...(g.input ?? []), ...(g.input ?? []).slice(0, 1)]; break;
      case 3: g.initializer = [...(g.initializer ?? []), ...(g.initializer ?? []).slice(0, 1)]; break;
      case 4: g.output = [...(g.output ?? []), { name: r.pick(valueNames(g).concat(['nope'])) }]; break;
    }
  }],
];

/** Decodes, applies 1..4 structural mutations, re-encodes. Returns undefined when `b` is not a decodable model. */
export function mutateModel(b: Uint8Array, r: Rng): Uint8Array | undefined {
  let m: M;
  try {
    m = onnx.ModelProto.decode(b);
  } catch {
    return undefined;
  }
  if (!m.graph) m.graph = onnx.GraphProto.create();
  const k = r.small(4);
  for (let i = 0; i < k; i++) {
    const [, f] = r.pick(MUTATIONS);
    for (const g of allGraphs(m)) f(m, g, r);
  }
  try {
    return onnx.ModelProto.encode(m).finish();
  } catch {
    // a mutation produced something protobufjs cannot encode (e.g. a bad Long): fall back to fromObject
    try {
      return onnx.ModelProto.encode(onnx.ModelProto.fromObject(onnx.ModelProto.toObject(m))).finish();
    } catch {
      return undefined;
    }
  }
}

/** Same idea for a bare TensorProto (.pb data file). */
export function mutateTensorProto(b: Uint8Array, r: Rng): Uint8Array | undefined {
  let t: onnxproto.onnx.TensorProto;
  try {
    t = onnx.TensorProto.decode(b);
  } catch {
    return undefined;
  }
  const k = r.small(3);
  for (let i = 0; i < k; i++) mutateTensor(t, r);
  try {
    return onnx.TensorProto.encode(t).finish();
  } catch {
    return undefined;
  }
}

/**
 * A fresh model with one to three random registered ops wired to plausible inputs (f32 images,
 * matrices, vectors, scalars; small i64 index/shape tensors; int8/uint8 tensors) and random
 * attributes. Most of these import, so the ops' infer/ref code sees fuzzed shapes and attributes.
 */
export function randomOpModel(r: Rng): Uint8Array {
  const opset = r.pick([7, 9, 11, 12, 13, 13, 17, 18, 19, 21]);
  const inputs: onnxproto.onnx.IValueInfoProto[] = [];
  const inits: T[] = [];
  const pool: string[] = [];
  const shapes = [[1, 2, 4, 4], [2, 3], [4], [], [1, 3, 5], [2, 1, 3], [1, 1, 2, 2, 2], [0, 3], [3, 1]];
  const nIn = r.range(1, 3);
  for (let i = 0; i < nIn; i++) {
    const name = `x${i}`;
    const dims = r.pick(shapes);
    inputs.push({ name, type: { tensorType: { elemType: r.pick([1, 1, 1, 7, 3, 2, 6, 9, 10]), shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
    pool.push(name);
  }
  const nInit = r.range(0, 3);
  for (let i = 0; i < nInit; i++) {
    const name = `c${i}`;
    const kind = r.int(4);
    if (kind === 0) {
      const vals = Array.from({ length: r.range(0, 5) }, () => r.pick([0, 1, 2, -1, 3, 4, -2, 2 ** 31, -(2 ** 40), 9]));
      inits.push({ name, dataType: 7, dims: r.bool(0.2) && vals.length === 1 ? [] : [vals.length], int64Data: vals });
    } else if (kind === 1) {
      const dims = r.pick(shapes);
      const n = dims.reduce((p, d) => p * d, 1);
      inits.push({ name, dataType: 1, dims, floatData: Array.from({ length: n }, () => r.pick([0, 1, -1, 0.5, 2, 1e-3])) });
    } else if (kind === 2) {
      inits.push({ name, dataType: r.pick([2, 3]), dims: [], int32Data: [r.pick([0, 1, 127, 255, -128])] });
    } else {
      inits.push({ name, dataType: 1, dims: [], floatData: [r.pick([0, 0.1, 1, -1, 1e-30])] });
    }
    pool.push(name);
  }
  const nodes: onnxproto.onnx.INodeProto[] = [];
  const nNodes = r.range(1, 3);
  const domains = new Set<string>();
  let last = '';
  for (let k = 0; k < nNodes; k++) {
    const o = randomOp(r);
    if (o.domain) domains.add(o.domain);
    const def = allOps().find((d) => d.name === o.op && d.domain === o.domain);
    const [lo, hi] = def ? def.arity : [1, 2];
    const cnt = Math.min(r.range(lo, Math.min(hi, lo + 2)), 6);
    const ins = Array.from({ length: cnt }, (_, i) => (i === 0 && last && r.bool(0.7) ? last : r.bool(0.05) ? '' : r.pick(pool)));
    const outs = Array.from({ length: r.bool(0.8) ? 1 : r.range(2, 3) }, (_, i) => `n${k}_${i}`);
    const attrs: onnxproto.onnx.IAttributeProto[] = [];
    const na = r.range(0, 3);
    for (let a = 0; a < na; a++) {
      const name = r.pick(ATTR_NAMES.slice(0, -1));
      if (attrs.some((x) => x.name === name)) continue;
      const kind = r.int(4);
      if (kind === 0) attrs.push({ name, type: A.INT, i: r.pick([0, 1, 2, -1, 3, 1, 1, 0, -3, 7]) });
      else if (kind === 1) attrs.push({ name, type: A.INTS, ints: Array.from({ length: r.range(0, 6) }, () => r.pick([0, 1, 2, -1, 3, 1, 1])) });
      else if (kind === 2) attrs.push({ name, type: A.FLOAT, f: r.pick([0, 1, 0.5, -1, 1e-5, NaN]) });
      else attrs.push({ name, type: A.STRING, s: new TextEncoder().encode(r.pick(['NOTSET', 'SAME_UPPER', 'VALID', 'constant', 'reflect', 'edge', 'linear', 'nearest', 'DCR', 'CRD', 'ij->ji', 'i,i->', 'Relu', 'half_pixel'])) });
    }
    nodes.push({ opType: o.op, domain: o.domain, input: ins, output: outs, attribute: attrs, name: `n${k}` });
    pool.push(...outs);
    last = outs[0]!;
  }
  const m: onnxproto.onnx.IModelProto = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: opset }, ...[...domains].map((d) => ({ domain: d, version: 1 }))],
    graph: { name: 'rand', input: inputs, initializer: inits, node: nodes, output: [{ name: last }] },
  };
  return onnx.ModelProto.encode(onnx.ModelProto.fromObject(m as Record<string, unknown>)).finish();
}

function varintBytes(n: number): number[] {
  const out: number[] = [];
  while (n > 127) { out.push((n & 127) | 128); n = Math.floor(n / 128); }
  out.push(n);
  return out;
}

/**
 * ModelProto whose graph nests node -> attribute(g) -> graph -> node ... `depth` times (deep
 * message nesting must give a clean error, not `RangeError: Maximum call stack`). Built in
 * linear time: body sizes are computed inside-out, then the bytes are written outside-in.
 */
export function nestedModel(depth: number): Uint8Array {
  // Fields from the inside out: AttributeProto.g (6), NodeProto.attribute (5), GraphProto.node (1).
  const fields: number[] = [];
  for (let i = 0; i < depth; i++) fields.push(6, 5, 1);
  fields.push(7); // ModelProto.graph
  const sizes: number[] = []; // body size of each field
  let inner = 0;
  for (const _f of fields) {
    sizes.push(inner);
    inner = 1 + varintBytes(inner).length + inner;
  }
  const opset = [0x42, 0x02, 0x10, 0x0d]; // opset_import { version: 13 }
  const out = new Uint8Array(opset.length + inner);
  out.set(opset);
  let o = opset.length;
  for (let k = fields.length - 1; k >= 0; k--) {
    out[o++] = fields[k]! * 8 + 2;
    for (const b of varintBytes(sizes[k]!)) out[o++] = b;
  }
  return out;
}
