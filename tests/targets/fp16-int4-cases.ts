/**
 * Shared cases of the --fp16 / --int4 target tests (wasm-fp16-int4.test.ts, webgpu-fp16-int4.test.ts):
 * a vector of f32 values that exercises every branch of the f16 rounding (ties, subnormals,
 * overflow, NaN, +-0, inf), small float models built in code, the shared bench/trained models, and
 * the compile flow of `edgec compile --fp16/--int4` (target pipeline on the float graph, then
 * quantizeModel). Expected values always come from the reference interpreter running the same
 * fp16/int4 graph.
 */
import { expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Graph } from '../../compiler/ir/graph.js';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { f16BitsToNumber } from '../../compiler/ir/dtype.js';
import { optimize } from '../../compiler/pipeline.js';
import { loadOnnxFile } from '../../compiler/frontends/onnx/import.js';
import { decodeTensorProtoBytes } from '../../compiler/frontends/onnx/tensor-proto.js';
import { quantizeModel } from '../../quantize/index.js';
import { compareTensors } from '../helpers/compare.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { randomTensor } from './wasm-helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const MODELS = path.resolve(here, '../../../shared/models');

/** f32 values covering every path of the f16 rounding; length not a multiple of 4 (SIMD tail). */
export function roundingVector(): Float32Array {
  const v: number[] = [0, -0, 1, -1, 65504, -65504, 65519.99, 65520, -65520, 65536, 1e10, -1e30, Infinity, -Infinity, NaN,
    2 ** -14, -(2 ** -14), 2 ** -24, 2 ** -25, -(2 ** -25), 3 * 2 ** -25, 2 ** -26, 1e-40, -1e-45, 2 ** -15 * 1.5, 0.1, -0.3333,
    1 + 2 ** -11, 1 + 3 * 2 ** -11, 2048 + 1, 2048 + 3, -(1024 + 0.5), 2 ** -14 - 2 ** -25, 2 ** -14 - 2 ** -26];
  // exact midpoints between neighbouring halves (ties: even wins) and one f32 ulp either side
  for (let h = 0; h < 0x7bff; h += 97) {
    const a = f16BitsToNumber(h);
    const b = f16BitsToNumber(h + 1);
    const mid = Math.fround((a + b) / 2);
    v.push(mid, -mid, nextUp(mid), nextDown(mid));
  }
  // pseudo-random values across the exponent range
  let s = 12345;
  for (let i = 0; i < 600; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const e = (s % 60) - 30;
    v.push(Math.fround(((s >>> 8) / 2 ** 24 - 0.5) * 2 ** e * 4));
  }
  if (v.length % 4 === 0) v.push(0.5);
  return Float32Array.from(v);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function nextUp(x: number): number {
  f32[0] = x;
  u32[0] = u32[0]! + (x >= 0 ? 1 : -1);
  return f32[0]!;
}
function nextDown(x: number): number {
  f32[0] = x;
  u32[0] = u32[0]! + (x > 0 ? -1 : 1);
  return f32[0]!;
}

/** x -> edgec.RoundF16 -> y over `n` elements. */
export function roundGraph(n: number): Graph {
  const b = new GraphBuilder('round', { '': 17, edgec: 1 });
  const x = b.input('x', 'f32', [n]);
  b.output(b.node('RoundF16', [x], {}, { domain: 'edgec', outputNames: ['y'] }));
  return b.build();
}

/** Bit patterns equal (any NaN equals any NaN); returns the first differing index or -1. */
export function firstBitDifference(got: Float32Array, want: Float32Array): number {
  const gu = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const wu = new Uint32Array(want.buffer, want.byteOffset, want.length);
  for (let i = 0; i < want.length; i++) {
    if (Number.isNaN(got[i]!) && Number.isNaN(want[i]!)) continue;
    if (gu[i] !== wu[i]) return i;
  }
  return got.length === want.length ? -1 : want.length;
}

let seed = 100;
const w = (shape: number[], scale = 0.3): Tensor => randomTensor(shape, seed++, -scale, scale);

/** A small model built in code with its inputs. */
export interface SmallModel {
  id: string;
  graph: () => Graph;
  inputs: () => Tensor[];
}

/**
 * Small float models: a conv net (3x3 with 40 input channels: a partial int4 block; depthwise;
 * 1x1 with 21 output channels: an overlapping packed tile; Gemm transB with N >= 8), an MLP
 * (MatMul N >= 8 and N < 8, Gemm without transB), and a 3x3 conv large enough for Winograd in fp32.
 */
export function smallModels(): SmallModel[] {
  return [
    {
      id: 'convnet',
      graph: () => {
        const b = new GraphBuilder('convnet', { '': 17 });
        const x = b.input('x', 'f32', [1, 40, 10, 10]);
        let y = b.node('Conv', [x, b.const('w1', w([48, 40, 3, 3], 0.1)), b.const('b1', w([48]))], { pads: [1, 1, 1, 1] });
        y = b.node('Relu', [y]);
        y = b.node('Conv', [y, b.const('w2', w([48, 1, 3, 3])), b.const('b2', w([48]))], { pads: [1, 1, 1, 1], group: 48 });
        y = b.node('Conv', [y, b.const('w3', w([21, 48, 1, 1])), b.const('b3', w([21]))]);
        y = b.node('LeakyRelu', [y], { alpha: 0.1 });
        y = b.node('MaxPool', [y], { kernel_shape: [2, 2], strides: [2, 2] });
        y = b.node('GlobalAveragePool', [y]);
        y = b.node('Flatten', [y]);
        y = b.node('Gemm', [y, b.const('w4', w([10, 21])), b.const('b4', w([10]))], { transB: 1 });
        b.output(b.node('Softmax', [y], { axis: 1 }, { outputNames: ['probs'] }));
        return b.build();
      },
      inputs: () => [randomTensor([1, 40, 10, 10], 7)],
    },
    {
      id: 'mlp',
      graph: () => {
        const b = new GraphBuilder('mlp', { '': 17 });
        const x = b.input('x', 'f32', [3, 70]);
        let y = b.node('MatMul', [x, b.const('w1', w([70, 37]))]);
        y = b.node('Add', [y, b.const('b1', w([37]))]);
        y = b.node('Sigmoid', [y]);
        const z = b.node('MatMul', [y, b.const('w2', w([37, 5]))]);
        y = b.node('Gemm', [z, b.const('w3', w([5, 12])), b.const('b3', w([12]))]);
        b.output(b.node('Tanh', [y], {}, { outputNames: ['y'] }));
        return b.build();
      },
      inputs: () => [randomTensor([3, 70], 8, -2, 2)],
    },
    {
      id: 'conv3x3-wide',
      graph: () => {
        const b = new GraphBuilder('wide', { '': 17 });
        const x = b.input('x', 'f32', [1, 32, 16, 16]);
        const y = b.node('Conv', [x, b.const('w', w([16, 32, 3, 3], 0.1)), b.const('b', w([16]))], { pads: [1, 1, 1, 1] });
        b.output(b.node('Relu', [y], {}, { outputNames: ['y'] }));
        return b.build();
      },
      inputs: () => [randomTensor([1, 32, 16, 16], 9)],
    },
  ];
}

function readPb(f: string): Tensor {
  return decodeTensorProtoBytes(new Uint8Array(fs.readFileSync(f))).tensor;
}

/** A shared model (bench: seeded random inputs; trained: its sample input). */
export interface SharedModel {
  id: string;
  file: string;
  inputs: (g: Graph) => Tensor[];
}

/** bench/*.onnx and trained/* /model.onnx of ../shared/models (empty when absent). */
export function sharedModels(): SharedModel[] {
  const out: SharedModel[] = [];
  const bench = path.join(MODELS, 'bench');
  for (const f of fs.existsSync(bench) ? fs.readdirSync(bench).filter((x) => x.endsWith('.onnx')).sort() : []) {
    out.push({
      id: `bench/${f.replace(/\.onnx$/, '')}`,
      file: path.join(bench, f),
      inputs: (g) => g.inputs.map((id, k) => randomTensor(g.typeOf(id).shape.map((d) => (typeof d === 'number' ? d : 1)), 31 + k)),
    });
  }
  const trained = path.join(MODELS, 'trained');
  for (const d of fs.existsSync(trained) ? fs.readdirSync(trained).sort() : []) {
    const file = path.join(trained, d, 'model.onnx');
    if (fs.existsSync(file)) out.push({ id: `trained/${d}`, file, inputs: () => [readPb(path.join(trained, d, 'sample_in.pb'))] });
  }
  return out;
}

/** Loads a shared model with concrete input shapes (symbolic dims set from its inputs). */
export function loadShared(m: SharedModel): { graph: Graph; inputs: Tensor[] } {
  const probe = loadOnnxFile(m.file);
  const inputs = m.inputs(probe);
  const shapes = Object.fromEntries(probe.inputs.map((id, k) => [probe.value(id).name, [...inputs[k]!.shape]]));
  return { graph: loadOnnxFile(m.file, { inputShapes: shapes }), inputs };
}

/**
 * What `edgec compile --fp16|--int4 --target T` compiles: the target pipeline on the float graph,
 * then the quantizer. Returns the optimized float graph and the quantized one with its summary.
 * @param g float graph (modified: optimized in place)
 * @param target pipeline target
 * @param mode fp16 or int4
 */
export function prepare(g: Graph, target: 'wasm' | 'webgpu', mode: 'fp16' | 'int4'): { float: Graph; q: ReturnType<typeof quantizeModel> } {
  optimize(g, { target });
  return { float: g, q: quantizeModel(g, { mode }) };
}

/** Tolerances vs the reference on the same fp16/int4 graph (f32 accumulation vs the reference's f64). */
export function tolerance(mode: 'fp16' | 'int4', want: Tensor): { rtol: number; atol: number } {
  let m = 0;
  for (let i = 0; i < want.size; i++) if (Number.isFinite(want.get(i))) m = Math.max(m, Math.abs(want.get(i)));
  return mode === 'fp16' ? { rtol: 2e-3, atol: 1e-3 * m + 1e-6 } : { rtol: 1e-3, atol: 1e-4 * m + 1e-7 };
}

/** First output mismatch message (null: all outputs close). */
export function compareAll(got: Tensor[], want: Tensor[], mode: 'fp16' | 'int4'): string | null {
  for (let k = 0; k < want.length; k++) {
    const msg = compareTensors(got[k]!, want[k]!, tolerance(mode, want[k]!));
    if (msg) return `output ${k}: ${msg}`;
  }
  return null;
}

/**
 * Registers the model cases every target runs under --fp16 and --int4 (inside the caller's
 * describe): the models built in code and the shared models, each through the target's `check`
 * (which compares with the reference and returns a table row of artifact sizes), then a summary
 * test printing the table.
 * @param check the target's check of one model: a markdown table row
 * @param title the table's title (what its sizes measure)
 */
export function fp16Int4ModelCases(check: (id: string, g: Graph, inputs: Tensor[], ratioInt4: number) => Promise<string>, title: string): void {
  const lines: string[] = [];
  for (const m of smallModels()) {
    it(`built in code: ${m.id}`, async () => {
      // int4 keeps depthwise weights (blocks of one weight: f32 is smaller) and biases in f32
      lines.push(await check(m.id, m.graph(), m.inputs(), m.id === 'convnet' ? 4.5 : 5));
    }, 120_000);
  }
  const shared = sharedModels();
  for (const m of shared) {
    it(`shared model ${m.id}`, async () => {
      const { graph, inputs } = loadShared(m);
      // dscnn is mostly depthwise (int4 blocks of one weight stay f32): a lower int4 ratio
      lines.push(await check(m.id, graph, inputs, m.id.endsWith('dscnn') ? 2.5 : 4.2));
    }, 300_000);
  }
  it('summary', () => {
    console.log(`\n${title}:\n| model | fp32 | fp16 | int4 |\n|---|---|---|---|\n${lines.join('\n')}\n`);
    expect(lines.length).toBe(smallModels().length + shared.length);
  });
}

/**
 * Registers the RoundF16 kernel case (inside the caller's describe): bit-exact against the
 * reference on roundingVector (ties to even, subnormals, overflow, NaN, +-0, inf).
 * @param run compiles the graph for the target and runs it
 */
export function roundF16Case(run: (g: Graph, inputs: Tensor[]) => Promise<Tensor[]>): void {
  it('is bit-exact against the reference (ties to even, subnormals, overflow, NaN, +-0, inf)', async () => {
    const v = roundingVector();
    const g = roundGraph(v.length);
    const x = new Tensor('f32', [v.length], v);
    const want = runGraph(g, [x])[0]!.data as Float32Array;
    const got = (await run(g, [x]))[0]!.data as Float32Array;
    const i = firstBitDifference(got, want);
    expect(i, i >= 0 ? `x=${v[i]}: got ${got[i]}, want ${want[i]}` : '').toBe(-1);
  }, 60_000);
}
