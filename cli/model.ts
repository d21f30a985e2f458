/**
 * Loading what the user names on the command line: an .onnx model, a TF.js model.json, or an
 * artifact folder (whose transformed graph `model.onnx` the reference interpreter runs).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Graph } from '../compiler/ir/graph.js';
import { EdgecError, Limits, invalid, usage } from '../compiler/errors.js';
import { loadOnnxFile } from '../compiler/frontends/onnx/import.js';
import { detectModelFormat, loadModelFile } from '../compiler/frontends/index.js';
import { inferCtxOf, inferShapes } from '../compiler/interp/interp.js';
import { getOp, parseAttrs, opsetOf } from '../compiler/ops/registry.js';
import { isFloat } from '../compiler/ir/dtype.js';
import { Shape, Tensor } from '../compiler/ir/tensor.js';
import { ShapeSources, resolveInputShapes } from './input-shapes.js';
import { Bindings, applyBindings } from './bind.js';
import { lowerQdq } from '../quantize/index.js';

/** A loaded model or artifact. */
export interface Loaded {
  graph: Graph;
  /** The model file read (for artifacts: DIR/model.onnx). */
  file: string;
  /** Artifact folder and its manifest, when an artifact was given. */
  artifactDir?: string;
  manifest?: Record<string, unknown>;
}

/** Import options the CLI passes to frontends. */
export interface LoadOptions {
  limits: Limits;
  /** `--input-shape` values: input name -> dims. */
  inputShapes?: Record<string, number[]>;
  /**
   * Data tensors in graph-input order (`run --inputs`, `eval --data`): their shapes size the
   * symbolic dims that --input-shape leaves open (cli/input-shapes.ts).
   */
  data?: readonly (Tensor | undefined)[];
  /** Inputs whose symbolic dims stay symbolic (`--max-input-shape`). */
  keepSymbolic?: ReadonlySet<string>;
  /** `--bind` values: inputs fixed to constants (cli/bind.ts; model files only). */
  bind?: Bindings;
}

/**
 * Loads MODEL or ARTIFACT_DIR, with every input's shape resolved by cli/input-shapes.ts
 * (--input-shape, then the data files, then a symbolic batch dim -> 1; another symbolic dim left
 * open is an 'unsupported' error naming it).
 * @param p path given by the user
 * @param opts limits, input shapes, data tensors
 */
export function loadModel(p: string, opts: LoadOptions): Loaded {
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch {
    throw invalid('cannot read model: no such file or folder', { file: p, hint: 'check the path' });
  }
  if (st.isDirectory() && !fs.existsSync(path.join(p, 'manifest.json')) && fs.existsSync(path.join(p, 'model.json'))) {
    // A TF.js model folder (model.json + weight shards).
    const file = path.join(p, 'model.json');
    return { graph: loadTfjsResolved(p, file, opts), file };
  }
  if (st.isDirectory()) {
    const mf = path.join(p, 'manifest.json');
    let manifest: Record<string, unknown>;
    try {
      const text = fs.readFileSync(mf, 'utf8');
      if (text.length > opts.limits.maxJsonBytes) throw invalid('manifest.json is too large', { file: mf });
      manifest = JSON.parse(text) as Record<string, unknown>;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        const onnx = path.join(p, 'model.onnx');
        if (fs.existsSync(onnx)) {
          throw invalid(`folder is not an edgec artifact (no manifest.json); did you mean ${onnx}?`, { file: p });
        }
        throw invalid('folder is not an edgec artifact (no manifest.json)', { file: p, hint: 'give an .onnx model or a folder written by `edgec compile`' });
      }
      if (e instanceof SyntaxError) throw invalid(`artifact manifest.json is not valid JSON`, { file: mf });
      throw e;
    }
    if (!manifest || typeof manifest !== 'object' || !Object.prototype.hasOwnProperty.call(manifest, 'edgec')) {
      throw invalid('folder is not an edgec artifact (manifest.json has no "edgec" key)', { file: p });
    }
    if (opts.bind && Object.keys(opts.bind).length > 0) {
      throw usage('--bind applies to a model file; an artifact\'s inputs are fixed when it is compiled', { file: p, hint: 'compile the model with --bind' });
    }
    const gf = path.join(p, 'model.onnx');
    if (!fs.existsSync(gf)) throw invalid('artifact has no model.onnx (the transformed graph)', { file: p });
    let graph = loadOnnxResolved(gf, opts);
    // An int8 artifact stores its model as standard-ONNX QDQ; the reference interpreter runs the
    // integer graph lowered from it (the same edgec.Q* graph the targets compiled, bit for bit).
    if (manifest['precision'] === 'int8') graph = lowerQdq(graph).graph;
    return { graph, file: gf, artifactDir: p, manifest };
  }
  // .onnx -> ONNX importer; model.json -> TF.js graph/layers model; .tflite -> TFLite importer
  // (loaded like a TF.js model: by loadModelFile, with its input shapes resolved); others are sniffed.
  const graph = detectModelFormat(p) === 'onnx' ? loadOnnxResolved(p, opts) : loadTfjsResolved(p, p, opts);
  return { graph, file: p };
}

/** Shape sources of cli/input-shapes.ts from load options. */
function sourcesOf(opts: LoadOptions, file: string): ShapeSources {
  return {
    file,
    ...(opts.inputShapes ? { given: opts.inputShapes } : {}),
    ...(opts.data ? { data: opts.data.map((t) => t?.shape) } : {}),
    ...(opts.keepSymbolic ? { keepSymbolic: opts.keepSymbolic } : {}),
  };
}

/**
 * An ONNX file with its input shapes resolved: imported once with symbolic dims kept and no
 * inference, then the resolved input types are set and shapes inferred (what the importer does).
 */
function loadOnnxResolved(file: string, opts: LoadOptions): Graph {
  const g = loadOnnxFile(file, { limits: opts.limits, symbolicToOne: false, infer: false });
  applyBindings(g, opts.bind, file);
  const shapes = resolveInputShapes(g.inputs.map((id) => ({ name: g.value(id).name, shape: g.typeOf(id).shape })), sourcesOf(opts, file));
  for (const id of g.inputs) {
    const v = g.value(id);
    v.type = { ...v.type, shape: shapes.get(v.name)! };
  }
  try {
    inferShapes(g);
  } catch (e) {
    if (e instanceof EdgecError) throw e.withContext({ file });
    throw e;
  }
  return g;
}

/**
 * A TF.js model with its input shapes resolved: read with symbolic dims kept to learn them, and
 * read again with the resolved shapes when they differ from the declared ones.
 */
function loadTfjsResolved(p: string, file: string, opts: LoadOptions): Graph {
  const g0 = loadModelFile(p, { limits: opts.limits, symbolicToOne: false });
  const g = withBindings(g0, opts, file);
  const declared = g.inputs.map((id) => ({ name: g.value(id).name, shape: g.typeOf(id).shape }));
  const shapes = resolveInputShapes(declared, sourcesOf(opts, file));
  const same = declared.every((d) => {
    const s = shapes.get(d.name)!;
    return s.length === d.shape.length && s.every((x, k) => x === d.shape[k]);
  });
  if (same) return g;
  const fixed: Record<string, number[]> = Object.create(null);
  for (const d of declared) {
    const s = shapes.get(d.name)!;
    if (s.every((x) => typeof x === 'number')) fixed[d.name] = s as number[];
  }
  return withBindings(loadModelFile(p, { limits: opts.limits, inputShapes: fixed, symbolicToOne: false }), opts, file);
}

/** `g` with the --bind inputs fixed to constants and shapes re-inferred (TF.js models). */
function withBindings(g: Graph, opts: LoadOptions, file: string): Graph {
  if (applyBindings(g, opts.bind, file).length > 0) inferShapes(g);
  return g;
}

/** One row of the inspect table. */
export interface NodeSummary {
  index: number;
  name: string;
  op: string;
  domain: string;
  inputs: string[];
  outputs: { name: string; shape: Shape; dtype: string }[];
  macs: number;
  params: number;
  weight_bytes: number;
}

/** What `edgec inspect --json` prints. */
export interface ModelSummary {
  name: string;
  opsets: Record<string, number>;
  inputs: { name: string; shape: Shape; dtype: string }[];
  outputs: { name: string; shape: Shape; dtype: string }[];
  ops: Record<string, number>;
  nodes: NodeSummary[];
  macs: number;
  params: number;
  weights_bytes: number;
  metadata: Record<string, string>;
}

/** True for constants that count as parameters (weights: float or quantized data, not shapes). */
function isParam(dtype: string): boolean {
  return isFloat(dtype as never) || dtype === 'i8' || dtype === 'u8' || dtype === 'i4' || dtype === 'u4';
}

/**
 * Ops histogram, per-node shapes, MACs (sum of each op's `cost().macs`), params and weight bytes.
 * @param g an imported graph (shapes inferred)
 */
export function summarize(g: Graph): ModelSummary {
  const io = (id: number) => {
    const v = g.value(id);
    return { name: v.name, shape: v.type.shape, dtype: v.type.dtype };
  };
  const ops: Record<string, number> = Object.create(null);
  const nodes: NodeSummary[] = [];
  let macs = 0;
  const counted = new Set<number>();
  g.orderedNodes().forEach((n, index) => {
    const key = n.domain ? `${n.domain}.${n.op}` : n.op;
    ops[key] = (ops[key] ?? 0) + 1;
    const def = getOp(n.domain, n.op);
    let m = 0;
    if (def?.cost) {
      const ctx = inferCtxOf(g, n);
      const a = parseAttrs(def, n, opsetOf(n, g));
      const outs = n.outputs.map((o) => g.typeOf(o));
      m = def.cost(ctx, a, outs).macs;
    }
    let params = 0;
    let wb = 0;
    for (const i of n.inputs) {
      if (i === null) continue;
      const t = g.consts.get(i);
      if (!t) continue;
      if (isParam(t.dtype)) params += t.size;
      wb += t.byteSize();
    }
    macs += m;
    nodes.push({
      index,
      name: n.name,
      op: n.op,
      domain: n.domain,
      inputs: n.inputs.map((i) => (i === null ? '' : g.value(i).name)),
      outputs: n.outputs.map(io),
      macs: m,
      params,
      weight_bytes: wb,
    });
    for (const i of n.inputs) if (i !== null) counted.add(i);
  });
  let params = 0;
  let weights = 0;
  for (const [id, t] of g.consts) {
    if (!counted.has(id) && !g.outputs.includes(id)) continue;
    if (isParam(t.dtype)) params += t.size;
    weights += t.byteSize();
  }
  const sortedOps: Record<string, number> = Object.create(null);
  for (const k of Object.keys(ops).sort()) sortedOps[k] = ops[k]!;
  return {
    name: g.name,
    opsets: { ...g.opsets },
    inputs: g.inputs.map(io),
    outputs: g.outputs.map(io),
    ops: sortedOps,
    nodes,
    macs,
    params,
    weights_bytes: weights,
    metadata: { ...g.meta },
  };
}
