/**
 * `--wasm-simd off` (issue 12 item 3): model.wasm built from the scalar kernel library
 * (kernels-scalar.wasm) for engines without wasm SIMD (WAMR, wasm3, wasm2c).
 * - Per kernel family, the scalar module against the reference interpreter (f32: the tolerances of
 *   the SIMD suites, rtol 1e-3 / atol 1e-5; int8: bit for bit) and against the SIMD module: the
 *   scalar branches repeat the SIMD operations in the SIMD order, so outputs are bit-identical.
 * - The module: no SIMD instruction (`wasm-validate --disable-simd`, which rejects the SIMD module),
 *   no import, exports exactly `memory` and `run`; model_abi.h matches the manifest.
 * - Every trained model of ../shared/models/trained, fp32 and int8, compiled by the CLI with
 *   --wasm-simd off: validated without SIMD, translated by wabt's wasm2c, compiled with cc together
 *   with a generated C host (model_abi.h offsets), run, and its printed outputs compared with the
 *   JS run of the same artifact (bit for bit), the SIMD artifact and the reference.
 * wabt and cc are required when CI is set (tests/ci-prereqs.ts); elsewhere those parts skip.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { AttrValue, Graph, ValueId } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { encodeNpy } from '../../compiler/io/npy.js';
import { quantizeMultiplier, quantizeMultipliers } from '../../compiler/ops/qint.js';
import { compileWasm, emitWasm, WasmOptions } from '../../targets/wasm/emit.js';
import { lowerGraph } from '../../targets/wasm/lower.js';
import { emitWasmDynamic } from '../../targets/wasm/dynamic/emit.js';
import { PassManager, pipelineFor } from '../../compiler/pipeline.js';
import { loadWasmArtifact, runWasmModel, writeTempArtifact } from '../../targets/wasm/runner.js';
import { compareTensors } from '../helpers/compare.js';
import { ACTS, SUITES, fusedEpilogueGraph, graphOf } from './cases.js';
import { ConvCase, XS, convGraph, expectSameBits, finish, fixedStage, input, quantIn, randInts, rng } from './int8-graphs.js';
import { prepare, roundGraph, roundingVector, smallModels } from './fp16-int4-cases.js';
import { randomTensor } from './wasm-helpers.js';
import { cli, rmTmp, tmpDir } from '../cli/helpers.js';
import { HAVE_MODELS, MODELS_DIR, readPb } from '../models/harness.js';

type Art = { files: ReadonlyMap<string, Uint8Array | string>; manifest: Record<string, unknown> };

/** Runs an artifact through its model.mjs. */
async function runArt(art: Art, inputs: Tensor[]): Promise<Tensor[]> {
  const dir = writeTempArtifact(art.files as Map<string, Uint8Array | string>);
  try {
    return runWasmModel(await loadWasmArtifact(dir), inputs);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The graph compiled twice (SIMD on and off) and run on the same inputs. */
async function both(g: Graph, inputs: Tensor[], opts: WasmOptions = {}): Promise<{ scalar: Tensor[]; simd: Tensor[]; art: Art }> {
  const art = compileWasm(g.clone(), { ...opts, simd: false });
  const simdArt = compileWasm(g.clone(), opts);
  return { scalar: await runArt(art, inputs), simd: await runArt(simdArt, inputs), art };
}

/** Bit-identical outputs (NaN equals NaN), any dtype. */
function expectIdentical(got: Tensor[], want: Tensor[], what: string): void {
  expect(got.length).toBe(want.length);
  want.forEach((w, k) => {
    const a = got[k]!;
    expect(a.shape).toEqual(w.shape);
    const ab = new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength);
    const wb = new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength);
    if (Buffer.compare(Buffer.from(ab), Buffer.from(wb)) === 0) return;
    for (let i = 0; i < w.size; i++) {
      const x = a.get(i), y = w.get(i);
      if (Number.isNaN(x) && Number.isNaN(y)) continue;
      if (!Object.is(x, y)) expect(`${what}: output ${k}[${i}] = ${x}`).toBe(`${what}: output ${k}[${i}] = ${y}`);
    }
  });
}

/** f32 family check: scalar vs reference (SIMD suites' tolerances), scalar vs SIMD (identical). */
async function checkF32(g: Graph, opts: WasmOptions = {}): Promise<void> {
  const inputs = g.inputs.map((id, i) => randomTensor(g.typeOf(id).shape as number[], 7 + i));
  const want = runGraph(g, inputs);
  const { scalar, simd } = await both(g, inputs, opts);
  want.forEach((w, k) => expect(compareTensors(scalar[k]!, w, { rtol: 1e-3, atol: 1e-5 }), `output ${k}`).toBeNull());
  expectIdentical(scalar, simd, 'scalar vs SIMD');
}

/** int8 check: scalar == reference == SIMD, bit for bit. */
async function checkInt8(g: Graph, inputs: Tensor[]): Promise<void> {
  const want = runGraph(g, inputs);
  const { scalar, simd } = await both(g, inputs);
  expectSameBits(scalar, want, 'scalar vs reference: ');
  expectIdentical(scalar, simd, 'scalar vs SIMD');
}

const which = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
/** wasm2c's runtime (wasm-rt-impl.c), as Debian's wabt installs it. */
const RT_DIR = ['/usr/share/wabt/wasm2c', '/usr/src/wasm2c', '/usr/local/share/wabt/wasm2c']
  .find((d) => fs.existsSync(path.join(d, 'wasm-rt-impl.c')));
const HAVE_WABT = which('wasm-validate') && which('wasm2c') && !!RT_DIR;
const HAVE_CC = which('cc');
const CI = !!process.env['CI'];
// in CI a missing prerequisite fails (tests/ci-prereqs.ts checks them too); elsewhere the tests skip
const needTools = (): void => {
  if (CI) expect(HAVE_WABT && HAVE_CC, 'wabt (wasm-validate, wasm2c + wasm-rt-impl.c) and cc are required in CI').toBe(true);
};
const TOOLS = HAVE_WABT && HAVE_CC;

/** `wasm-validate --disable-simd` on bytes: null when valid, else its message. */
function validateNoSimd(wasm: Uint8Array): string | null {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgec-nosimd-'));
  try {
    const f = path.join(dir, 'model.wasm');
    fs.writeFileSync(f, wasm);
    const r = spawnSync('wasm-validate', ['--disable-simd', f], { encoding: 'utf8' });
    return r.status === 0 ? null : `${r.stderr}${r.stdout}`.trim() || `exit ${r.status}`;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Imports and exports of a module. */
function interfaceOf(wasm: Uint8Array): { imports: string[]; exports: string[] } {
  const m = new WebAssembly.Module(wasm);
  return {
    imports: WebAssembly.Module.imports(m).map((i) => `${i.module}.${i.name}`),
    exports: WebAssembly.Module.exports(m).map((e) => `${e.kind}:${e.name}`).sort(),
  };
}

// ---------------------------------------------------------------------------------------------
// f32 kernel families: the shared suites of the SIMD tests (cases.ts)

for (const suite of SUITES) {
  describe(`no-SIMD wasm, f32 ${suite.name}`, () => {
    for (const c of suite.cases) {
      if (c.only && c.only !== 'wasm') continue;
      it(c.name, async () => {
        for (const g of c.graphs()) await checkF32(g);
      });
    }
    if (suite.name !== 'conv') return;
    for (const [name, act] of ACTS) {
      it(`fused ${name} epilogue (conv, depthwise, gemm; Winograd)`, async () => {
        await checkF32(fusedEpilogueGraph(act, 32));
      });
    }
  });
}

describe('no-SIMD wasm, f32 recurrent, f16 and compressed weights', () => {
  for (const kind of ['LSTM', 'GRU'] as const) {
    it(`${kind} (sigmoid / tanh lanes, clip, batch 2, 9 hidden: vector and tail lanes)`, async () => {
      const G = kind === 'LSTM' ? 4 : 3, H = 9, I = 6;
      const g = graphOf((b, r) => {
        const x = b.input('x', 'f32', [5, 2, I]);
        const outs = b.nodeN(kind, [x, r('W', [1, G * H, I]), r('R', [1, G * H, H]), r('B', [1, 2 * G * H])],
          kind === 'LSTM' ? 3 : 2, { hidden_size: H, clip: 2.5 });
        b.output(outs[0]!, outs[1]!);
      }, 14);
      await checkF32(g);
    });
  }

  it('RoundF16 (--fp16 rounding) is bit-exact, scalar == SIMD == reference', async () => {
    const v = roundingVector();
    const g = roundGraph(v.length);
    const x = new Tensor('f32', [v.length], v);
    const want = runGraph(g, [x]);
    const { scalar, simd } = await both(g, [x]);
    expectIdentical(scalar, want, 'scalar vs reference');
    expectIdentical(scalar, simd, 'scalar vs SIMD');
  });

  for (const mode of ['fp16', 'int4'] as const) {
    it(`${mode} weights expanded at instantiation (f16_to_f32 / int4_dequant_f32), scalar == SIMD`, async () => {
      const m = smallModels()[0]!;
      const { q } = prepare(m.graph(), 'wasm', mode);
      const inputs = m.inputs();
      const scalar = await runArt(emitWasm(q.graph, { precision: mode, simd: false }), inputs);
      const simd = await runArt(emitWasm(q.graph, { precision: mode }), inputs);
      expectIdentical(scalar, simd, 'scalar vs SIMD');
    });
  }
});

// ---------------------------------------------------------------------------------------------
// int8 kernel families: bit for bit

const CONVS: ConvCase[] = [
  { name: 'im2col 3x3 pad 1, C 5 -> 7', x: [1, 5, 9, 11], w: [7, 5, 3, 3], attrs: { pads: [1, 1, 1, 1] } },
  { name: 'im2col stride 2 over wide rows, i8 in/out', x: [1, 3, 20, 37], w: [8, 3, 3, 3], xdt: 'i8', ydt: 'i8', attrs: { strides: [2, 2], pads: [1, 0, 1, 1] } },
  { name: 'stride 2 + dilation 2 + asymmetric pads', x: [1, 4, 13, 10], w: [6, 4, 3, 2], attrs: { strides: [2, 1], dilations: [2, 2], pads: [1, 0, 2, 1] } },
  { name: 'pointwise 1x1, odd channels', x: [1, 17, 7, 5], w: [9, 17, 1, 1], xdt: 'i8' },
  { name: 'pointwise 1x1 grouped, tiled (50x7)', x: [1, 6, 50, 7], w: [9, 2, 1, 1], attrs: { group: 3 } },
  { name: 'depthwise 3x3 s1 p1 (pair-plane kernel), clamp', x: [1, 10, 6, 6], w: [10, 1, 3, 3], clamp: [7, 201], attrs: { group: 10, pads: [1, 1, 1, 1] } },
  { name: 'depthwise 5x3 s2 dilation (2, 1)', x: [1, 6, 17, 29], w: [6, 1, 5, 3], attrs: { group: 6, strides: [2, 2], dilations: [2, 1], pads: [2, 1, 3, 0] } },
  { name: 'depthwise stride 3 (general path), i8', x: [1, 4, 11, 11], w: [4, 1, 3, 3], xdt: 'i8', ydt: 'i8', attrs: { group: 4, strides: [3, 3], pads: [1, 1, 1, 1] } },
  { name: 'u8 weights, per-channel zero points, float rq', x: [1, 5, 8, 7], w: [6, 5, 3, 3], wdt: 'u8', wzp: 'per-channel', float: true, attrs: { pads: [0, 1, 1, 0] } },
  { name: 'Winograd: C 9 -> 10, 13x11, pad 1', x: [1, 9, 13, 11], w: [10, 9, 3, 3], attrs: { pads: [1, 1, 1, 1] } },
  { name: 'Winograd: i8, asymmetric pads, clamp, batch 2', x: [2, 16, 8, 9], w: [12, 16, 3, 3], xdt: 'i8', ydt: 'i8', clamp: [-70, 110], attrs: { pads: [0, 1, 2, 0] } },
  { name: 'Winograd: float rq, u8 weights', x: [1, 8, 7, 6], w: [8, 8, 3, 3], wdt: 'u8', wzp: 'per-channel', float: true, attrs: { pads: [1, 1, 1, 1] } },
  { name: '1-D conv', x: [1, 6, 29], w: [5, 6, 3], attrs: { pads: [1, 1], strides: [2] } },
];

/** pw QConv -> depthwise QConv (one shared shift: channels-last qdw_nhwc_i8) -> pw QConv. */
function chainGraph(C: number, xShape: number[], dw: Record<string, AttrValue>, kernel: number[], seed: number): { g: Graph; x: Tensor } {
  const { b, x } = quantIn(xShape, 'u8', 131);
  const r = rng(seed);
  const conv = (v: ValueId, xz: number, M: number, wshape: number[], attrs: Record<string, AttrValue>, s: number): ValueId => {
    const K = wshape.slice(1).reduce((p, q) => p * q, 1);
    const m = 60 / (128 * 70 * Math.sqrt(K));
    const stage = quantizeMultipliers(Array.from({ length: M }, () => m * 2 ** (2 * r() - 1)));
    return b.node('QConv', [v, b.const(`w${s}`, 'i8', wshape, randInts(M * K, -127, 127, s)), b.const(`b${s}`, 'i32', [M], randInts(M, -20000, 20000, s + 1))],
      { ...attrs, x_zero_point: xz, w_zero_point: [0], ...stage, y_dtype: 'u8', y_zero_point: 120 }, { domain: 'edgec' });
  };
  const ones = kernel.map(() => 1);
  const y0 = conv(x, 131, C, [C, xShape[1]!, ...ones], {}, seed);
  const y1 = conv(y0, 120, C, [C, 1, ...kernel], { ...dw, group: C }, seed + 10);
  const y2 = conv(y1, 120, 11, [11, C, ...ones], {}, seed + 20);
  return { g: finish(b, [y2]), x: input(xShape, seed, XS) };
}

describe('no-SIMD wasm, int8 (bit for bit with the reference and the SIMD kernels)', () => {
  CONVS.forEach((cs, i) => {
    it(`QConv ${cs.name}`, async () => {
      const { g, x } = convGraph(cs, 100 + i * 10);
      expect(lowerGraph(g).steps.some((st) => st.kernel === 'qconv_wino_i8')).toBe(cs.name.startsWith('Winograd'));
      await checkInt8(g, [x]);
    });
  });

  it('QConv with the raw int32 accumulator, then Requantize from int32 (im2col and Winograd)', async () => {
    for (const cs of [CONVS[0]!, CONVS[9]!]) {
      const { g, x } = convGraph(cs, 7, true);
      await checkInt8(g, [x]);
    }
  });

  for (const [C, xs, dw, kernel] of [
    [16, [1, 8, 12, 12], { pads: [1, 1, 1, 1] }, [3, 3]],
    [35, [1, 5, 11, 9], { dilations: [2, 2], pads: [3, 4, 2, 1] }, [5, 5]],
    [20, [2, 6, 7, 5], { strides: [2, 1] }, [2, 3]],
  ] as const) {
    it(`channels-last depthwise chain, C ${C}, kernel [${kernel}] (qdw_nhwc_i8, qconv_i8 layout bits)`, async () => {
      const { g, x } = chainGraph(C, [...xs], dw as Record<string, AttrValue>, [...kernel], 500 + C);
      expect(lowerGraph(g).steps.filter((st) => st.kernel === 'qdw_nhwc_i8').length).toBe(1);
      await checkInt8(g, [x]);
    });
  }

  for (const [w8, R, K, N] of [[false, 3, 37, 10], [true, 2, 64, 13], [true, 1, 9, 4]] as const) {
    it(`QGemm ${w8 ? 'i8 weight panel, vector stage' : 'i16 weights, per-channel stage'} [${R}x${K}] x [${K}x${N}]`, async () => {
      const { b, x } = quantIn([R, K], 'u8', 128);
      const w = b.const('w', 'i8', [K, N], randInts(K * N, w8 ? -100 : -127, w8 ? 100 : 127, 11));
      const bias = b.const('b', 'i32', [N], randInts(N, -3000, 3000, 12));
      const m = 60 / (128 * 70 * Math.sqrt(K));
      const stage = w8 ? quantizeMultipliers(Array.from({ length: N }, (_, j) => m * (1 + j / N))) : fixedStage(N, m, 13);
      const y = b.node('QGemm', [x, w, bias], { x_zero_point: 128, w_zero_point: [w8 ? 0 : 3], ...stage, y_dtype: 'i8', y_zero_point: -3 }, { domain: 'edgec' });
      await checkInt8(finish(b, [y]), [input([R, K], 21, XS)]);
    });
  }

  for (const op of ['QAdd', 'QMul'] as const) {
    for (const n of [14, 24, 34]) {
      it(`${op} with broadcasting, shift ${n}`, async () => {
        const { b, x } = quantIn([2, 3, 21], 'u8', 130);
        const xb = b.node('QuantizeLinear', [b.input('xb', 'f32', [2, 1, 21]), b.const('bs', 'f32', [], [XS]), b.const('bz', 'i8', [], [4])]);
        const m = 2 ** (n - 1) * 0.7;
        const attrs: Record<string, AttrValue> = op === 'QAdd'
          ? { a_zero_point: 130, b_zero_point: 4, a_multiplier: Math.round(2 ** n * 0.3 / 128), b_multiplier: -Math.round(2 ** n * 0.2 / 128), shift: n, y_zero_point: 7 }
          : { a_zero_point: 130, b_zero_point: 4, multiplier: Math.round(m / 200), shift: n, y_zero_point: -5, y_dtype: 'i8' };
        const y = b.node(op, [x, xb], attrs, { domain: 'edgec' });
        await checkInt8(finish(b, [y]), [input([2, 3, 21], 40, XS), input([2, 1, 21], 41, XS)]);
      });
    }
  }

  for (const mode of ['fixed', 'float'] as const) {
    it(`Requantize u8 -> i8 (${mode})`, async () => {
      const { b, x } = quantIn([3, 37], 'u8', 140);
      const stage: Record<string, AttrValue> = mode === 'fixed' ? { multiplier: [1288490189], shift: [30] } : { rq_mode: 'float', scale: [Math.fround(0.75)] };
      const y = b.node('Requantize', [x], { x_zero_point: 140, ...stage, y_dtype: 'i8', y_zero_point: 1, clamp_hi: 100 }, { domain: 'edgec' });
      await checkInt8(finish(b, [y]), [input([3, 37], 8, XS)]);
    });
  }

  it('QReduceMean (contiguous and strided axes), QAvgPool, MaxPool int8', async () => {
    for (const [shape, axes] of [[[1, 3, 40, 41], [-1, -2]], [[2, 6, 9], [1]]] as const) {
      const { b, x } = quantIn([...shape], 'i8', -4);
      const cnt = (axes as readonly number[]).reduce((p: number, a: number) => p * shape[(a + shape.length) % shape.length]!, 1);
      const q = quantizeMultiplier(XS / (0.008 * cnt));
      const y = b.node('QReduceMean', [x], { axes: [...axes], keepdims: 0, x_zero_point: -4, multiplier: [q.multiplier], shift: [q.shift], y_dtype: 'i8', y_zero_point: 2 }, { domain: 'edgec' });
      await checkInt8(finish(b, [y]), [input([...shape], 30, XS)]);
    }
    const { b, x } = quantIn([1, 3, 9, 8], 'u8', 100);
    const q = Array.from({ length: 9 }, (_, c) => quantizeMultiplier(XS / (0.009 * (c + 1))));
    const avg = b.node('QAvgPool', [x], {
      kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 0, x_zero_point: 100,
      multipliers: q.map((v) => v.multiplier), shifts: q.map((v) => v.shift), y_dtype: 'u8', y_zero_point: 90,
    }, { domain: 'edgec' });
    const mx = b.node('MaxPool', [x], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });
    await checkInt8(finish(b, [avg, mx]), [input([1, 3, 9, 8], 31, XS)]);
  });
});

// ---------------------------------------------------------------------------------------------
// the module itself

describe('no-SIMD wasm module', () => {
  const g = (): Graph => graphOf((b, r) => {
    const x = b.input('x', 'f32', [1, 3, 10, 10]);
    const y = b.node('Relu', [b.node('Conv', [x, r('w', [8, 3, 3, 3]), r('b', [8])], { pads: [1, 1, 1, 1] })]);
    b.output(b.node('Gemm', [b.node('Flatten', [y]), r('w2', [800, 5])], {}, { outputNames: ['scores'] }));
  });

  it('imports nothing, exports exactly memory and run (as the SIMD module), records wasm_simd', () => {
    const scalar = compileWasm(g(), { simd: false });
    const simd = compileWasm(g());
    for (const art of [scalar, simd]) {
      expect(interfaceOf(art.files.get('model.wasm') as Uint8Array)).toEqual({ imports: [], exports: ['function:run', 'memory:memory'] });
    }
    expect(scalar.manifest['wasm_simd']).toBe(false);
    expect(simd.manifest['wasm_simd']).toBe(true);
  });

  it('model_abi.h holds the manifest ABI as #defines', () => {
    const art = compileWasm(g(), { simd: false });
    const h = art.files.get('model_abi.h') as string;
    const m = art.manifest as unknown as { memory_pages: number; inputs: { offset: number; size: number }[]; outputs: { offset: number; size: number }[] };
    expect(h).toContain('#define EDGEC_WASM_SIMD 0');
    expect(h).toContain(`#define EDGEC_MEMORY_PAGES ${m.memory_pages}u`);
    expect(h).toContain(`#define EDGEC_INPUT0_OFFSET ${m.inputs[0]!.offset}u`);
    expect(h).toContain(`#define EDGEC_INPUT0_BYTES ${m.inputs[0]!.size * 4}u`);
    expect(h).toContain(`#define EDGEC_OUTPUT0_OFFSET ${m.outputs[0]!.offset}u`);
    expect(h).toContain(`#define EDGEC_OUTPUT0_SIZE ${m.outputs[0]!.size}u`);
    expect(h).toContain('/* output 0: "scores", f32 [1, 5] */');
  });

  it.skipIf(!TOOLS && !CI)('passes wasm-validate --disable-simd; the SIMD module does not', () => {
    needTools();
    expect(validateNoSimd(compileWasm(g(), { simd: false }).files.get('model.wasm') as Uint8Array)).toBeNull();
    expect(validateNoSimd(compileWasm(g()).files.get('model.wasm') as Uint8Array)).not.toBeNull();
  });

  it.skipIf(!TOOLS && !CI)('dynamic-shape artifacts: every kernel in the table, still no SIMD; runs at two shapes', async () => {
    needTools();
    const b = new GraphBuilder('dyn', { '': 17 });
    const x = b.input('x', 'f32', [3, 'L']);
    b.output(b.node('Softmax', [b.node('Relu', [x])], { axis: 1 }));
    const g = b.build();
    const opt = g.clone();
    new PassManager(pipelineFor('wasm')).run(opt);
    const art = emitWasmDynamic(opt, { maxInputShapes: { x: [3, 32] }, manifest: { edgec: 'test', precision: 'fp32' }, simd: false });
    expect(art.manifest['wasm_simd']).toBe(false);
    expect(validateNoSimd(art.files.get('model.wasm') as Uint8Array)).toBeNull();
    const dir = writeTempArtifact(art.files);
    try {
      const model = (await import(`${dir}/model.mjs`)) as { create(): Promise<{ run(f: Record<string, unknown>): Record<string, Float32Array> }> };
      const m = await model.create();
      for (const L of [5, 32]) {
        const xt = randomTensor([3, L], 40 + L);
        const want = runGraph(g, [xt])[0]!;
        const out = Object.values(m.run({ x: { data: xt.data, shape: [3, L] } }))[0]!;
        expect(compareTensors(new Tensor('f32', [3, L], Float32Array.from(out)), want, { rtol: 1e-4, atol: 1e-6 })).toBeNull();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the CLI flag: --wasm-simd off on the wasm target, a usage error elsewhere or with a bad value', async () => {
    const dir = tmpDir();
    try {
      const model = path.join(dir, 'm.onnx');
      // a small ONNX model through the CLI's own exporter (compile --target onnx writes model.onnx)
      const { exportOnnx } = await import('../../compiler/frontends/onnx/export.js');
      fs.writeFileSync(model, exportOnnx(g()));
      const r = await cli('compile', model, '--wasm-simd', 'off', '-o', path.join(dir, 'a'));
      expect(r.code, r.err).toBe(0);
      const man = JSON.parse(fs.readFileSync(path.join(dir, 'a', 'manifest.json'), 'utf8')) as Record<string, unknown>;
      expect(man['wasm_simd']).toBe(false);
      expect(fs.existsSync(path.join(dir, 'a', 'model_abi.h'))).toBe(true);
      const bad = await cli('compile', model, '--wasm-simd', 'maybe', '-o', path.join(dir, 'b'));
      expect(bad.code).not.toBe(0);
      expect(bad.err).toMatch(/--wasm-simd/);
      const hls = await cli('compile', model, '--target', 'hls', '--wasm-simd', 'off', '-o', path.join(dir, 'c'));
      expect(hls.code).toBe(2);
      expect(hls.err).toMatch(/--wasm-simd applies to the wasm target only/);
    } finally {
      rmTmp(dir);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// trained models through wasm2c

const TRAINED = path.join(MODELS_DIR, 'trained');
const MODEL_DIRS = HAVE_MODELS && fs.existsSync(TRAINED)
  ? fs.readdirSync(TRAINED).filter((d) => fs.existsSync(path.join(TRAINED, d, 'model.onnx'))).sort() : [];

interface IoAbi { name: string; dtype: string; shape: number[]; offset: number; size: number }

const C_FMT: Record<string, [string, string]> = {
  f32: ['float', '%.9g'], i32: ['int32_t', '%d'], i8: ['int8_t', '%d'], u8: ['uint8_t', '%d'], i64: ['int64_t', '%lld'],
};

/** The C host: inputs from raw files at the model_abi.h offsets, run(), outputs printed one value per line. */
function hostC(outputs: IoAbi[]): string {
  const ins = 'for (int k = 1; k < argc; k++) {\n'
    + '    static const uint32_t off[] = { EDGEC_INPUT_OFFSETS }, len[] = { EDGEC_INPUT_LENGTHS };\n'
    + '    FILE* f = fopen(argv[k], "rb");\n'
    + '    if (!f || fread(mem->data + off[k - 1], 1, len[k - 1], f) != len[k - 1]) return 3;\n'
    + '    fclose(f);\n  }';
  const outs = outputs.map((o, k) => {
    const [ct, fmt] = C_FMT[o.dtype]!;
    return `  for (uint32_t i = 0; i < EDGEC_OUTPUT${k}_SIZE; i++) {\n`
      + `    ${ct} v; memcpy(&v, mem->data + EDGEC_OUTPUT${k}_OFFSET + i * sizeof v, sizeof v);\n`
      + `    printf("${fmt}\\n", ${o.dtype === 'f32' ? '(double)v' : o.dtype === 'i64' ? '(long long)v' : '(int)v'});\n  }`;
  }).join('\n');
  return `#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "model.h"
#include "model_abi.h"
int main(int argc, char** argv) {
  if (argc != EDGEC_NUM_INPUTS + 1) return 2;
  wasm_rt_init();
  Z_model_init_module();
  Z_model_instance_t inst;
  Z_model_instantiate(&inst);
  wasm_rt_memory_t* mem = Z_modelZ_memory(&inst);
  if (mem->size != EDGEC_MEMORY_BYTES) return 4;
  ${ins}
  Z_modelZ_run(&inst);
${outs}
  Z_model_free(&inst);
  wasm_rt_free();
  return 0;
}
`;
}

/** Translates model.wasm with wasm2c, builds it with the host, runs it; the printed outputs. */
function runThroughWasm2c(artDir: string, inputs: Tensor[], work: string): number[][] {
  const m = JSON.parse(fs.readFileSync(path.join(artDir, 'manifest.json'), 'utf8')) as { inputs: IoAbi[]; outputs: IoAbi[] };
  execFileSync('wasm2c', [path.join(artDir, 'model.wasm'), '-n', 'model', '-o', path.join(work, 'model.c')]);
  const hdr = fs.readFileSync(path.join(artDir, 'model_abi.h'), 'utf8');
  const k = m.inputs.map((_, i) => i);
  fs.writeFileSync(path.join(work, 'model_abi.h'), hdr.replace('#endif /* EDGEC_MODEL_ABI_H */',
    `#define EDGEC_INPUT_OFFSETS ${k.map((i) => `EDGEC_INPUT${i}_OFFSET`).join(', ')}\n#define EDGEC_INPUT_LENGTHS ${k.map((i) => `EDGEC_INPUT${i}_BYTES`).join(', ')}\n#endif`));
  fs.writeFileSync(path.join(work, 'host.c'), hostC(m.outputs));
  const exe = path.join(work, 'host');
  execFileSync('cc', ['-O1', '-w', `-I${RT_DIR!}`, '-o', exe, path.join(work, 'host.c'), path.join(work, 'model.c'), path.join(RT_DIR!, 'wasm-rt-impl.c'), '-lm']);
  const files = inputs.map((t, i) => {
    const f = path.join(work, `in${i}.bin`);
    fs.writeFileSync(f, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    return f;
  });
  const lines = execFileSync(exe, files, { encoding: 'utf8' }).trim().split('\n').map(Number);
  let at = 0;
  // %.9g round-trips an f32 exactly
  return m.outputs.map((o) => lines.slice(at, (at += o.size)).map((v) => (o.dtype === 'f32' ? Math.fround(v) : v)));
}

describe.skipIf(MODEL_DIRS.length === 0 && !CI)('no-SIMD wasm: trained models through wasm2c + cc', () => {
  it('the trained models are present', () => {
    expect(MODEL_DIRS.length).toBeGreaterThan(0);
  });
  for (const name of MODEL_DIRS) {
    for (const precision of ['fp32', 'int8'] as const) {
      it.skipIf(!TOOLS && !CI)(`${name} ${precision}: valid without SIMD, wasm2c run == JS run == SIMD run, close to the reference`, async () => {
        needTools();
        const dir = tmpDir('edgec-nosimd-');
        try {
          const src = path.join(TRAINED, name);
          const q = precision === 'int8' ? ['--int8', '--calib', path.join(src, 'calib_x.pb')] : [];
          const compile = async (out: string, simd: string): Promise<void> => {
            const r = await cli('compile', path.join(src, 'model.onnx'), ...q, '--wasm-simd', simd, '-o', out);
            expect(r.code, r.err).toBe(0);
          };
          const art = path.join(dir, 'off'), simdArt = path.join(dir, 'on');
          await compile(art, 'off');
          await compile(simdArt, 'on');
          const wasm = new Uint8Array(fs.readFileSync(path.join(art, 'model.wasm')));
          expect(validateNoSimd(wasm)).toBeNull();
          expect(interfaceOf(wasm)).toEqual({ imports: [], exports: ['function:run', 'memory:memory'] });
          // the first sample, in the model's input shape
          const all = readPb(path.join(src, 'sample_in.pb'));
          const shape = (JSON.parse(fs.readFileSync(path.join(art, 'manifest.json'), 'utf8')) as { inputs: IoAbi[] }).inputs[0]!.shape;
          const x = new Tensor('f32', shape, (all.data as Float32Array).slice(0, shape.reduce((a, v) => a * v, 1)));
          const xFile = path.join(dir, 'x.npy');
          fs.writeFileSync(xFile, encodeNpy(x));
          const js = runWasmModel(await loadWasmArtifact(art), [x]);
          const jsSimd = runWasmModel(await loadWasmArtifact(simdArt), [x]);
          const c = runThroughWasm2c(art, [x], dir);
          js.forEach((t, k) => expect(c[k]).toEqual(t.toNumbers()));
          expectIdentical(js, jsSimd, 'scalar vs SIMD');
          // the reference: the float model (fp32) / the artifact's integer graph (int8, bit for bit)
          const ref = await cli('run', art, '--inputs', xFile, '--target', 'ref', '--out', path.join(dir, 'ref'));
          expect(ref.code, ref.err).toBe(0);
          const want = readPb(path.join(dir, 'ref', 'output_0.pb'));
          if (precision === 'int8') expectSameBits([js[0]!], [want], 'scalar vs reference: ');
          else expect(compareTensors(js[0]!, want, { rtol: 1e-3, atol: 1e-4 })).toBeNull();
        } finally {
          rmTmp(dir);
        }
      }, 120_000);
    }
  }
});
