/**
 * Robustness: random structural mutations of small graph-model and layers-model model.json files
 * must either load or fail with an EdgecError (never a TypeError or other crash).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadTfjsModel } from '../../compiler/frontends/tfjs/index.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { EdgecError } from '../../compiler/errors.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { b64, f32Bytes, node, tfShape, tmpDir, cleanup } from './fixture.js';
import { lcg } from './naive.js';

const graphModel = {
  format: 'graph-model',
  modelTopology: {
    node: [
      node('x', 'Placeholder', [], { dtype: { type: 'DT_FLOAT' }, shape: tfShape([1, 4, 4, 2]) }),
      node('k', 'Const', [], {}),
      node('b', 'Const', [], {}),
      node('conv', '_FusedConv2D', ['x', 'k', 'b'], {
        strides: { list: { i: ['1', '1', '1', '1'] } }, padding: { s: b64('SAME') }, fused_ops: { list: { s: [b64('BiasAdd'), b64('Relu')] } },
        num_args: { i: '1' }, data_format: { s: b64('NHWC') }, dilations: { list: { i: ['1', '1', '1', '1'] } },
      }),
      node('pool', 'MaxPool', ['conv'], { ksize: { list: { i: ['1', '2', '2', '1'] } }, strides: { list: { i: ['1', '2', '2', '1'] } }, padding: { s: b64('VALID') } }),
      node('out', 'Identity', ['pool']),
    ],
  },
  weightsManifest: [{ paths: ['w.bin'], weights: [{ name: 'k', shape: [3, 3, 2, 2], dtype: 'float32' }, { name: 'b', shape: [2], dtype: 'float32' }] }],
};
const graphBytes = f32Bytes(Array.from({ length: 38 }, (_, i) => (i % 7) / 7 - 0.4));

const layersModel = {
  format: 'layers-model',
  modelTopology: {
    model_config: {
      class_name: 'Functional',
      config: {
        name: 'm',
        layers: [
          { class_name: 'InputLayer', name: 'in', config: { name: 'in', batch_input_shape: [null, 4, 4, 2] }, inbound_nodes: [] },
          { class_name: 'Conv2D', name: 'c', config: { name: 'c', filters: 2, kernel_size: 3, padding: 'same', activation: 'relu' }, inbound_nodes: [[['in', 0, 0, {}]]] },
          { class_name: 'Add', name: 'a', config: { name: 'a' }, inbound_nodes: [[['c', 0, 0, {}], ['in', 0, 0, {}]]] },
          { class_name: 'GlobalAveragePooling2D', name: 'g', config: { name: 'g' }, inbound_nodes: [[['a', 0, 0, {}]]] },
          { class_name: 'Dense', name: 'd', config: { name: 'd', units: 2 }, inbound_nodes: [[['g', 0, 0, {}]]] },
        ],
        input_layers: [['in', 0, 0]],
        output_layers: [['d', 0, 0]],
      },
    },
  },
  weightsManifest: [{
    paths: ['w.bin'],
    weights: [{ name: 'c/kernel', shape: [3, 3, 2, 2], dtype: 'float32' }, { name: 'c/bias', shape: [2], dtype: 'float32' },
      { name: 'd/kernel', shape: [2, 2], dtype: 'float32' }, { name: 'd/bias', shape: [2], dtype: 'float32' }],
  }],
};
const layersBytes = f32Bytes(Array.from({ length: 44 }, (_, i) => (i % 5) / 5 - 0.3));

const ODD: unknown[] = [null, 0, -1, 1.5, 1e300, '', 'x', '-1', 'NaN', '__proto__', 'constructor', true, [], {}, [1, 2], { i: '1' }, { __proto__x: 1 }, 'U0FNRQ==', [null], { list: {} }];

/** All JSON paths (arrays of keys) in v. */
function paths(v: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...prefix, i], out));
  else if (v && typeof v === 'object') for (const k of Object.keys(v)) paths((v as Record<string, unknown>)[k], [...prefix, k], out);
  return out;
}

function mutate(base: unknown, rnd: () => number): unknown {
  const j = JSON.parse(JSON.stringify(base)) as unknown;
  const n = 1 + Math.floor(((rnd() + 1) / 2) * 3);
  for (let m = 0; m < n; m++) {
    const ps = paths(j).filter((p) => p.length > 0);
    const p = ps[Math.floor(((rnd() + 1) / 2) * ps.length)]!;
    let parent = j as Record<string | number, unknown>;
    for (const k of p.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
    const last = p[p.length - 1]!;
    const r = (rnd() + 1) / 2;
    if (r < 0.15 && !Array.isArray(parent)) delete parent[last];
    else parent[last] = JSON.parse(JSON.stringify(ODD[Math.floor(((rnd() + 1) / 2) * ODD.length)] ?? null)) as unknown;
  }
  return j;
}

afterAll(cleanup);

describe('tfjs loader fuzz: mutated model.json gives a Graph or an EdgecError', () => {
  for (const [what, base, bytes, shape] of [['graph model', graphModel, graphBytes, [1, 4, 4, 2]], ['layers model', layersModel, layersBytes, [1, 4, 4, 2]]] as const) {
    it(`${what}: 300 mutations`, () => {
      const dir = tmpDir('fuzz');
      fs.writeFileSync(path.join(dir, 'w.bin'), bytes);
      const file = path.join(dir, 'model.json');
      fs.writeFileSync(file, JSON.stringify(base));
      // the unmutated model loads and runs
      runGraph(loadTfjsModel(file), [Tensor.zeros('f32', shape)]);
      const rnd = lcg(what.length * 7919);
      let loaded = 0;
      let rejected = 0;
      for (let it = 0; it < 300; it++) {
        const j = mutate(base, rnd);
        fs.writeFileSync(file, JSON.stringify(j));
        try {
          loadTfjsModel(file);
          loaded++;
        } catch (e) {
          if (!(e instanceof EdgecError)) {
            throw new Error(`mutation ${it} crashed with ${(e as Error).stack}\n${JSON.stringify(j).slice(0, 2000)}`);
          }
          expect(e.kind, e.oneLine()).not.toBe('internal');
          rejected++;
        }
      }
      expect(loaded + rejected).toBe(300);
      expect(rejected).toBeGreaterThan(0);
    });
  }
});
