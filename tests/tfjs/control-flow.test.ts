/**
 * TF v1 control flow and detection ops in graph models, on small graphs written in code:
 * tf.while_loop frames (Enter/Merge/Switch/NextIteration/Exit/LoopCond) -> Loop (constant trip
 * count folded, or a runtime condition), TensorList map patterns -> scan outputs / Gather, and
 * NonMaxSuppressionV3/V4/V5 against @tensorflow/tfjs-core's own NMS kernels. Loop results are
 * derived by hand from the loop written in the test; the two single loops are also run on TF.js
 * itself (tfjs-converter, CPU backend). TF.js's executor fails on the other hand-written graphs
 * (nested frames, the TensorList map, the cond with a pivot; e.g. it does not re-run, per iteration,
 * nodes fed only by loop-invariant Enters, which TF's own graphs avoid with control edges), so
 * those are checked against hand-derived values only.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { kernel_impls } from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { loadTfjsModel } from '../../compiler/frontends/tfjs/index.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { optimize } from '../../compiler/pipeline.js';
import { verify } from '../../compiler/ir/verify.js';
import { Graph } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { EdgecError } from '../../compiler/errors.js';
import { compareTensors } from '../helpers/compare.js';
import { b64, f32Bytes, i32Bytes, node, tfShape, tmpDir, writeModel, cleanup } from './fixture.js';

interface C { name: string; shape: number[]; dtype?: 'float32' | 'int32'; data: number[] }
interface In { name: string; dtype: 'DT_FLOAT' | 'DT_INT32'; shape: number[] }

const f = (name: string, data: number[], shape: number[] = data.length === 1 ? [] : [data.length]): C => ({ name, shape, data });
const i = (name: string, data: number[], shape: number[] = data.length === 1 ? [] : [data.length]): C => ({ name, shape, dtype: 'int32', data });

/** The last model written by `load` (model.json object and weight bytes), for the TF.js oracle. */
let last: { json: { modelTopology: unknown; weightsManifest: { weights: unknown[] }[] }; bytes: Uint8Array; outputs: string[] } | undefined;

/**
 * Runs the last loaded model on TF.js itself (tfjs-converter GraphModel.executeAsync on the CPU
 * backend) and checks edgec's outputs against it.
 */
async function checkWithTfjs(got: Tensor[], xs: Tensor[]): Promise<void> {
  const m = last!;
  await tf.setBackend('cpu');
  const data = m.bytes.slice().buffer;
  const model = await loadGraphModel(tf.io.fromMemory({
    modelTopology: { ...(m.json.modelTopology as object), versions: { producer: 1175 } }, weightSpecs: m.json.weightsManifest.flatMap((w) => w.weights), weightData: data,
  } as tf.io.ModelArtifacts));
  const inNames = model.inputs.map((t) => t.name);
  const feeds: Record<string, tf.Tensor> = {};
  xs.forEach((x, k) => { feeds[inNames[k]!] = tf.tensor(Array.from(x.data as ArrayLike<number>), [...x.shape], x.dtype === 'i32' ? 'int32' : 'float32'); });
  const outs = (await model.executeAsync(feeds, m.outputs)) as tf.Tensor | tf.Tensor[];
  const list = Array.isArray(outs) ? outs : [outs];
  list.forEach((t, k) => {
    const w = Tensor.from(t.dtype === 'int32' ? 'i32' : 'f32', [...t.shape], Array.from(t.dataSync()));
    expect(compareTensors(got[k]!, w, { rtol: 1e-5, atol: 1e-6 }), `vs TF.js: output ${k} (${m.outputs[k]})`).toBeNull();
  });
  tf.dispose([...Object.values(feeds), ...list]);
  model.dispose();
}

/** Writes and loads a graph model with the given inputs, constants (weights) and outputs. */
function load(nodes: unknown[], consts: C[], inputs: In[], outputs: string[]): Graph {
  const parts = consts.map((c) => ((c.dtype ?? 'float32') === 'int32' ? i32Bytes(c.data) : f32Bytes(c.data)));
  const bytes = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) { bytes.set(p, o); o += p.length; }
  const json = {
    format: 'graph-model', generatedBy: 'test', convertedBy: 'test',
    modelTopology: {
      node: [
        ...inputs.map((x) => node(x.name, 'Placeholder', [], { dtype: { type: x.dtype }, shape: tfShape(x.shape) })),
        ...consts.map((c) => node(c.name, 'Const', [], {})),
        ...nodes,
      ],
    },
    signature: { outputs: Object.fromEntries(outputs.map((n) => [n, { name: n }])) },
    weightsManifest: [{ paths: ['w.bin'], weights: consts.map((c) => ({ name: c.name, shape: c.shape, dtype: c.dtype ?? 'float32' })) }],
  };
  last = { json, bytes, outputs };
  const g = loadTfjsModel(writeModel(tmpDir('cf'), json, { 'w.bin': bytes }));
  verify(g);
  return g;
}

/** Runs g as imported and after the wasm optimization pipeline; both must agree. */
function run(g: Graph, xs: Tensor[]): Tensor[] {
  const a = runGraph(g, xs);
  const h = g.clone();
  optimize(h, { target: 'wasm', verify: true });
  const b = runGraph(h, xs);
  a.forEach((t, k) => expect(compareTensors(b[k]!, t, { rtol: 1e-6, atol: 1e-7 }), `optimized output ${k}`).toBeNull());
  return a;
}

const frame = (name: string, constant = false) => ({ frame_name: { s: b64(name) }, is_constant: { b: constant } });
const T = { T: { type: 'DT_FLOAT' } };
const close = (got: Tensor, want: number[], shape: number[]) => {
  expect(got.shape).toEqual(shape);
  expect(compareTensors(got, Tensor.from(got.dtype, shape, want), { rtol: 1e-6, atol: 1e-6 })).toBeNull();
};

afterAll(cleanup);

/**
 * A while loop over (i, acc): `while cond(i, acc): i, acc = i + 1, step(acc)`, with TF1 frame
 * nodes. `cond` / `step` are node lists reading `m_i`/`m_acc` (cond) and `s_acc:1` (step), ending
 * in nodes named `less` and `acc1`.
 */
function whileLoop(condNodes: unknown[], stepNodes: unknown[]): unknown[] {
  const F = 'L';
  return [
    node('e_i', 'Enter', ['zero'], frame(F)), node('e_acc', 'Enter', ['x'], frame(F)),
    node('e_one', 'Enter', ['one'], frame(F, true)), node('e_two', 'Enter', ['two'], frame(F, true)),
    node('e_lim', 'Enter', ['lim'], frame(F, true)), node('e_axis', 'Enter', ['axis'], frame(F, true)),
    node('m_i', 'Merge', ['e_i', 'n_i']), node('m_acc', 'Merge', ['e_acc', 'n_acc']),
    ...condNodes,
    node('lc', 'LoopCond', ['less']),
    node('s_i', 'Switch', ['m_i', 'lc']), node('s_acc', 'Switch', ['m_acc', 'lc']),
    node('i1', 'AddV2', ['s_i:1', 'e_one']),
    ...stepNodes,
    node('n_i', 'NextIteration', ['i1']), node('n_acc', 'NextIteration', ['acc1']),
    node('x_i', 'Exit', ['s_i']), node('x_acc', 'Exit', ['s_acc']),
    node('count', 'Identity', ['x_i']), node('result', 'Identity', ['x_acc']),
  ];
}
const loopConsts = [i('zero', [0]), i('one', [1]), f('two', [2]), f('lim', [100]), i('axis', [0]), i('four', [4]), f('onef', [1])];

describe('tfjs while loops', () => {
  it('counted loop: acc = 2 acc + 1 four times -> Loop with a folded trip count of 4', async () => {
    const nodes = whileLoop(
      [node('e_four', 'Enter', ['four'], frame('L', true)), node('less', 'Less', ['m_i', 'e_four'], { T: { type: 'DT_INT32' } })],
      [node('dbl', 'Mul', ['s_acc:1', 'e_two'], T), node('e_onef', 'Enter', ['onef'], frame('L', true)), node('acc1', 'AddV2', ['dbl', 'e_onef'], T)],
    );
    const g = load(nodes, loopConsts, [{ name: 'x', dtype: 'DT_FLOAT', shape: [3] }], ['result', 'count']);
    const loops = g.orderedNodes().filter((n) => n.op === 'Loop');
    expect(loops.length).toBe(1);
    expect(g.constOf(loops[0]!.inputs[0])?.get(0)).toBe(4);
    const x = Tensor.from('f32', [3], [0, 1, -2]);
    const [acc, cnt] = run(g, [x]);
    // four times acc -> 2 acc + 1: 16 x + 15
    close(acc!, [15, 31, -17], [3]);
    close(cnt!, [4], []);
    await checkWithTfjs([acc!, cnt!], [x]);
  });

  it('data-dependent loop: while sum(acc) < 100: acc *= 2 -> Loop with a runtime condition', async () => {
    const nodes = whileLoop(
      [node('sum', 'Sum', ['m_acc', 'e_axis'], T), node('less', 'Less', ['sum', 'e_lim'], T)],
      [node('acc1', 'Mul', ['s_acc:1', 'e_two'], T)],
    );
    const g = load(nodes, loopConsts, [{ name: 'x', dtype: 'DT_FLOAT', shape: [3] }], ['result', 'count']);
    const loop = g.orderedNodes().find((n) => n.op === 'Loop')!;
    expect(loop.inputs[0]).toBeNull();
    // sums 6, 12, 24, 48, 96, 192: five doublings
    let [acc, cnt] = run(g, [Tensor.from('f32', [3], [1, 2, 3])]);
    close(acc!, [32, 64, 96], [3]);
    close(cnt!, [5], []);
    // the condition is false at once: no iteration
    [acc, cnt] = run(g, [Tensor.from('f32', [3], [50, 60, 0])]);
    close(acc!, [50, 60, 0], [3]);
    close(cnt!, [0], []);
    const x = Tensor.from('f32', [3], [0.5, -3, 4]);
    await checkWithTfjs(run(g, [x]), [x]);
  });

  it('map_fn pattern: TensorListFromTensor/GetItem in, TensorListReserve/SetItem/Stack out -> scan output', () => {
    const F = 'M';
    const nodes = [
      node('list_in', 'TensorListFromTensor', ['x', 'eshape'], { element_dtype: { type: 'DT_FLOAT' } }),
      node('reserve', 'TensorListReserve', ['eshape', 'n'], { element_dtype: { type: 'DT_FLOAT' } }),
      node('e_i', 'Enter', ['zero'], frame(F)), node('e_in', 'Enter', ['list_in'], frame(F)), node('e_out', 'Enter', ['reserve'], frame(F)),
      node('e_n', 'Enter', ['n'], frame(F, true)), node('e_one', 'Enter', ['one'], frame(F, true)), node('e_two', 'Enter', ['two'], frame(F, true)),
      node('m_i', 'Merge', ['e_i', 'n_i']), node('m_in', 'Merge', ['e_in', 'n_in']), node('m_out', 'Merge', ['e_out', 'n_out']),
      node('less', 'Less', ['m_i', 'e_n']), node('lc', 'LoopCond', ['less']),
      node('s_i', 'Switch', ['m_i', 'lc']), node('s_in', 'Switch', ['m_in', 'lc']), node('s_out', 'Switch', ['m_out', 'lc']),
      node('idx', 'Identity', ['s_i:1']),
      node('es_body', 'Const', ['^idx'], { value: { tensor: { dtype: 'DT_INT32', tensorShape: { dim: [{ size: '1' }] }, intVal: [2] } } }),
      node('item', 'TensorListGetItem', ['s_in:1', 'idx', 'es_body'], { element_dtype: { type: 'DT_FLOAT' } }),
      node('fi', 'Cast', ['idx'], { DstT: { type: 'DT_FLOAT' } }),
      node('y2', 'Mul', ['item', 'e_two'], T), node('y', 'AddV2', ['y2', 'fi'], T),
      node('set', 'TensorListSetItem', ['s_out:1', 'idx', 'y'], { element_dtype: { type: 'DT_FLOAT' } }),
      node('i1', 'AddV2', ['idx', 'e_one']),
      node('n_i', 'NextIteration', ['i1']), node('n_in', 'NextIteration', ['s_in:1']), node('n_out', 'NextIteration', ['set']),
      node('x_out', 'Exit', ['s_out']),
      node('stack', 'TensorListStack', ['x_out', 'eshape'], { element_dtype: { type: 'DT_FLOAT' } }),
    ];
    const g = load(nodes, [i('zero', [0]), i('one', [1]), f('two', [2]), i('n', [3]), i('eshape', [2], [1])],
      [{ name: 'x', dtype: 'DT_FLOAT', shape: [3, 2] }], ['stack']);
    const loop = g.orderedNodes().find((n) => n.op === 'Loop')!;
    expect(g.constOf(loop.inputs[0])?.get(0)).toBe(3);
    expect(g.typeOf(g.outputs[0]!).shape).toEqual([3, 2]);
    const x = Tensor.from('f32', [3, 2], [1, 2, 3, 4, 5, 6]);
    const [y] = run(g, [x]);
    // row r -> 2 x[r] + r
    close(y!, [2, 4, 7, 9, 12, 14], [3, 2]);
  });

  it('nested loops: 3 times { 2 times acc += 1; acc *= 2 } -> Loop in a Loop body', () => {
    const [O, I] = ['O', 'O/I'];
    const nodes = [
      node('eo_i', 'Enter', ['zero'], frame(O)), node('eo_acc', 'Enter', ['x'], frame(O)),
      ...['zero', 'one', 'two_i', 'three', 'onef', 'twof'].map((c) => node(`eo_${c}`, 'Enter', [c], frame(O, true))),
      node('mo_i', 'Merge', ['eo_i', 'no_i']), node('mo_acc', 'Merge', ['eo_acc', 'no_acc']),
      node('lesso', 'Less', ['mo_i', 'eo_three']), node('lco', 'LoopCond', ['lesso']),
      node('so_i', 'Switch', ['mo_i', 'lco']), node('so_acc', 'Switch', ['mo_acc', 'lco']),
      // inner loop over (j, acc) in the outer body
      node('ei_j', 'Enter', ['eo_zero'], frame(I)), node('ei_acc', 'Enter', ['so_acc:1'], frame(I)),
      node('ei_one', 'Enter', ['eo_one'], frame(I, true)), node('ei_lim', 'Enter', ['eo_two_i'], frame(I, true)),
      node('ei_onef', 'Enter', ['eo_onef'], frame(I, true)),
      node('mi_j', 'Merge', ['ei_j', 'ni_j']), node('mi_acc', 'Merge', ['ei_acc', 'ni_acc']),
      node('lessi', 'Less', ['mi_j', 'ei_lim']), node('lci', 'LoopCond', ['lessi']),
      node('si_j', 'Switch', ['mi_j', 'lci']), node('si_acc', 'Switch', ['mi_acc', 'lci']),
      node('j1', 'AddV2', ['si_j:1', 'ei_one']), node('acc_i1', 'AddV2', ['si_acc:1', 'ei_onef'], T),
      node('ni_j', 'NextIteration', ['j1']), node('ni_acc', 'NextIteration', ['acc_i1']),
      node('xi_acc', 'Exit', ['si_acc']),
      node('acc_o1', 'Mul', ['xi_acc', 'eo_twof'], T), node('io1', 'AddV2', ['so_i:1', 'eo_one']),
      node('no_i', 'NextIteration', ['io1']), node('no_acc', 'NextIteration', ['acc_o1']),
      node('xo_acc', 'Exit', ['so_acc']), node('result', 'Identity', ['xo_acc']),
    ];
    const g = load(nodes, [i('zero', [0]), i('one', [1]), i('two_i', [2]), i('three', [3]), f('onef', [1]), f('twof', [2])],
      [{ name: 'x', dtype: 'DT_FLOAT', shape: [2] }], ['result']);
    const outer = g.orderedNodes().find((n) => n.op === 'Loop')!;
    expect(g.constOf(outer.inputs[0])?.get(0)).toBe(3);
    const body = outer.attrs['body'] as Graph;
    expect(body.orderedNodes().filter((n) => n.op === 'Loop').length).toBe(1);
    const x = Tensor.from('f32', [2], [0, -1]);
    const [y] = run(g, [x]);
    // acc -> 2 (acc + 2), three times: 8 x + 28
    close(y!, [28, 20], [2]);
  });

  it('a loop variable that grows across iterations is rejected in one line', () => {
    const nodes = whileLoop(
      [node('e_four', 'Enter', ['four'], frame('L', true)), node('less', 'Less', ['m_i', 'e_four'], { T: { type: 'DT_INT32' } })],
      [node('acc1', 'ConcatV2', ['s_acc:1', 's_acc:1', 'e_axis'], T)],
    );
    expect(() => load(nodes, loopConsts, [{ name: 'x', dtype: 'DT_FLOAT', shape: [3] }], ['result', 'count']))
      .toThrow(/loop variable "m_acc" changes type across iterations \(f32\[3\] -> f32\[6\]\)/);
  });

  it('a list written at an index that is not the iteration count is rejected in one line', () => {
    const F = 'M';
    const nodes = [
      node('reserve', 'TensorListReserve', ['eshape', 'n'], { element_dtype: { type: 'DT_FLOAT' } }),
      node('e_i', 'Enter', ['one'], frame(F)), node('e_out', 'Enter', ['reserve'], frame(F)),
      node('e_n', 'Enter', ['n'], frame(F, true)), node('e_one', 'Enter', ['one'], frame(F, true)),
      node('m_i', 'Merge', ['e_i', 'n_i']), node('m_out', 'Merge', ['e_out', 'n_out']),
      node('less', 'Less', ['m_i', 'e_n']), node('lc', 'LoopCond', ['less']),
      node('s_i', 'Switch', ['m_i', 'lc']), node('s_out', 'Switch', ['m_out', 'lc']),
      node('set', 'TensorListSetItem', ['s_out:1', 's_i:1', 'x'], { element_dtype: { type: 'DT_FLOAT' } }),
      node('i1', 'AddV2', ['s_i:1', 'e_one']),
      node('n_i', 'NextIteration', ['i1']), node('n_out', 'NextIteration', ['set']),
      node('x_out', 'Exit', ['s_out']),
      node('stack', 'TensorListStack', ['x_out', 'eshape'], { element_dtype: { type: 'DT_FLOAT' } }),
    ];
    expect(() => load(nodes, [i('one', [1]), i('n', [3]), i('eshape', [2], [1])], [{ name: 'x', dtype: 'DT_FLOAT', shape: [2] }], ['stack']))
      .toThrow(/TensorListSetItem "set" does not write at the iteration index/);
  });

  it('tf.cond (Switch -> branches -> Merge) -> one If for both Merges of the predicate', () => {
    // then (x > 0): 3 exp(x) (3 is a Const under the pivot's control edge); else: -x
    const nodes = [
      node('p', 'Greater', ['x', 'zero'], T),
      node('sp', 'Switch', ['p', 'p']), node('pivot_t', 'Identity', ['sp:1']),
      node('sw', 'Switch', ['x', 'p']),
      node('a', 'Neg', ['sw:0'], T), node('b', 'Exp', ['sw:1'], T),
      node('k3', 'Const', ['^pivot_t'], { value: { tensor: { dtype: 'DT_FLOAT', tensorShape: {}, floatVal: [3] } } }),
      node('b3', 'Mul', ['b', 'k3'], T),
      node('mg', 'Merge', ['a', 'b3']), node('mg2', 'Merge', ['b', 'a']),
    ];
    const g = load(nodes, [f('zero', [0])], [{ name: 'x', dtype: 'DT_FLOAT', shape: [] }], ['mg', 'mg:1', 'mg2', 'mg2:1']);
    expect(g.orderedNodes().filter((n) => n.op === 'If').length).toBe(1);
    for (const x of [0.5, -2, 0]) {
      const [y, yi, y2, y2i] = run(g, [Tensor.from('f32', [], [x])]);
      close(y!, [x > 0 ? 3 * Math.exp(x) : -x], []);
      close(yi!, [x > 0 ? 1 : 0], []);
      close(y2!, [x > 0 ? Math.exp(x) : -x], []);
      close(y2i!, [x > 0 ? 0 : 1], []);
    }

  });

  it('a Switch output read outside any Merge is rejected in one line', () => {
    const nodes = [node('p', 'Greater', ['x', 'x']), node('sw', 'Switch', ['x', 'p']), node('a', 'Neg', ['sw:0'], T)];
    let err: unknown;
    try {
      load(nodes, [], [{ name: 'x', dtype: 'DT_FLOAT', shape: [] }], ['a']);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EdgecError);
    expect((err as EdgecError).kind).toBe('unsupported');
    expect((err as EdgecError).message).toMatch(/outside the while-loop and tf.cond patterns/);
  });
});

// ---------------------------------------------------------------------------------------------

/** Boxes [N, 4] (y1, x1, y2, x2) with exact-IoU ties, flipped corners and a degenerate box. */
const BOXES = [
  0, 0, 1, 1, // 0
  0, 0, 1, 0.5, // 1: IoU with 0 is exactly 0.5
  1, 1, 0, 0, // 2: box 0 with flipped corners (IoU 1)
  0, 2, 1, 3, // 3: disjoint
  0, 2.25, 1, 3.25, // 4: IoU with 3 = 0.75/1.25 = 0.6
  0.5, 0.5, 0.5, 0.9, // 5: zero area
  2, 2, 3, 3, // 6
  2, 2, 3, 3, // 7: same as 6, same score (tie: lower index first)
];
const SCORES = [0.9, 0.8, 0.85, 0.7, 0.75, 0.95, 0.3, 0.3];

interface NmsCase { v: 3 | 4 | 5; max: number; iou: number; score: number; pad?: boolean }

function nmsGraph(c: NmsCase): Graph {
  const ins = ['boxes', 'x', 'max', 'iou', ...(c.v >= 3 ? ['score'] : []), ...(c.v === 5 ? ['sigma'] : [])];
  const consts = [f('boxes', BOXES, [8, 4]), i('max', [c.max]), f('iou', [c.iou]), f('score', [c.score]), f('sigma', [0])];
  const outs = c.v === 3 ? ['nms'] : c.v === 4 ? ['nms', 'nms:1'] : ['nms', 'nms:1', 'nms:2'];
  const attr = c.v >= 4 ? { pad_to_max_output_size: { b: !!c.pad } } : {};
  return load([node('nms', `NonMaxSuppressionV${c.v}`, ins, attr)], consts, [{ name: 'x', dtype: 'DT_FLOAT', shape: [8] }], outs);
}

describe('tfjs NonMaxSuppressionV3/V4/V5 vs tfjs-core kernels', () => {
  const cases: NmsCase[] = [
    { v: 3, max: 8, iou: 0.5, score: 0.1 },
    { v: 3, max: 2, iou: 0.5, score: 0.1 },
    { v: 3, max: 8, iou: 0.65, score: 0.1 },
    { v: 3, max: 8, iou: 0.7, score: 0.8 },
    { v: 3, max: 8, iou: 0, score: 0.1 },
    { v: 4, max: 8, iou: 0.5, score: 0.1, pad: true },
    { v: 4, max: 8, iou: 0.5, score: 0.1, pad: false },
    { v: 5, max: 6, iou: 0.4, score: 0.2 },
    { v: 5, max: 8, iou: 0.55, score: -1, pad: true },
  ];
  for (const c of cases) {
    it(`V${c.v} max ${c.max} iou ${c.iou} score ${c.score}${c.pad ? ' padded' : ''}`, () => {
      const g = nmsGraph(c);
      const outs = run(g, [Tensor.from('f32', [8], SCORES)]);
      const b = Float32Array.from(BOXES);
      const s = Float32Array.from(SCORES);
      const iou = Math.fround(c.iou);
      const st = Math.fround(c.score);
      if (c.v === 3) {
        const want = kernel_impls.nonMaxSuppressionV3Impl(b, s, c.max, iou, st);
        close(outs[0]!, want.selectedIndices, [want.selectedIndices.length]);
      } else if (c.v === 4) {
        const want = kernel_impls.nonMaxSuppressionV4Impl(b, s, c.max, iou, st, !!c.pad);
        expect(outs[0]!.dtype).toBe('i32');
        close(outs[0]!, want.selectedIndices, [want.selectedIndices.length]);
        close(outs[1]!, [want.validOutputs!], []);
      } else {
        const want = kernel_impls.nonMaxSuppressionV5Impl(b, s, c.max, iou, st, 0);
        // TF pads V5 outputs too when asked (tfjs's V5 kernel does not take the flag)
        const n = want.selectedIndices.length;
        const pad = c.pad ? c.max - n : 0;
        close(outs[0]!, [...want.selectedIndices, ...new Array<number>(pad).fill(0)], [n + pad]);
        close(outs[1]!, [...want.selectedScores!, ...new Array<number>(pad).fill(0)], [n + pad]);
        close(outs[2]!, [n], []);
      }
    });
  }

  it('an IoU equal to the threshold in float32 suppresses (TensorFlow computes IoU in float32)', () => {
    // boxes 3 and 4: IoU 0.75 / 1.25 rounds to fround(0.6) = the threshold, and TF drops IoU >= it.
    // (tfjs-core computes IoU in float64, 0.6 < fround(0.6), and keeps box 3: the two differ only
    // when an IoU is within one float32 step of the threshold.) By hand, in score order:
    // 5 (zero area: IoU 0 with all), 0, 2 (IoU 1 with 0: dropped), 1 (IoU 0.5), 4, 3 (dropped), 6, 7 (= 6: dropped)
    const g = nmsGraph({ v: 3, max: 8, iou: 0.6, score: 0.1 });
    close(run(g, [Tensor.from('f32', [8], SCORES)])[0]!, [5, 0, 1, 4, 6], [5]);
  });

  for (const [sigma, iou, score, max, pad] of [[0.5, 0.5, 0.1, 8, false], [0.25, 0.9, 0.05, 6, true], [1, 0.7, 0.3, 3, false]] as const) {
    it(`soft-NMS sigma ${sigma} iou ${iou} score ${score} max ${max}${pad ? ' padded' : ''} (edgec TfNonMaxSuppression)`, () => {
      const consts = [f('boxes', BOXES, [8, 4]), i('max', [max]), f('iou', [iou]), f('score', [score]), f('sigma', [sigma])];
      const g = load([node('nms', 'NonMaxSuppressionV5', ['boxes', 'x', 'max', 'iou', 'score', 'sigma'], { pad_to_max_output_size: { b: pad } })], consts,
        [{ name: 'x', dtype: 'DT_FLOAT', shape: [8] }], ['nms', 'nms:1', 'nms:2']);
      expect(g.orderedNodes().some((n) => n.op === 'TfNonMaxSuppression' && n.domain === 'edgec')).toBe(true);
      const outs = run(g, [Tensor.from('f32', [8], SCORES)]);
      const want = kernel_impls.nonMaxSuppressionV5Impl(Float32Array.from(BOXES), Float32Array.from(SCORES), max, Math.fround(iou), Math.fround(score), Math.fround(sigma));
      const n = want.selectedIndices.length;
      const padN = pad ? max - n : 0;
      close(outs[0]!, [...want.selectedIndices, ...new Array<number>(padN).fill(0)], [n + padN]);
      close(outs[1]!, [...want.selectedScores!, ...new Array<number>(padN).fill(0)], [n + padN]);
      close(outs[2]!, [n], []);
    });
  }
});
