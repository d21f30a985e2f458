/**
 * upgrade-opset (compiler/passes/upgrade-opset.ts): the ONNX version converter.
 *
 * Expected numbers come from ONNX's own backend test data (../shared/conformance/onnx-node), from
 * the reference interpreter running the graph at its original opset, and from onnxruntime-node
 * running the upgraded graph exported as standard ONNX (which also proves the upgraded nodes are
 * valid at the new opset: onnxruntime checks every node against its schema).
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { Attrs, Graph, Node, ValueId } from '../../compiler/ir/graph.js';
import { Tensor, TensorType } from '../../compiler/ir/tensor.js';
import { DType } from '../../compiler/ir/dtype.js';
import { verify } from '../../compiler/ir/verify.js';
import { inferShapes, runGraph } from '../../compiler/interp/interp.js';
import { loadOnnxFile } from '../../compiler/frontends/onnx/import.js';
import { exportOnnx } from '../../compiler/frontends/onnx/export.js';
import { EdgecError } from '../../compiler/errors.js';
import { MAX_UPGRADE_OPSET, upgradeOpset } from '../../compiler/passes/upgrade-opset.js';
import { compareTensors } from '../helpers/compare.js';
import { exclusions, listNodeTests, loadNodeCase, LoadedCase, NODE_TESTS_DIR } from '../onnx-node/cases.js';
import { randomInputs } from './helpers.js';
import { cli, rmTmp, tmpDir } from '../cli/helpers.js';
import { quantizeModel } from '../../quantize/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const MODELS = path.resolve(here, '../../../shared/models/onnx');
const TARGETS = [13, 18, 21];
const NODE_TOL = { rtol: 1e-3, atol: 1e-5 };

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const ORT_TYPE: Partial<Record<DType, string>> = {
  f32: 'float32', f64: 'float64', i8: 'int8', u8: 'uint8', i16: 'int16', u16: 'uint16', i32: 'int32', u32: 'uint32',
  i64: 'int64', u64: 'uint64', bool: 'bool',
};
const FROM_ORT: Record<string, DType> = Object.fromEntries(Object.entries(ORT_TYPE).map(([k, v]) => [v, k as DType]));

function toOrt(t: Tensor): ort.Tensor {
  const type = ORT_TYPE[t.dtype];
  if (!type) throw new Error(`no onnxruntime type for ${t.dtype}`);
  return new ort.Tensor(type as 'float32', t.data as Float32Array, [...t.shape]);
}

function fromOrt(t: ort.Tensor): Tensor {
  const dt = FROM_ORT[t.type];
  if (!dt) throw new Error(`unexpected onnxruntime type ${t.type}`);
  if (dt === 'bool') return new Tensor('bool', [...t.dims], Uint8Array.from(t.data as Uint8Array, (v) => (v ? 1 : 0)));
  return new Tensor(dt, [...t.dims], t.data as Float32Array);
}

/** Runs `g` exported as standard ONNX on onnxruntime-node. */
async function runOrt(g: Graph, inputs: Tensor[]): Promise<Tensor[]> {
  const sess = await ort.InferenceSession.create(exportOnnx(g));
  const feeds: Record<string, ort.Tensor> = {};
  sess.inputNames.forEach((name, i) => { feeds[name] = toOrt(inputs[i]!); });
  const res = await sess.run(feeds);
  return sess.outputNames.map((name) => fromOrt(res[name]!));
}

/** A copy of `g` upgraded to `target`, verified, at the new opset. */
function upgraded(g: Graph, target: number): Graph {
  const u = g.clone();
  upgradeOpset(u, target);
  verify(u);
  expect(u.opset).toBe(target);
  return u;
}

function expectOutputs(got: Tensor[], want: Tensor[], tol: { rtol: number; atol: number }, what: string): void {
  expect(got.length).toBeGreaterThanOrEqual(want.length);
  want.forEach((w, k) => expect(compareTensors(got[k]!, w, tol), `${what}: output ${k}`).toBeNull());
}

/** Opset of each conformance test (index.tsv column opset_import). */
function indexOpsets(): Map<string, number> {
  const m = new Map<string, number>();
  const idx = path.join(NODE_TESTS_DIR, 'index.tsv');
  if (!fs.existsSync(idx)) return m;
  for (const line of fs.readFileSync(idx, 'utf8').split('\n').slice(1).filter(Boolean)) {
    const cols = line.split('\t');
    const imp = (cols[3] ?? '').split(',').find((s) => s.startsWith('ai.onnx:'));
    if (imp) m.set(cols[0]!, Number(imp.slice('ai.onnx:'.length)));
  }
  return m;
}

const OPSETS = indexOpsets();
const CASES = new Map(listNodeTests().map((c) => [c.name, c]));
const EXCLUDED = exclusions(path.join(here, '../onnx-node/exclude'));

// ---------------------------------------------------------------------------------------------
// 1. ONNX backend tests whose model is older than opset 13, upgraded to 13, 18 and 21
// ---------------------------------------------------------------------------------------------

const OLD = [...CASES.values()].filter((c) => (OPSETS.get(c.name) ?? 99) < 13 && !EXCLUDED.has(c.name));

describe.skipIf(OLD.length === 0)('onnx node tests below opset 13, upgraded', () => {
  it('there are old-opset tests to convert', () => expect(OLD.length).toBeGreaterThan(20));
  for (const c of OLD) {
    it(c.name, () => {
      const { graph, inputs, outputs } = loadNodeCase(c);
      for (const t of TARGETS) {
        const u = upgraded(graph, t);
        expectOutputs(runGraph(u, inputs.slice(0, u.inputs.length)), outputs, NODE_TOL, `opset ${t}`);
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------
// 2. Newer ONNX backend tests rewritten into an older op form (attributes instead of inputs...),
//    then upgraded: the upgraded graph must reproduce ONNX's expected outputs
// ---------------------------------------------------------------------------------------------

/** Node input: a kept input position, a constant, or omitted. */
type LegacyInput = number | Tensor | null;
type LegacyFn = (attrs: Attrs, data: (Tensor | undefined)[]) => { attrs: Attrs; inputs: LegacyInput[]; op?: string };

/**
 * Loads a single-node backend test and rewrites its node into the old form `f` gives, at `opset`.
 * @param f maps the node's attributes and its input data to the old attributes and inputs
 */
function legacyCase(name: string, opset: number, f: LegacyFn): LoadedCase {
  const c = CASES.get(name);
  if (!c) throw new Error(`no backend test ${name}`);
  const lc = loadNodeCase(c);
  const g = lc.graph;
  expect(g.nodes.size).toBe(1);
  const n = g.orderedNodes()[0]!;
  const dataOf = new Map<ValueId, Tensor>(g.inputs.map((id, i) => [id, lc.inputs[i]!]));
  const data = n.inputs.map((id) => (id === null ? undefined : dataOf.get(id) ?? g.consts.get(id)));
  const r = f(n.attrs, data);
  n.attrs = r.attrs;
  if (r.op) n.op = r.op;
  const ins = r.inputs.map((x, k) => (x === null ? null : typeof x === 'number' ? n.inputs[x]! : g.addConst(`legacy${k}`, x).id));
  while (ins.length && ins[ins.length - 1] === null) ins.pop();
  n.inputs = ins;
  g.inputs = g.inputs.filter((id) => ins.includes(id));
  g.opsets[''] = opset;
  g.removeUnusedValues();
  inferShapes(g);
  return { graph: g, inputs: g.inputs.map((id) => dataOf.get(id)!), outputs: lc.outputs };
}

const ints = (t: Tensor | undefined): number[] => (t ? t.toNumbers() : []);
const without = (a: Attrs, ...k: string[]): Record<string, Attrs[string]> => {
  const o = { ...a };
  for (const x of k) delete o[x];
  return o;
};

// Slice-1: starts/ends/axes attributes (steps must be 1)
const sliceAttrs: LegacyFn = (a, d) => {
  if (d[4] && ints(d[4]).some((s) => s !== 1)) throw new Error('Slice-1 has no steps');
  const attrs: Record<string, Attrs[string]> = { ...a, starts: ints(d[1]), ends: ints(d[2]) };
  if (d[3]) attrs['axes'] = ints(d[3]);
  return { attrs, inputs: [0] };
};
// Pad-2: pads/value attributes (Pad-1 spells pads "paddings")
const padAttrs = (key: string): LegacyFn => (a, d) => ({ attrs: { ...a, [key]: ints(d[1]), ...(d[2] ? { value: d[2].get(0) } : {}) }, inputs: [0] });
// Clip-6: min/max attributes
const clipAttrs: LegacyFn = (a, d) => ({ attrs: { ...a, ...(d[1] ? { min: d[1].get(0) } : {}), ...(d[2] ? { max: d[2].get(0) } : {}) }, inputs: [0] });
// TopK-1: k attribute
const topkAttrs: LegacyFn = (a, d) => ({ attrs: { ...a, k: d[1]!.get(0) }, inputs: [0] });
// Squeeze/Unsqueeze/ReduceX before axes became an input
const axesAttrs: LegacyFn = (a, d) => ({ attrs: d[1] && d[1].size > 0 ? { ...a, axes: ints(d[1]) } : { ...a }, inputs: [0] });
// Split-2..12: split attribute; Split-1: split as a (constant) second input
const splitAttrs: LegacyFn = (a, d) => ({ attrs: d[1] ? { ...a, split: ints(d[1]) } : { ...a }, inputs: [0] });
const splitInput1: LegacyFn = (a, d) => ({ attrs: { ...a }, inputs: d[1] ? [0, d[1]] : [0] });
// Softmax-1..12 on the last axis (coerced 2-D = single axis): the axis spelled out
const lastAxis: LegacyFn = (a) => ({ attrs: { ...a, axis: -1 }, inputs: [0] });
// Upsample-7: scales attribute; Upsample-9 / Resize-10: scales input (no roi)
const upsample7: LegacyFn = (a, d) => ({ op: 'Upsample', attrs: { mode: 'nearest', scales: d[2]!.toNumbers() }, inputs: [0] });
const scalesInput: LegacyFn = (a, d) => ({ attrs: { mode: 'nearest' }, inputs: [0, d[2]!] });
// Reshape-1: shape attribute
const reshapeAttrs: LegacyFn = (a, d) => ({ attrs: { ...a, shape: ints(d[1]) }, inputs: [0] });
// Concat-1..3: axis 1 by default
const concatDefault: LegacyFn = (a, d) => ({ attrs: without(a, 'axis'), inputs: d.map((_, i) => i) });
// BatchNormalization-1 (consumed_inputs, is_test, spatial) / -6 (is_test, spatial) / -7 (spatial)
const bn1: LegacyFn = (a) => ({ attrs: { ...a, is_test: 1, spatial: 1, consumed_inputs: [0, 0, 0, 1, 1] }, inputs: [0, 1, 2, 3, 4] });
const bn6: LegacyFn = (a) => ({ attrs: { ...a, is_test: 1, spatial: 1 }, inputs: [0, 1, 2, 3, 4] });
const bn7: LegacyFn = (a) => ({ attrs: { ...a, spatial: 1 }, inputs: [0, 1, 2, 3, 4] });
// Cast-1..5: `to` as a type name
const castName = (to: string): LegacyFn => () => ({ attrs: { to }, inputs: [0] });
// GridSample-16: modes bilinear/bicubic
const gridOld: LegacyFn = (a) => {
  const m = a['mode'] ?? 'linear';
  return { attrs: { ...a, mode: m === 'linear' ? 'bilinear' : m === 'cubic' ? 'bicubic' : m }, inputs: [0, 1] };
};
// Add/Mul-6 with legacy broadcast attributes (B aligned at `axis`); -1..5 also had consumed_inputs
const legacyBcast = (axis?: number, consumed = false): LegacyFn => (a) => ({
  attrs: { ...a, broadcast: 1, ...(axis === undefined ? {} : { axis }), ...(consumed ? { consumed_inputs: [0] } : {}) }, inputs: [0, 1],
});

const LEGACY: [string, number, LegacyFn][] = [
  ...['test_slice', 'test_slice_default_axes', 'test_slice_default_steps', 'test_slice_negative_axes', 'test_slice_end_out_of_bounds',
    'test_slice_start_out_of_bounds', 'test_slice_neg'].map((n): [string, number, LegacyFn] => [n, 9, sliceAttrs]),
  ['test_slice_default_axes', 1, sliceAttrs],
  ...['test_constant_pad', 'test_edge_pad', 'test_reflect_pad'].map((n): [string, number, LegacyFn] => [n, 2, padAttrs('pads')]),
  ['test_constant_pad', 1, padAttrs('paddings')],
  ...['test_clip', 'test_clip_example', 'test_clip_inbounds', 'test_clip_outbounds', 'test_clip_splitbounds', 'test_clip_default_min',
    'test_clip_default_max', 'test_clip_default_inbounds', 'test_clip_min_greater_than_max'].map((n): [string, number, LegacyFn] => [n, 6, clipAttrs]),
  ['test_top_k', 9, topkAttrs], ['test_top_k_negative_axis', 9, topkAttrs], ['test_top_k', 1, topkAttrs],
  ['test_squeeze', 1, axesAttrs], ['test_squeeze', 11, axesAttrs], ['test_squeeze_negative_axes', 11, axesAttrs],
  ...['test_unsqueeze_axis_0', 'test_unsqueeze_axis_1', 'test_unsqueeze_axis_2', 'test_unsqueeze_negative_axes', 'test_unsqueeze_three_axes',
    'test_unsqueeze_two_axes', 'test_unsqueeze_unsorted_axes'].map((n): [string, number, LegacyFn] => [n, 11, axesAttrs]),
  ['test_unsqueeze_axis_0', 1, axesAttrs],
  ...['test_split_variable_parts_1d_opset13', 'test_split_variable_parts_2d_opset13', 'test_split_variable_parts_default_axis_opset13',
    'test_split_equal_parts_1d_opset13', 'test_split_equal_parts_2d_opset13', 'test_split_equal_parts_default_axis_opset13',
    'test_split_zero_size_splits_opset13'].map((n): [string, number, LegacyFn] => [n, 11, splitAttrs]),
  ['test_split_variable_parts_2d_opset13', 1, splitInput1],
  ...['test_reduce_sum_keepdims_example', 'test_reduce_sum_do_not_keepdims_example', 'test_reduce_sum_negative_axes_keepdims_example',
    'test_reduce_sum_default_axes_keepdims_example', 'test_reduce_sum_empty_set'].map((n): [string, number, LegacyFn] => [n, 11, axesAttrs]),
  ...['test_reduce_mean_keepdims_example', 'test_reduce_mean_do_not_keepdims_random', 'test_reduce_mean_negative_axes_keepdims_random',
    'test_reduce_mean_default_axes_keepdims_example'].map((n): [string, number, LegacyFn] => [n, 13, axesAttrs]),
  ['test_reduce_mean_keepdims_example', 1, axesAttrs],
  ...['test_softmax_axis_2', 'test_softmax_default_axis', 'test_softmax_example', 'test_softmax_large_number', 'test_softmax_negative_axis',
    'test_logsoftmax_axis_2', 'test_logsoftmax_example_1', 'test_hardmax_axis_2', 'test_hardmax_example'].map((n): [string, number, LegacyFn] => [n, 11, lastAxis]),
  ['test_resize_upsample_scales_nearest', 7, upsample7],
  ['test_resize_upsample_scales_nearest', 9, (a, d) => ({ ...scalesInput(a, d), op: 'Upsample' })],
  ['test_resize_upsample_scales_nearest', 10, scalesInput],
  ['test_resize_downsample_scales_nearest', 10, scalesInput],
  ...['test_reshape_extended_dims', 'test_reshape_negative_dim', 'test_reshape_one_dim', 'test_reshape_reduced_dims',
    'test_reshape_reordered_all_dims', 'test_reshape_zero_and_negative_dim', 'test_reshape_zero_dim'].map((n): [string, number, LegacyFn] => [n, 4, reshapeAttrs]),
  ['test_concat_2d_axis_1', 3, concatDefault], ['test_concat_3d_axis_1', 3, concatDefault],
  ['test_batchnorm_example', 5, bn1], ['test_batchnorm_example', 6, bn6], ['test_batchnorm_epsilon', 6, bn6], ['test_batchnorm_example', 7, bn7],
  ['test_cast_FLOAT_to_DOUBLE', 5, castName('DOUBLE')], ['test_cast_DOUBLE_to_FLOAT', 5, castName('FLOAT')],
  ['test_cast_FLOAT_to_FLOAT16', 1, castName('FLOAT16')],
  ...['test_gridsample', 'test_gridsample_bilinear', 'test_gridsample_bicubic', 'test_gridsample_nearest', 'test_gridsample_aligncorners_true',
    'test_gridsample_border_padding', 'test_gridsample_reflection_padding'].map((n): [string, number, LegacyFn] => [n, 16, gridOld]),
  ['test_add_bcast', 6, legacyBcast()], ['test_add_bcast', 5, legacyBcast(2, true)], ['test_mul_bcast', 6, legacyBcast(-1)],
];

/** onnxruntime-node rejects or lacks these (op, opset) pairs; the reference check still runs. */
const NO_ORT = new Set(['test_cast_FLOAT_to_FLOAT16']);

describe.skipIf(CASES.size === 0)('backend tests in an older op form, upgraded', () => {
  for (const [name, opset, f] of LEGACY) {
    if (!CASES.has(name)) continue;
    it(`${name} at opset ${opset}`, async () => {
      const { graph, inputs, outputs } = legacyCase(name, opset, f);
      // the old form itself reproduces ONNX's outputs (checks the rewrite into the old form)
      expectOutputs(runGraph(graph, inputs), outputs, NODE_TOL, `opset ${opset}`);
      for (const t of TARGETS.filter((x) => x > opset)) {
        const u = upgraded(graph, t);
        expectOutputs(runGraph(u, inputs), outputs, NODE_TOL, `upgraded to ${t}`);
        if (!NO_ORT.has(name)) expectOutputs(await runOrt(u, inputs), outputs, NODE_TOL, `onnxruntime, opset ${t}`);
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------
// 3. Graphs built in code: reference at the old opset vs the upgraded graph (and onnxruntime)
// ---------------------------------------------------------------------------------------------

type In = TensorType | Tensor | null;

/** A one-node graph at `opset`: TensorType inputs are graph inputs, Tensors constants. */
function oneNode(op: string, opset: number, ins: In[], attrs: Attrs = {}, nOut = 1): Graph {
  const g = new Graph();
  g.opsets[''] = opset;
  const ids = ins.map((x, i) => {
    if (x === null) return null;
    if (x instanceof Tensor) return g.addConst(`c${i}`, x).id;
    const v = g.addValue(`in${i}`, x);
    g.inputs.push(v.id);
    return v.id;
  });
  const outs = Array.from({ length: nOut }, (_, k) => g.addValue(`out${k}`, { dtype: 'f32', shape: [] }).id);
  g.addNode({ op, inputs: ids, outputs: outs, attrs, name: `${op.toLowerCase()}0` });
  g.outputs = outs;
  inferShapes(g);
  return g;
}

const f32 = (...shape: (number | string)[]): TensorType => ({ dtype: 'f32', shape });
const T = (dtype: DType, shape: number[], v: number[]): Tensor => Tensor.from(dtype, shape, v);

/** Reference of `g` at its own opset vs the upgraded graph (reference and onnxruntime). */
async function expectEquivalent(g: Graph, targets: number[], opts: { ort?: boolean; tol?: { rtol: number; atol: number } } = {}): Promise<Graph[]> {
  const tol = opts.tol ?? { rtol: 1e-6, atol: 1e-6 };
  const res: Graph[] = [];
  for (const t of targets) {
    const u = upgraded(g, t);
    res.push(u);
    for (const seed of [1, 2]) {
      const ins = randomInputs(g, seed);
      const want = runGraph(g, ins);
      expectOutputs(runGraph(u, ins), want, tol, `reference, opset ${t}, seed ${seed}`);
      if (opts.ort !== false) expectOutputs(await runOrt(u, ins), want, { rtol: 1e-5, atol: 1e-5 }, `onnxruntime, opset ${t}, seed ${seed}`);
    }
  }
  return res;
}

const opsOf = (g: Graph): string[] => g.orderedNodes().map((n) => n.op);
const onlyNode = (g: Graph, op: string): Node => {
  const l = g.orderedNodes().filter((n) => n.op === op);
  expect(l.length).toBe(1);
  return l[0]!;
};

describe('built graphs: old semantics kept by the upgrade', () => {
  for (const op of ['Softmax', 'LogSoftmax', 'Hardmax']) {
    for (const axis of [0, 1]) {
      it(`${op}-11 axis=${axis} on [3,4,5] (2-D coercion) -> Flatten/${op}/Reshape`, async () => {
        const [u] = await expectEquivalent(oneNode(op, 11, [f32(3, 4, 5)], { axis }), [13, 21]);
        expect(opsOf(u!)).toEqual(['Flatten', op, 'Reshape']);
      });
    }
  }
  it('Softmax-1 default axis 1 with a symbolic batch: Reshape to Shape(x)', async () => {
    const [u] = await expectEquivalent(oneNode('Softmax', 1, [f32('N', 4, 5)]), [13]);
    expect(opsOf(u!).sort()).toEqual(['Flatten', 'Reshape', 'Shape', 'Softmax']);
  });
  it('Softmax-11 axis=1 on [2,5,1,1] (trailing unit dims): one single-axis Softmax', async () => {
    const [u] = await expectEquivalent(oneNode('Softmax', 11, [f32(2, 5, 1, 1)], { axis: 1 }), [13]);
    expect(onlyNode(u!, 'Softmax').attrs['axis']).toBe(1);
  });
  it('Add-6 broadcast=1 axis=1: constant B reshaped, input B unsqueezed', async () => {
    const c = Tensor.from('f32', [3, 4], Array.from({ length: 12 }, (_, i) => i / 7));
    const [u1] = await expectEquivalent(oneNode('Add', 6, [f32(2, 3, 4, 5), c], { broadcast: 1, axis: 1 }), [13, 21]);
    expect(opsOf(u1!)).toEqual(['Add']);
    const [u2] = await expectEquivalent(oneNode('Mul', 6, [f32(2, 3, 4, 5), f32(3, 4)], { broadcast: 1, axis: 1 }), [13]);
    expect(opsOf(u2!)).toEqual(['Unsqueeze', 'Mul']);
  });
  it('Upsample-9 linear -> Resize (asymmetric)', async () => {
    const [u] = await expectEquivalent(oneNode('Upsample', 9, [f32(1, 2, 3, 4), T('f32', [4], [1, 1, 2, 3])], { mode: 'linear' }), [13, 21]);
    expect(onlyNode(u!, 'Resize').attrs['coordinate_transformation_mode']).toBe('asymmetric');
  });
  it('Upsample-10 (deprecated) with run-time scales -> Resize-11 nearest floor', async () => {
    const g = new Graph();
    g.opsets[''] = 10;
    // a symbolic batch keeps Shape(x) unknown before running
    const x = g.addValue('x', f32('N', 2, 3, 3));
    const s = g.addValue('s', f32(4));
    g.inputs = [x.id];
    const y = g.addValue('y', f32()).id;
    // scales = Concat([1, 1], Shape(x)[2:] - 1) = [1, 1, 2, 2], computed while running
    const ones = g.addConst('ones', T('f32', [2], [1, 1])).id;
    const shp = g.addValue('shp', { dtype: 'i64', shape: [4] }).id;
    const hw = g.addValue('hw', { dtype: 'i64', shape: [2] }).id;
    const hwf = g.addValue('hwf', f32(2)).id;
    const hw1 = g.addValue('hw1', f32(2)).id;
    g.addNode({ op: 'Shape', inputs: [x.id], outputs: [shp] });
    g.addNode({ op: 'Slice', inputs: [shp, g.addConst('b', T('i64', [1], [2])).id, g.addConst('e', T('i64', [1], [4])).id], outputs: [hw] });
    g.addNode({ op: 'Cast', inputs: [hw], outputs: [hwf], attrs: { to: 1 } });
    g.addNode({ op: 'Sub', inputs: [hwf, ones], outputs: [hw1] });
    g.addNode({ op: 'Concat', inputs: [ones, hw1], outputs: [s.id], attrs: { axis: 0 } });
    g.addNode({ op: 'Upsample', inputs: [x.id, s.id], outputs: [y], attrs: { mode: 'nearest' } });
    g.outputs = [y];
    inferShapes(g);
    const [u] = await expectEquivalent(g, [11, 13]);
    expect(onlyNode(u!, 'Resize').attrs['nearest_mode']).toBe('floor');
  });
  it('Upsample-7 bilinear scales attribute -> Resize', async () => {
    await expectEquivalent(oneNode('Upsample', 8, [f32(1, 1, 3, 3)], { mode: 'bilinear', scales: [1, 1, 2, 2] }), [13]);
  });
  it('Resize-10 nearest up- and downsampling axes -> two Resizes (floor, then ceil)', async () => {
    const [u] = await expectEquivalent(oneNode('Resize', 10, [f32(1, 2, 5, 6), T('f32', [4], [1, 1, 2.5, 0.4])]), [13, 18]);
    expect(opsOf(u!)).toEqual(['Resize', 'Resize']);
    expect(u!.orderedNodes().map((n) => n.attrs['nearest_mode'])).toEqual(['floor', 'ceil']);
  });
  it('Resize-10 nearest downsampling -> nearest_mode ceil', async () => {
    const [u] = await expectEquivalent(oneNode('Resize', 10, [f32(1, 1, 7, 9), T('f32', [4], [1, 1, 0.6, 0.3])]), [11, 13]);
    expect(onlyNode(u!, 'Resize').attrs['nearest_mode']).toBe('ceil');
  });
  it('Resize-11 empty roi and scales -> omitted inputs at 13', async () => {
    const g = oneNode('Resize', 11, [f32(1, 1, 2, 3), T('f32', [0], []), T('f32', [0], []), T('i64', [4], [1, 1, 4, 5])], { mode: 'linear' });
    const [u] = await expectEquivalent(g, [13]);
    expect(onlyNode(u!, 'Resize').inputs.slice(1, 3)).toEqual([null, null]);
  });
  it('Tile-1(x, tiles, axis) -> Tile(x, repeats)', async () => {
    const [u] = await expectEquivalent(oneNode('Tile', 5, [f32(2, 3), T('i64', [], [3]), T('i64', [], [1])]), [13]);
    expect(u!.constOf(onlyNode(u!, 'Tile').inputs[1])!.toNumbers()).toEqual([1, 3]);
  });
  it('Dropout-9 mask (float) used as an output -> bool mask + Cast; ratio -> input at 12', async () => {
    const g = oneNode('Dropout', 9, [f32(2, 3)], { ratio: 0.3 }, 2);
    const [u] = await expectEquivalent(g, [13], { ort: false });
    expect(opsOf(u!)).toEqual(['Dropout', 'Cast']);
    expect(u!.typeOf(u!.outputs[1]!).dtype).toBe('f32');
    expect(onlyNode(u!, 'Dropout').inputs.length).toBe(2);
  });
  it('Dropout-6 is_test/consumed_inputs removed', async () => {
    const [u] = await expectEquivalent(oneNode('Dropout', 6, [f32(2, 3)], { is_test: 1, ratio: 0.2 }), [13, 21]);
    expect(Object.keys(onlyNode(u!, 'Dropout').attrs)).toEqual([]);
  });
  it('Split-11 without split -> Split-18 num_outputs', async () => {
    const [, u18] = await expectEquivalent(oneNode('Split', 11, [f32(2, 6)], { axis: 1 }, 3), [13, 18]);
    expect(onlyNode(u18!, 'Split').attrs['num_outputs']).toBe(3);
  });
  it('ReduceMax/ReduceL2/ReduceProd-11 axes attributes -> inputs at 18', async () => {
    for (const op of ['ReduceMax', 'ReduceL2', 'ReduceProd']) {
      const [, u18] = await expectEquivalent(oneNode(op, 11, [f32(2, 3, 4)], { axes: [0, 2], keepdims: 0 }), [13, 18]);
      expect(onlyNode(u18!, op).inputs.length).toBe(2);
    }
  });
  it('ReduceSum-1 with an empty axes list (all axes) -> no axes input', async () => {
    const [u] = await expectEquivalent(oneNode('ReduceSum', 1, [f32(2, 3)], { axes: [] }), [13]);
    expect(onlyNode(u!, 'ReduceSum').inputs.length).toBe(1);
  });
  it('GroupNormalization-18 per-group scale/bias -> per-channel at 21', async () => {
    const g = oneNode('GroupNormalization', 18, [f32(2, 6, 3), T('f32', [3], [0.5, 2, -1]), T('f32', [3], [0.1, 0.2, 0.3])], { num_groups: 3 });
    const [u] = await expectEquivalent(g, [21], { tol: { rtol: 1e-5, atol: 1e-6 } });
    expect(u!.constOf(onlyNode(u!, 'GroupNormalization').inputs[1])!.toNumbers()).toEqual([0.5, 0.5, 2, 2, -1, -1]);
  });
  it('Clip-6 max only -> Clip(x, "", max)', async () => {
    const [u] = await expectEquivalent(oneNode('Clip', 6, [f32(4, 5)], { max: 0.5 }), [13]);
    expect(onlyNode(u!, 'Clip').inputs[1]).toBeNull();
  });
  it('Pad-1 paddings with a value -> pads and constant_value inputs', async () => {
    await expectEquivalent(oneNode('Pad', 1, [f32(2, 3)], { paddings: [1, 0, 2, 1], value: 1.5 }), [13, 21]);
  });
  it('Reshape-1 / Concat-1 / Squeeze-1 / Unsqueeze-1 chain', async () => {
    const g = new Graph();
    g.opsets[''] = 1;
    const x = g.addValue('x', f32(2, 1, 6));
    const y = g.addValue('y', f32(2, 6));
    g.inputs = [x.id, y.id];
    const v = (n: string) => g.addValue(n, f32()).id;
    const [a, b, c, d] = [v('a'), v('b'), v('c'), v('d')];
    g.addNode({ op: 'Squeeze', inputs: [x.id], outputs: [a], attrs: { axes: [1] } });
    g.addNode({ op: 'Concat', inputs: [a, y.id], outputs: [b] });
    g.addNode({ op: 'Reshape', inputs: [b], outputs: [c], attrs: { shape: [4, 6] } });
    g.addNode({ op: 'Unsqueeze', inputs: [c], outputs: [d], attrs: { axes: [0, 3] } });
    g.outputs = [d];
    inferShapes(g);
    await expectEquivalent(g, [13, 21]);
  });
  it('QuantizeLinear/DequantizeLinear-10 with [1] scales -> scalars at 13', async () => {
    const g = new Graph();
    g.opsets[''] = 10;
    const x = g.addValue('x', f32(2, 3));
    g.inputs = [x.id];
    const s = g.addConst('s', T('f32', [1], [0.05])).id;
    const z = g.addConst('z', T('u8', [1], [7])).id;
    const q = g.addValue('q', { dtype: 'u8', shape: [2, 3] }).id;
    const y = g.addValue('y', f32(2, 3)).id;
    g.addNode({ op: 'QuantizeLinear', inputs: [x.id, s, z], outputs: [q] });
    g.addNode({ op: 'DequantizeLinear', inputs: [q, s, z], outputs: [y] });
    g.outputs = [y];
    inferShapes(g);
    const [u] = await expectEquivalent(g, [13, 21]);
    for (const n of u!.orderedNodes()) expect(u!.typeOf(n.inputs[1]!).shape).toEqual([]);
  });
  it('BatchNormalization-9 unused training outputs dropped at 14', async () => {
    const p = (v: number) => T('f32', [2], [v, v + 0.5]);
    const g = oneNode('BatchNormalization', 9, [f32(1, 2, 3), p(1), p(0), p(0.2), p(1.5)], {}, 1);
    const n = g.orderedNodes()[0]!;
    for (const name of ['mean', 'var']) {
      const v = g.addValue(name, f32(2));
      v.producer = n.id;
      n.outputs.push(v.id);
    }
    const [u] = await expectEquivalent(g, [13, 14], { ort: false }).then((r) => [r[1]]);
    expect(onlyNode(u!, 'BatchNormalization').outputs.length).toBe(1);
  });
  it('Scatter-9 -> ScatterElements (same values as ScatterElements-11)', async () => {
    const data = T('f32', [3, 3], [0, 1, 2, 3, 4, 5, 6, 7, 8]);
    const idx = T('i64', [2, 3], [1, 0, 2, 0, 2, 1]);
    const upd = T('f32', [2, 3], [1, 1.1, 1.2, 2, 2.1, 2.2]);
    const g = oneNode('ScatterElements', 11, [f32(3, 3), idx, upd], { axis: 0 });
    const want = runGraph(g, [data]);
    const old = g.clone();
    old.orderedNodes()[0]!.op = 'Scatter';
    old.opsets[''] = 9;
    const u = upgraded(old, 13);
    expect(opsOf(u)).toEqual(['ScatterElements']);
    expectOutputs(runGraph(u, [data]), want, { rtol: 0, atol: 0 }, 'reference');
    expectOutputs(await runOrt(u, [data]), want, { rtol: 0, atol: 0 }, 'onnxruntime');
  });
});

/** Ops whose changes up to opset 21 are compatible: only attributes are dropped or defaults kept. */
const COMPATIBLE: [string, number, In[], Attrs, { ort?: boolean }?][] = [
  ['AveragePool', 1, [f32(1, 2, 5, 5)], { kernel_shape: [2, 2], pads: [1, 1, 1, 1], strides: [2, 2] }],
  ['MaxPool', 1, [f32(1, 2, 5, 5)], { kernel_shape: [3, 3], strides: [2, 2] }],
  ['LpPool', 1, [f32(1, 2, 4, 4)], { kernel_shape: [2, 2], p: 2 }],
  ['GlobalAveragePool', 1, [f32(1, 3, 4, 4)], {}],
  ['Conv', 1, [f32(1, 2, 5, 5), T('f32', [3, 2, 3, 3], Array.from({ length: 54 }, (_, i) => Math.sin(i)))], { pads: [1, 1, 1, 1] }],
  ['ConvTranspose', 1, [f32(1, 2, 3, 3), T('f32', [2, 1, 2, 2], [1, -1, 0.5, 2, 0, 1, -2, 3])], { strides: [2, 2] }],
  ['Gemm', 6, [f32(2, 3), T('f32', [3, 4], Array.from({ length: 12 }, (_, i) => i / 5)), T('f32', [4], [1, 2, 3, 4])], { broadcast: 1, transB: 0 }],
  ['Gemm', 1, [f32(2, 3), T('f32', [4, 3], Array.from({ length: 12 }, (_, i) => i / 5)), T('f32', [2, 4], [1, 2, 3, 4, 5, 6, 7, 8])], { transB: 1 }],
  ['Elu', 1, [f32(3, 4)], { alpha: 0.5, consumed_inputs: [0] }],
  ['LeakyRelu', 1, [f32(3, 4)], { alpha: 0.1, consumed_inputs: [0] }],
  ['HardSigmoid', 1, [f32(3, 4)], { consumed_inputs: [0] }],
  ['Selu', 1, [f32(3, 4)], {}],
  ['Relu', 1, [f32(3, 4)], { consumed_inputs: [0] }],
  ['Sigmoid', 1, [f32(3, 4)], {}],
  ['Sum', 6, [f32(3, 4), f32(3, 4), f32(3, 4)], {}],
  ['Max', 1, [f32(3, 4), f32(3, 4)], { consumed_inputs: [0, 0] }],
  ['Mean', 6, [f32(3, 4), f32(3, 4)], {}],
  ['Pow', 1, [f32(2, 3), T('f32', [3], [1, 2, 3])], { broadcast: 1 }],
  ['Sub', 1, [f32(2, 3, 4), T('f32', [3], [1, 2, 3])], { broadcast: 1, axis: 1 }],
  ['Div', 6, [f32(2, 3, 4), T('f32', [2, 3], [1, 2, 3, 4, 5, 6])], { broadcast: 1, axis: 0 }],
  ['Greater', 1, [f32(2, 3, 4), f32(3)], { broadcast: 1, axis: 1 }],
  ['Mod', 10, [f32(3, 4), T('f32', [4], [1.5, 2, -3, 0.7])], { fmod: 1 }],
  ['Shape', 1, [f32(2, 3, 4)], {}],
  ['Size', 1, [f32(2, 3, 4)], {}],
  ['Gather', 1, [f32(3, 4), T('i64', [2], [3, 1])], { axis: 1 }],
  ['Flatten', 1, [f32(2, 3, 4)], { axis: 2 }],
  ['ArgMax', 1, [f32(3, 4)], { axis: 1, keepdims: 0 }],
  ['InstanceNormalization', 1, [f32(1, 2, 6), T('f32', [2], [1, 2]), T('f32', [2], [0, 1])], { consumed_inputs: [0, 0, 0] }],
  ['Transpose', 1, [f32(2, 3, 4)], { perm: [2, 0, 1] }],
  ['DepthToSpace', 1, [f32(1, 8, 2, 2)], { blocksize: 2 }],
  ['SpaceToDepth', 1, [f32(1, 2, 4, 4)], { blocksize: 2 }],
  ['Expand', 8, [f32(3, 1), T('i64', [2], [3, 4])], {}],
  ['PRelu', 7, [f32(1, 2, 3), T('f32', [2, 1], [0.1, 0.5])], {}],
  ['TopK', 1, [f32(3, 5)], { k: 2, axis: 1 }],
  ['LRN', 1, [f32(1, 5, 2, 2)], { size: 3 }],
];

describe('built graphs: ops with compatible schema changes', () => {
  for (const [op, opset, ins, attrs, opts] of COMPATIBLE) {
    it(`${op}-${opset} -> 13, 21`, async () => {
      await expectEquivalent(oneNode(op, opset, ins, attrs, op === 'TopK' ? 2 : 1), [13, 21], opts ?? {});
    });
  }
});

describe('upgrade errors', () => {
  const kindOf = (f: () => unknown): [string, string] => {
    try {
      f();
    } catch (e) {
      if (e instanceof EdgecError) return [e.kind, e.message];
      throw e;
    }
    throw new Error('no error');
  };
  it('downgrades and targets past the known opsets are refused', () => {
    const g = oneNode('Relu', 13, [f32(2)]);
    expect(kindOf(() => upgradeOpset(g.clone(), 11))).toEqual(['unsupported', 'cannot convert opset 13 down to 11 (only upgrades are supported)']);
    expect(kindOf(() => upgradeOpset(g.clone(), MAX_UPGRADE_OPSET + 1))[0]).toBe('unsupported');
    expect(upgradeOpset(g, 13)).toEqual({ from: 13, to: 13, rewrites: 0 });
  });
  it('Resize-11 tf_half_pixel_for_nn has no opset-13 form', () => {
    const g = oneNode('Resize', 11, [f32(1, 1, 2, 2), T('f32', [0], []), T('f32', [4], [1, 1, 2, 2])], { coordinate_transformation_mode: 'tf_half_pixel_for_nn' });
    const [kind, msg] = kindOf(() => upgradeOpset(g, 13));
    expect(kind).toBe('unsupported');
    expect(msg).toMatch(/cannot upgrade Resize from opset 12 to 13: .*tf_half_pixel_for_nn/);
  });
  it('Resize-10 nearest with scales computed at run time', () => {
    const g = oneNode('Resize', 10, [f32(1, 1, 2, 2), f32(4)]);
    expect(kindOf(() => upgradeOpset(g, 11))).toEqual(['unsupported', expect.stringMatching(/cannot upgrade Resize from opset 10 to 11: nearest Resize-10 with non-constant scales/)]);
  });
  it('BatchNormalization-9 whose statistics outputs are read', () => {
    const p = T('f32', [2], [1, 2]);
    const g = oneNode('BatchNormalization', 9, [f32(1, 2, 3), p, p, p, p], {}, 1);
    const mean = g.addValue('mean', f32(2));
    mean.producer = g.orderedNodes()[0]!.id;
    g.orderedNodes()[0]!.outputs.push(mean.id);
    g.outputs.push(mean.id);
    expect(kindOf(() => upgradeOpset(g, 14))).toEqual(['unsupported', expect.stringMatching(/BatchNormalization from opset 13 to 14: its training-only statistics outputs are used/)]);
  });
});

// ---------------------------------------------------------------------------------------------
// 4. Real opset-9 models: ultraface (Slice, Unsqueeze, Softmax, BatchNormalization...)
// ---------------------------------------------------------------------------------------------

const ULTRA = ['ultraface-rfb-320', 'ultraface-slim-320-simplified'].filter((m) => fs.existsSync(path.join(MODELS, `${m}.onnx`)));
const tmp = tmpDir('edgec-upgrade-');
afterAll(() => rmTmp(tmp));

describe.skipIf(ULTRA.length === 0)('ultraface models (opset 9)', () => {
  for (const m of ULTRA) {
    it(`${m}: upgraded to 13 gives the same outputs (reference and onnxruntime)`, async () => {
      const g = loadOnnxFile(path.join(MODELS, `${m}.onnx`));
      expect(g.opset).toBe(9);
      const ins = randomInputs(g, 3);
      const want = runGraph(g, ins);
      const targets = m === 'ultraface-rfb-320' ? [13, 21] : [13];
      for (const t of targets) {
        const u = upgraded(g, t);
        expectOutputs(runGraph(u, ins), want, { rtol: 1e-6, atol: 1e-6 }, `reference, opset ${t}`);
        expectOutputs(await runOrt(u, ins), want, { rtol: 1e-4, atol: 1e-4 }, `onnxruntime, opset ${t}`);
      }
    }, 120_000);
  }
  it.skipIf(!ULTRA.includes('ultraface-rfb-320'))('edgec compile ultraface-rfb-320 --int8 --calib-random (was refused at opset 9)', async () => {
    const out = path.join(tmp, 'rfb-int8');
    const r = await cli('compile', path.join(MODELS, 'ultraface-rfb-320.onnx'), '--int8', '--calib-random', '-o', out, '--emit-onnx');
    expect(r.err).not.toMatch(/edgec: error/);
    expect(r.code).toBe(0);
    const man = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')) as { precision: string };
    expect(man.precision).toBe('int8');
    // the emitted QDQ model is standard ONNX at opset 13; on the reference interpreter its scores
    // (softmax, output 0) stay close to the float model's on a random input
    const q = loadOnnxFile(path.join(out, 'model.onnx'));
    expect(q.opset).toBe(13);
    expect(q.orderedNodes().filter((n) => n.op === 'QuantizeLinear').length).toBeGreaterThan(30);
    const f = loadOnnxFile(path.join(MODELS, 'ultraface-rfb-320.onnx'));
    const ins = randomInputs(f, 5);
    const want = runGraph(f, ins);
    const got = runGraph(q, ins);
    const a = got[0]!.toNumbers();
    const b = want[0]!.toNumbers();
    const mad = a.reduce((s, v, i) => s + Math.abs(v - b[i]!), 0) / a.length;
    console.log(`ultraface-rfb-320 int8: mean |score difference| ${mad.toFixed(4)}`);
    expect(mad).toBeLessThan(0.05);
    // onnxruntime runs the emitted QDQ model (unique node names although the source's are empty)
    const ort = await runOrt(q, ins);
    const o = ort[0]!.toNumbers();
    expect(o.reduce((s, v, i) => s + Math.abs(v - a[i]!), 0) / o.length).toBeLessThan(0.01);
  }, 180_000);
});

describe('int8 quantization of an opset-11 graph', () => {
  it('Conv -> Softmax(axis=1, 2-D coercion) -> Conv: upgraded, new values stay float, close to float', () => {
    const g = new Graph();
    g.opsets[''] = 11;
    const x = g.addValue('x', f32(1, 2, 4, 4));
    g.inputs = [x.id];
    const w = (seed: number, shape: number[]) => T('f32', shape, Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(seed + i)));
    const [a, b, y] = [g.addValue('a', f32()).id, g.addValue('b', f32()).id, g.addValue('y', f32()).id];
    g.addNode({ op: 'Conv', inputs: [x.id, g.addConst('w1', w(1, [3, 2, 3, 3])).id], outputs: [a], attrs: { pads: [1, 1, 1, 1] }, name: 'conv1' });
    g.addNode({ op: 'Softmax', inputs: [a], outputs: [b], attrs: { axis: 1 }, name: 'softmax' });
    g.addNode({ op: 'Conv', inputs: [b, g.addConst('w2', w(2, [2, 3, 1, 1])).id], outputs: [y], name: 'conv2' });
    g.outputs = [y];
    inferShapes(g);
    const calib = [Tensor.from('f32', [8, 2, 4, 4], Array.from({ length: 256 }, (_, i) => Math.cos(i * 0.37)))];
    const r = quantizeModel(g, { mode: 'int8', calib });
    expect(r.qdq.opset).toBe(13);
    expect(r.qdq.orderedNodes().map((n) => n.op)).toContain('Flatten');
    const ins = [Tensor.from('f32', [1, 2, 4, 4], Array.from({ length: 32 }, (_, i) => Math.cos(i * 0.37)))];
    expectOutputs(runGraph(r.qdq, ins), runGraph(g, ins), { rtol: 0, atol: 0.05 }, 'int8 vs float');
  });
});

describe.skipIf(!fs.existsSync(path.join(MODELS, 'mnist-8.onnx')))('--int4 on an opset-8 model', () => {
  it('edgec compile mnist-8 --int4 (was refused below opset 13) converts the graph to opset 21', async () => {
    const out = path.join(tmp, 'mnist-int4');
    const r = await cli('compile', path.join(MODELS, 'mnist-8.onnx'), '--int4', '-o', out, '--emit-onnx');
    expect(r.code).toBe(0);
    const q = loadOnnxFile(path.join(out, 'model.onnx'));
    expect(q.opset).toBe(21);
    expect(q.orderedNodes().some((n) => n.op === 'DequantizeLinear' && n.attrs['block_size'] === 32)).toBe(true);
  }, 60_000);
});
