/**
 * Dynamic-shape wasm artifacts: a graph whose input dims stay symbolic, compiled once for every
 * input shape up to a bound (`edgec compile --max-input-shape x=1x3x640x640`). The artifact holds
 * model.wasm (every kernel, a step-table runner, growable memory sized for the bound), the graph
 * (model.graph.json + model.weights.bin), relower.mjs (edgec's lowering bundled, see relower.ts) and
 * model.mjs (runtime/model-dynamic.mjs with the model's spec injected). Each call with new input
 * shapes is planned by the same lowering a static compile uses, so results equal a static compile
 * at those shapes.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { Graph, hasSubgraph, subgraphsOf } from '../../../compiler/ir/graph.js';
import { hasNonTensorValues } from '../../common/sequences.js';
import { unsupported } from '../../../compiler/errors.js';
import { Artifact, ArtifactManifest, IoSpec } from '../../target.js';
import { buildDynamicModule } from '../module.js';
import { ALIAS_OPS, LOWERINGS, lowerGraph, qualified } from '../lower.js';
import { graphToJson } from './graph-json.js';
import { injectSpec, packageFile } from '../../common/runtime-file.js';
import { HOST_EDGEC_OPS, HOST_OPS, Plan, SHAPE_PARAMS, bindShapes, blocks, layoutPlan } from './relower.js';


const sha256 = (d: Uint8Array | string): string => createHash('sha256').update(d).digest('hex');

/**
 * True when every value of the graph has a concrete shape: a static artifact. Otherwise (symbolic
 * input dims, or sizes that depend on values: NonZero, a Reshape to a computed shape...) the graph
 * compiles to a dynamic-shape artifact.
 */
export function isStaticGraph(g: Graph): boolean {
  return [...g.values.values()].every((v) => v.type.shape.every((d) => typeof d === 'number'))
    && g.orderedNodes().every((n) => blocks(g, n, g.consts) === undefined);
}

/** Options of a dynamic-shape compile. */
export interface DynamicOptions {
  /** Largest shape per input name; required for every input with a symbolic dim. */
  maxInputShapes: Record<string, number[]>;
  /** Manifest fields the static emitter computes (version, precision). */
  manifest: Pick<ArtifactManifest, 'edgec' | 'precision'>;
  /** MACs and parameters of a graph with concrete shapes (emit.ts graphStats), taken at the bound. */
  stats?: (g: Graph) => { macs: number; params: number };
  /** Wasm SIMD in the kernels (default true); false: the scalar kernel library. */
  simd?: boolean;
}

/**
 * Emits a dynamic-shape wasm artifact.
 * @param g optimized graph whose inputs may have symbolic dims
 * @param opts bounds and manifest fields
 */
export function emitWasmDynamic(g: Graph, opts: DynamicOptions): Artifact & { stats: { codeBytes: number; wasmBytes: number; steps: number; layers: string[] } } {
  if (hasNonTensorValues(g)) return emitStructured(g, opts);
  const bound: Record<string, number[]> = {};
  for (const id of g.inputs) {
    const v = g.value(id);
    const max = opts.maxInputShapes[v.name];
    const sym = v.type.shape.filter((d) => typeof d === 'string');
    if (!max) {
      if (sym.length > 0) {
        throw unsupported(`input "${v.name}" has symbolic dim${sym.length > 1 ? 's' : ''} ${sym.map((d) => `"${d}"`).join(', ')}: give a shape with `
          + `--input-shape ${v.name}=DIMS or compile for a range with --max-input-shape ${v.name}=DIMS`, { tensor: v.name });
      }
      bound[v.name] = v.type.shape as number[];
    } else bound[v.name] = max;
  }
  // lower once at the bound: every op must lower, and it sizes the module's memory
  const gBound = bindShapes(g, bound, { max: bound }, false);
  const order = gBound.orderedNodes();
  const firstHost = order.findIndex((n) => blocks(gBound, n, gBound.consts) !== undefined);
  if (firstHost >= 0) {
    // sizes after `firstHost` depend on values: check that every node has a wasm lowering or runs
    // on the host (value-dependent sizes); the plan at run time sizes memory
    for (const n of order.slice(firstHost)) {
      const key = qualified(n);
      const host = blocks(gBound, n, gBound.consts) === 'host';
      // If/Loop/Scan run in wasm only with static shapes (their bodies are inlined into the steps)
      if (host && hasSubgraph(n)) throw unsupported(`${n.op} whose output shapes depend on data (a Loop's early exit, a runtime trip count, symbolic input dims) does not run on the wasm target: give static input shapes and a constant trip count`, { node: n.name, op: n.op });
      // ops with shape parameters fold once those are known (ConstantOfShape, Range...); Shape
      // folds once its input's shape is (every shape of a run-time segment is concrete: foldNode)
      if (!host && !LOWERINGS[key] && !ALIAS_OPS.has(n.op) && !SHAPE_PARAMS[n.op] && key !== 'Shape') throw unsupported(`no wasm lowering for op ${key}`, { node: n.name, op: n.op });
    }
    for (const n of order.slice(firstHost)) gBound.removeNode(n.id);
    gBound.outputs = [];
    gBound.removeUnusedValues();
  }
  const lowBound = lowerGraph(gBound);
  let atBound: Plan | undefined;
  const { wasm, dynBase } = buildDynamicModule((base) => {
    atBound = layoutPlan(lowBound, base);
    return Math.ceil(atBound.end / 65536);
  }, opts.simd ?? true);
  const pages = Math.ceil(atBound!.end / 65536);
  const { json, weights } = graphToJson(g);
  const inputs: IoSpec[] = g.inputs.map((id) => {
    const v = g.value(id);
    return { name: v.name, shape: [...v.type.shape], dtype: v.type.dtype, max_shape: bound[v.name]! };
  });
  const outputs: IoSpec[] = g.outputs.map((id) => {
    const v = g.value(id);
    const b = atBound!.outputs.find((o) => o.name === v.name);
    return { name: v.name, shape: [...v.type.shape], dtype: v.type.dtype, ...(b ? { max_shape: b.shape } : {}) };
  });
  const spec = {
    edgec: opts.manifest.edgec,
    inputs: inputs.map((x) => ({ name: x.name, shape: x.shape, dtype: x.dtype, max: x.max_shape })),
    outputs: outputs.map((x) => ({ name: x.name, shape: x.shape, dtype: x.dtype })),
    dynBase,
  };
  const mjs = injectSpec('targets/wasm/runtime/model-dynamic.mjs', "/*EDGEC_SPEC*/ ({ edgec: '', inputs: [], outputs: [], dynBase: 0 })", spec);
  const relower = fs.readFileSync(packageFile('runtime-wasm/build/relower.mjs'), 'utf8');
  const files = new Map<string, Uint8Array | string>([
    ['model.wasm', wasm], ['model.mjs', mjs], ['relower.mjs', relower], ['model.graph.json', JSON.stringify(json)],
    ['model.weights.bin', weights], ['model.d.ts', DTS],
  ]);
  const { macs, params } = opts.stats ? opts.stats(gBound) : { macs: 0, params: 0 };
  const manifest: ArtifactManifest = {
    ...opts.manifest,
    macs,
    params,
    target: 'wasm',
    dynamic: true,
    max_input_shapes: Object.fromEntries(inputs.map((x) => [x.name, x.max_shape!])),
    inputs,
    outputs,
    weights_bytes: weights.length,
    arena_bytes: atBound!.end - dynBase,
    memory_pages: pages,
    wasm_simd: opts.simd ?? true,
    files: Object.fromEntries([...files].map(([k, v]) => [k, sha256(v)])),
  };
  return { files, manifest, stats: { codeBytes: wasm.length, wasmBytes: wasm.length, steps: lowBound.steps.length, layers: lowBound.layers.map((n) => n.name) } };
}

/** Ops that a structured graph's planning resolves or turns into others (targets/common/sequences.ts). */
const PLANNED_OPS = new Set(['SequenceEmpty', 'SequenceConstruct', 'SequenceAt', 'SequenceInsert', 'SequenceErase', 'SequenceLength',
  'SplitToSequence', 'ConcatFromSequence', 'SequenceMap', 'Optional', 'OptionalHasElement', 'OptionalGetElement', 'Identity', 'If', 'Loop', 'Scan']);

/** Throws 'unsupported' naming the first node of `g` (or its bodies) that neither lowers nor is planned per call. */
function checkLowerable(g: Graph): void {
  for (const n of g.orderedNodes()) {
    for (const b of subgraphsOf(n)) checkLowerable(b);
    const key = qualified(n);
    const std = n.domain === '' || n.domain === 'ai.onnx';
    if ((std && (PLANNED_OPS.has(n.op) || HOST_OPS.has(n.op))) || (n.domain === 'edgec' && HOST_EDGEC_OPS.has(n.op))) continue;
    if (!LOWERINGS[key] && !ALIAS_OPS.has(n.op) && !SHAPE_PARAMS[n.op] && key !== 'Shape') throw unsupported(`no wasm lowering for op ${key}`, { node: n.name, op: n.op });
  }
}

/**
 * A dynamic artifact for a graph with sequence / optional values whose structure is decided per
 * call (dynamic/sequences.ts): model.mjs flattens and plans the graph for each structure; memory
 * grows as plans need it.
 */
function emitStructured(g: Graph, opts: DynamicOptions): Artifact & { stats: { codeBytes: number; wasmBytes: number; steps: number; layers: string[] } } {
  checkLowerable(g);
  const { wasm, dynBase } = buildDynamicModule((base) => Math.ceil(base / 65536) + 1, opts.simd ?? true);
  const { json, weights } = graphToJson(g);
  const io = (id: number): IoSpec & { kind?: string } => {
    const v = g.value(id);
    const max = opts.maxInputShapes[v.name];
    return { name: v.name, shape: [...v.type.shape], dtype: v.type.dtype, ...(v.type.kind ? { kind: v.type.kind } : {}), ...(max ? { max_shape: max } : {}) };
  };
  const inputs = g.inputs.map(io);
  const outputs = g.outputs.map(io);
  const spec = {
    edgec: opts.manifest.edgec,
    inputs: inputs.map((x) => ({ name: x.name, shape: x.shape, dtype: x.dtype, ...(x.kind ? { kind: x.kind } : {}), max: x.max_shape ?? null })),
    outputs: outputs.map((x) => ({ name: x.name, shape: x.shape, dtype: x.dtype, ...(x.kind ? { kind: x.kind } : {}) })),
    dynBase,
  };
  const mjs = injectSpec('targets/wasm/runtime/model-dynamic.mjs', "/*EDGEC_SPEC*/ ({ edgec: '', inputs: [], outputs: [], dynBase: 0 })", spec);
  const relower = fs.readFileSync(packageFile('runtime-wasm/build/relower.mjs'), 'utf8');
  const files = new Map<string, Uint8Array | string>([
    ['model.wasm', wasm], ['model.mjs', mjs], ['relower.mjs', relower], ['model.graph.json', JSON.stringify(json)],
    ['model.weights.bin', weights], ['model.d.ts', DTS],
  ]);
  const manifest: ArtifactManifest = {
    ...opts.manifest,
    macs: 0,
    params: 0,
    target: 'wasm',
    dynamic: true,
    max_input_shapes: Object.fromEntries(inputs.filter((x) => x.max_shape).map((x) => [x.name, x.max_shape!])),
    inputs,
    outputs,
    weights_bytes: weights.length,
    arena_bytes: 0,
    memory_pages: Math.ceil(dynBase / 65536) + 1,
    wasm_simd: opts.simd ?? true,
    files: Object.fromEntries([...files].map(([k, v]) => [k, sha256(v)])),
  };
  return { files, manifest, stats: { codeBytes: wasm.length, wasmBytes: wasm.length, steps: 0, layers: [] } };
}

const DTS = `// Generated by edgec (wasm target, dynamic shapes).
/** kind: 'sequence' | 'optional' | 'optional-sequence' for sequence / optional values (absent: a tensor). */
export interface TensorSpec { name: string; shape: (number | string)[]; dtype: string; kind?: string; }
/** A typed array (for an input whose shape is fully known) or data with its shape. */
export type Feed = ArrayLike<number> | ArrayLike<bigint> | { data: ArrayLike<number> | ArrayLike<bigint>; shape: number[] };
/** A sequence: an array of { data, shape }; an empty optional: null. */
export type ValueFeed = Feed | { data: ArrayLike<number> | ArrayLike<bigint>; shape: number[] }[] | null;
export type Output = ArrayLike<number> | ArrayLike<bigint>;
export interface Model {
  readonly inputs: TensorSpec[];
  readonly outputs: TensorSpec[];
  /** Runs one inference on inputs of any shape within the compiled bound (synchronous). Sequence outputs are arrays, empty optionals null. */
  run(feeds: Record<string, ValueFeed>): Record<string, Output | Output[] | null>;
  /** Output shapes of the last run (a sequence: one shape per element; an empty optional: null). */
  outputShapes(): Record<string, number[] | number[][] | null>;
  /** The compiled bound: the largest shape of each input. */
  maxInputShapes(): Record<string, number[]>;
}
export interface CreateOptions {
  /** model.wasm bytes or a compiled module (default: load model.wasm next to model.mjs). */
  wasm?: BufferSource | WebAssembly.Module;
  /** model.graph.json and model.weights.bin bytes (default: load them next to model.mjs). */
  graph?: Uint8Array;
  weights?: Uint8Array;
}
export function create(options?: CreateOptions): Promise<Model>;
`;
