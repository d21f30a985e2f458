/**
 * MAC counts of the MLPerf Tiny reference architectures must equal the published numbers
 * (MLPerf Tiny v1.0: ResNet-8 12.50M, DS-CNN 2.66M, MobileNetV1-0.25 7.49M, autoencoder 0.264M;
 * MobileNetV2 300.8M). Only Conv, ConvTranspose, Gemm and MatMul count.
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadOnnxFile } from '../../compiler/frontends/onnx/import.js';
import { inferCtxOf } from '../../compiler/interp/interp.js';
import { opOf, parseAttrs, opsetOf } from '../../compiler/ops/registry.js';
import { Graph } from '../../compiler/ir/graph.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const BENCH = path.resolve(here, '../../../shared/models/bench');
const COUNTED = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul']);

function macsOf(g: Graph): number {
  let total = 0;
  for (const n of g.orderedNodes()) {
    if (!COUNTED.has(n.op)) continue;
    const def = opOf(n, g);
    const a = parseAttrs(def, n, opsetOf(n, g));
    const outs = n.outputs.map((o) => g.typeOf(o));
    total += def.cost!(inferCtxOf(g, n), a, outs).macs;
  }
  return total;
}

const published: [string, number, number][] = [
  // model, published MACs (millions), digits published
  ['resnet8', 12.5, 2],
  ['dscnn', 2.66, 2],
  ['mobilenetv1_025', 7.49, 2],
  ['autoencoder', 0.264, 3],
  ['mobilenetv2', 300.8, 1],
];

describe.skipIf(!fs.existsSync(BENCH))('published MACs of bench models', () => {
  for (const [name, want, digits] of published) {
    it(name, () => {
      const g = loadOnnxFile(path.join(BENCH, `${name}.onnx`));
      const m = macsOf(g) / 1e6;
      expect(Number(m.toFixed(digits))).toBe(want);
    });
  }
});
