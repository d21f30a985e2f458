/**
 * TF.js layers models (Keras topology) built in code: model.json + weights.bin written from a
 * spec, imported, run on the reference interpreter and compared with the independent naive NHWC
 * implementation in naive.ts (before and after the optimization pipeline).
 */
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadTfjsModel } from '../../compiler/frontends/tfjs/index.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { optimize } from '../../compiler/pipeline.js';
import { verify } from '../../compiler/ir/verify.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { Graph } from '../../compiler/ir/graph.js';
import { compareTensors } from '../helpers/compare.js';
import { Arr, arr, bn, concatLast, conv2d, convTranspose, dense, globalPool, lcg, map, pool, softmaxLast, upsample, zeroPad } from './naive.js';
import { W, manifest, tmpDir, writeModel, cleanup } from './fixture.js';

const TOL = { rtol: 1e-4, atol: 1e-5 };

/** Random float32-representable weights, returned both as a manifest entry and a naive array. */
function weights(seed: number) {
  const rnd = lcg(seed);
  const ws: W[] = [];
  const get = (name: string, shape: number[], f: (v: number) => number = (v) => v): Arr => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = Array.from({ length: n }, () => Math.fround(f(rnd())));
    ws.push({ name, shape, data });
    return arr(shape, data);
  };
  return { ws, get };
}

function layersJson(modelConfig: unknown, ws: W[]) {
  const m = manifest(ws);
  return {
    json: {
      format: 'layers-model', generatedBy: 'keras v2.x', convertedBy: 'test',
      modelTopology: { keras_version: '2.15.0', backend: 'tensorflow', model_config: modelConfig },
      weightsManifest: m.manifest,
    },
    bytes: m.bytes,
  };
}

function toTensor(a: Arr): Tensor {
  return Tensor.from('f32', a.shape, a.data);
}

function check(g: Graph, inputs: Arr[], want: Arr[]): void {
  const outs = runGraph(g, inputs.map(toTensor));
  expect(outs.length).toBe(want.length);
  want.forEach((w, k) => expect(compareTensors(outs[k]!, Tensor.from('f32', w.shape, w.data), TOL), `output ${k}`).toBeNull());
}

function loadAndCheck(json: unknown, bytes: Uint8Array, tag: string, inputs: Arr[], want: Arr[]): Graph {
  const file = writeModel(tmpDir(tag), json, { 'weights.bin': bytes });
  const g = loadTfjsModel(file);
  verify(g);
  check(g, inputs, want);
  optimize(g, { target: 'wasm', verify: true });
  check(g, inputs, want);
  return g;
}

const input = (shape: number[], seed: number): Arr => {
  const r = lcg(seed);
  return arr(shape, Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => Math.fround(r())));
};

afterAll(cleanup);

describe('tfjs layers models', () => {
  it('Sequential: Conv2D(same, stride 2) > DepthwiseConv2D > BatchNorm > ReLU(6) > MaxPool(same) > Flatten > Dropout > Dense(softmax)', () => {
    const { ws, get } = weights(7);
    const ck = get('conv/kernel', [3, 3, 3, 4]);
    const cb = get('conv/bias', [4]);
    const dk = get('dw/depthwise_kernel', [3, 3, 4, 2]);
    const db = get('dw/bias', [8]);
    const gamma = get('bn/gamma', [8], (v) => 1 + v / 2);
    const beta = get('bn/beta', [8]);
    const mean = get('bn/moving_mean', [8]);
    const variance = get('bn/moving_variance', [8], (v) => 0.5 + Math.abs(v));
    const fk = get('fc/kernel', [72, 5]);
    const fb = get('fc/bias', [5]);
    const config = {
      class_name: 'Sequential',
      config: {
        name: 'seq',
        layers: [
          { class_name: 'InputLayer', config: { batch_input_shape: [null, 9, 9, 3], dtype: 'float32', name: 'image' } },
          { class_name: 'Conv2D', config: { name: 'conv', filters: 4, kernel_size: [3, 3], strides: [2, 2], padding: 'same', activation: 'relu', use_bias: true, data_format: 'channels_last', dilation_rate: [1, 1] } },
          { class_name: 'DepthwiseConv2D', config: { name: 'dw', kernel_size: [3, 3], strides: [1, 1], padding: 'same', depth_multiplier: 2, use_bias: true, activation: 'linear' } },
          { class_name: 'BatchNormalization', config: { name: 'bn', axis: [3], epsilon: 0.001, center: true, scale: true } },
          { class_name: 'ReLU', config: { name: 'relu6', max_value: 6, negative_slope: 0, threshold: 0 } },
          { class_name: 'MaxPooling2D', config: { name: 'pool', pool_size: [2, 2], strides: [2, 2], padding: 'same' } },
          { class_name: 'Flatten', config: { name: 'flat' } },
          { class_name: 'Dropout', config: { name: 'drop', rate: 0.5 } },
          { class_name: 'Dense', config: { name: 'fc', units: 5, activation: 'softmax', use_bias: true } },
        ],
      },
    };
    const { json, bytes } = layersJson(config, ws);
    const x = input([1, 9, 9, 3], 1);
    let y = map(conv2d(x, ck, cb, [2, 2], 'same'), (v) => Math.max(v, 0));
    y = conv2d(y, dk, db, [1, 1], 'same', { depthwise: true });
    y = map(bn(y, gamma, beta, mean, variance, 1e-3), (v) => Math.min(Math.max(v, 0), 6));
    y = pool(y, 'max', [2, 2], [2, 2], 'same');
    y = softmaxLast(dense(arr([1, 72], y.data), fk, fb));
    const g = loadAndCheck(json, bytes, 'seq', [x], [y]);
    expect(g.value(g.inputs[0]!).name).toBe('image');
    expect(g.value(g.outputs[0]!).name).toBe('fc');
  });

  it('Functional: Conv2D + SeparableConv2D > Add > Concatenate > ZeroPadding2D > AvgPool > UpSampling2D > GAP > Dense, second output GlobalMaxPool', () => {
    const { ws, get } = weights(11);
    const ak = get('a/kernel', [1, 1, 2, 3]);
    const ab = get('a/bias', [3]);
    const sdk = get('b/depthwise_kernel', [3, 3, 2, 1]);
    const spk = get('b/pointwise_kernel', [1, 1, 2, 3]);
    const sb = get('b/bias', [3]);
    const ok = get('out/kernel', [5, 4]);
    const ob = get('out/bias', [4]);
    const inb = (...names: string[]) => [names.map((n) => [n, 0, 0, {}])];
    const config = {
      class_name: 'Functional',
      config: {
        name: 'fn',
        layers: [
          { class_name: 'InputLayer', name: 'in', config: { batch_input_shape: [null, 8, 8, 2], dtype: 'float32', name: 'in' }, inbound_nodes: [] },
          { class_name: 'Conv2D', name: 'a', config: { name: 'a', filters: 3, kernel_size: 1, strides: 1, padding: 'valid', activation: 'linear', use_bias: true }, inbound_nodes: inb('in') },
          { class_name: 'SeparableConv2D', name: 'b', config: { name: 'b', filters: 3, kernel_size: [3, 3], strides: [1, 1], padding: 'same', depth_multiplier: 1, activation: 'relu', use_bias: true }, inbound_nodes: inb('in') },
          { class_name: 'Add', name: 'add', config: { name: 'add' }, inbound_nodes: inb('a', 'b') },
          { class_name: 'Concatenate', name: 'cat', config: { name: 'cat', axis: -1 }, inbound_nodes: inb('add', 'in') },
          { class_name: 'ZeroPadding2D', name: 'zp', config: { name: 'zp', padding: [[1, 1], [1, 1]] }, inbound_nodes: inb('cat') },
          { class_name: 'AveragePooling2D', name: 'ap', config: { name: 'ap', pool_size: [3, 3], strides: [2, 2], padding: 'valid' }, inbound_nodes: inb('zp') },
          { class_name: 'UpSampling2D', name: 'up', config: { name: 'up', size: [2, 2], interpolation: 'nearest' }, inbound_nodes: inb('ap') },
          { class_name: 'GlobalAveragePooling2D', name: 'gap', config: { name: 'gap' }, inbound_nodes: inb('up') },
          { class_name: 'Dense', name: 'out', config: { name: 'out', units: 4, activation: 'linear', use_bias: true }, inbound_nodes: inb('gap') },
          { class_name: 'GlobalMaxPooling2D', name: 'gmp', config: { name: 'gmp' }, inbound_nodes: inb('cat') },
        ],
        input_layers: [['in', 0, 0]],
        output_layers: [['out', 0, 0], ['gmp', 0, 0]],
      },
    };
    const { json, bytes } = layersJson(config, ws);
    const x = input([1, 8, 8, 2], 2);
    const a = conv2d(x, ak, ab, [1, 1], 'valid');
    const d = conv2d(x, sdk, null, [1, 1], 'same', { depthwise: true });
    const b = map(conv2d(d, spk, sb, [1, 1], 'valid'), (v) => Math.max(v, 0));
    const add = map(a, (v, i) => v + b.data[i]!);
    const cat = concatLast(add, x);
    const up = upsample(pool(zeroPad(cat, 1, 1, 1, 1), 'avg', [3, 3], [2, 2], 'valid'), 2, 2);
    const out = dense(globalPool(up, 'avg'), ok, ob);
    const gmp = globalPool(cat, 'max');
    const g = loadAndCheck(json, bytes, 'fn', [x], [out, gmp]);
    expect(g.outputs.map((o) => g.value(o).name)).toEqual(['out', 'gmp']);
    // symbolic batch: a batch of 2 equal samples gives each output twice
    const gs = loadTfjsModel(writeModel(tmpDir('fn-sym'), json, { 'weights.bin': bytes }), { symbolicToOne: false });
    expect(typeof gs.typeOf(gs.inputs[0]!).shape[0]).toBe('string');
    const twice = (a: Arr): Arr => arr([2, ...a.shape.slice(1)], [...a.data, ...a.data]);
    check(gs, [twice(x)], [twice(out), twice(gmp)]);
  });

  it('Sequential 1-D: Conv1D(causal, dilation 2, relu) > MaxPooling1D > GlobalMaxPooling1D', () => {
    const { ws, get } = weights(5);
    const k = get('c1/kernel', [3, 3, 4]);
    const bias = get('c1/bias', [4]);
    const config = {
      class_name: 'Sequential',
      config: {
        name: 'seq1d',
        layers: [
          { class_name: 'Conv1D', config: { name: 'c1', batch_input_shape: [null, 10, 3], filters: 4, kernel_size: [3], strides: [1], padding: 'causal', dilation_rate: [2], activation: 'relu', use_bias: true } },
          { class_name: 'MaxPooling1D', config: { name: 'p1', pool_size: [2], strides: [2], padding: 'valid' } },
          { class_name: 'GlobalMaxPooling1D', config: { name: 'g1' } },
        ],
      },
    };
    const { json, bytes } = layersJson(config, ws);
    const x = input([1, 10, 3], 3);
    const x4 = arr([1, 1, 10, 3], x.data);
    const k4 = arr([1, 3, 3, 4], k.data);
    let y = map(conv2d(x4, k4, bias, [1, 1], 'valid', { dilation: [1, 2], padTop: 0, outH: 1, padLeft: 4, outW: 10 }), (v) => Math.max(v, 0));
    y = pool(y, 'max', [1, 2], [1, 2], 'valid');
    const want = globalPool(y, 'max');
    loadAndCheck(json, bytes, 'seq1d', [x], [want]);
  });

  it('Sequential: Cropping2D > Conv2D(1x1) > PReLU > Flatten > Dense; Embedding > Flatten', () => {
    const { ws, get } = weights(13);
    const ck = get('c/kernel', [1, 1, 2, 2]);
    const cb = get('c/bias', [2]);
    const alpha = get('pr/alpha', [3, 4, 2], (v) => v / 4);
    const fk = get('d/kernel', [24, 3]);
    const fb = get('d/bias', [3]);
    const config = {
      class_name: 'Sequential',
      config: {
        name: 'crop',
        layers: [
          { class_name: 'Cropping2D', config: { name: 'crop', batch_input_shape: [null, 6, 5, 2], cropping: [[1, 2], [0, 1]] } },
          { class_name: 'Conv2D', config: { name: 'c', filters: 2, kernel_size: [1, 1], padding: 'valid', activation: 'linear' } },
          { class_name: 'PReLU', config: { name: 'pr' } },
          { class_name: 'Flatten', config: { name: 'f' } },
          { class_name: 'Dense', config: { name: 'd', units: 3, activation: 'tanh' } },
        ],
      },
    };
    const { json, bytes } = layersJson(config, ws);
    const x = input([1, 6, 5, 2], 4);
    const cropped = arr([1, 3, 4, 2]);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) for (let c = 0; c < 2; c++) {
      cropped.data[(i * 4 + j) * 2 + c] = x.data[((i + 1) * 5 + j) * 2 + c]!;
    }
    const y = map(conv2d(cropped, ck, cb, [1, 1], 'valid'), (v, i) => (v >= 0 ? v : v * alpha.data[i]!));
    const want = map(dense(arr([1, 24], y.data), fk, fb), Math.tanh);
    loadAndCheck(json, bytes, 'crop', [x], [want]);

    const e = weights(17);
    const emb = e.get('emb/embeddings', [5, 3]);
    const econfig = {
      class_name: 'Sequential',
      config: {
        name: 'emb',
        layers: [
          { class_name: 'InputLayer', config: { name: 'ids', batch_input_shape: [null, 4], dtype: 'int32' } },
          { class_name: 'Embedding', config: { name: 'emb', input_dim: 5, output_dim: 3 } },
          { class_name: 'Flatten', config: { name: 'f' } },
        ],
      },
    };
    const ej = layersJson(econfig, e.ws);
    const g = loadTfjsModel(writeModel(tmpDir('emb'), ej.json, { 'weights.bin': ej.bytes }));
    const ids = [4, 0, 2, 2];
    const out = runGraph(g, [Tensor.from('i32', [1, 4], ids)])[0]!;
    const ew = ids.flatMap((i) => Array.from(emb.data.slice(i * 3, i * 3 + 3)));
    expect(compareTensors(out, Tensor.from('f32', [1, 12], ew), TOL)).toBeNull();
  });

  for (const padding of ['same', 'valid'] as const) {
    it(`Conv2DTranspose(${padding}, stride 2, relu)`, () => {
      const { ws, get } = weights(19);
      const k = get('dc/kernel', [3, 3, 4, 2]);
      const bias = get('dc/bias', [4]);
      const config = {
        class_name: 'Sequential',
        config: { name: 'dc', layers: [{ class_name: 'Conv2DTranspose', config: { name: 'dc', batch_input_shape: [null, 3, 4, 2], filters: 4, kernel_size: [3, 3], strides: [2, 2], padding, activation: 'relu' } }] },
      };
      const { json, bytes } = layersJson(config, ws);
      const x = input([1, 3, 4, 2], 6);
      const [oh, ow] = padding === 'same' ? [6, 8] : [7, 9];
      const want = map(convTranspose(x, k, bias, [2, 2], padding, oh, ow), (v) => Math.max(v, 0));
      loadAndCheck(json, bytes, 'dc', [x], [want]);
    });
  }

  it('Functional: layers listed out of order, a shared layer called twice, a cycle is rejected', () => {
    const { ws, get } = weights(23);
    const k = get('sh/kernel', [3, 3]);
    const bias = get('sh/bias', [3]);
    const config = {
      class_name: 'Functional',
      config: {
        name: 'shared',
        layers: [
          { class_name: 'Add', name: 'sum', config: { name: 'sum' }, inbound_nodes: [[['sh', 0, 0, {}], ['sh', 1, 0, {}]]] },
          { class_name: 'Dense', name: 'sh', config: { name: 'sh', units: 3, activation: 'relu' }, inbound_nodes: [[['in', 0, 0, {}]], [['neg', 0, 0, {}]]] },
          { class_name: 'Rescaling', name: 'neg', config: { name: 'neg', scale: -1, offset: 0.5 }, inbound_nodes: [[['in', 0, 0, {}]]] },
          { class_name: 'InputLayer', name: 'in', config: { name: 'in', batch_input_shape: [null, 3] }, inbound_nodes: [] },
        ],
        input_layers: [['in', 0, 0]],
        output_layers: [['sum', 0, 0]],
      },
    };
    const { json, bytes } = layersJson(config, ws);
    const x = input([1, 3], 8);
    const relu = (a: Arr) => map(a, (v) => Math.max(v, 0));
    const a = relu(dense(x, k, bias));
    const b = relu(dense(map(x, (v) => -v + 0.5), k, bias));
    loadAndCheck(json, bytes, 'shared', [x], [map(a, (v, i) => v + b.data[i]!)]);
    // make "neg" read from "sum": sh:1 -> neg -> ... -> sum -> neg is a cycle
    (config.config.layers[2]!.inbound_nodes as unknown[]) = [[['sum', 0, 0, {}]]];
    const bad = layersJson(config, ws);
    expect(() => loadTfjsModel(writeModel(tmpDir('cycle'), bad.json, { 'weights.bin': bad.bytes })))
      .toThrow(expect.objectContaining({ kind: 'invalid', message: expect.stringMatching(/cycle/) }));
  });

  it('unsupported layers are named', () => {
    const config = {
      class_name: 'Sequential',
      config: { name: 's', layers: [{ class_name: 'LSTM', config: { name: 'lstm', batch_input_shape: [null, 4, 3], units: 2 } }] },
    };
    const { json, bytes } = layersJson(config, []);
    const file = writeModel(tmpDir('lstm'), json, { 'weights.bin': bytes });
    expect(() => loadTfjsModel(file)).toThrow(expect.objectContaining({ kind: 'unsupported', message: expect.stringMatching(/Keras layer LSTM/) }));
    try {
      loadTfjsModel(file);
    } catch (e) {
      expect((e as { ctx: { node: string } }).ctx.node).toBe('lstm');
    }
    expect(path.basename(file)).toBe('model.json');
  });
});
