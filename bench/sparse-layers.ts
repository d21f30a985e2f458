/**
 * Per-layer sparse kernel measurements behind the cost model of targets/wasm/ops/sparse.ts and the
 * README's sparsity statements: `node dist/bench/sparse-layers.js [--models DIR] [--rounds N]`.
 *
 * 1. Each Gemm of the MLPerf Tiny autoencoder pruned 70% elementwise (batch 1): the fraction of 1x4
 *    (k, 4 outputs) blocks holding a nonzero with consecutive and with grouped columns
 *    (groupColumns), and the layer timed on the dense GEMV, the block kernel and the column-grouped
 *    block kernel (the kernel forced through the cost constants), with the dense MAC rate.
 * 2. 1x1 convolutions of MobileNetV2 shapes at 30% and 50% density: dense conv2d_f32 vs spmm_chw_f32.
 * 3. Gemm with M = 4..128 rows at 30% density: dense gemm_f32 vs the row SpMM, and what the cost
 *    model picks.
 * Every configuration is timed in the same process, rotating, medians of rounds.
 */
import path from 'node:path';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadOnnxFile } from '../compiler/frontends/onnx/import.js';
import { GraphBuilder } from '../compiler/ir/builder.js';
import { Graph } from '../compiler/ir/graph.js';
import { Tensor } from '../compiler/ir/tensor.js';
import { optimize } from '../compiler/pipeline.js';
import { pruneModel } from '../prune/index.js';
import { emitWasm } from '../targets/wasm/emit.js';
import { lowerGraph } from '../targets/wasm/lower.js';
import { loadWasmArtifact, writeTempArtifact } from '../targets/wasm/runner.js';
import { CHW_COST, SPARSE_COST, countBlocks, countOrderedBlocks, groupColumns } from '../targets/wasm/ops/sparse.js';
import { median, randomData } from './stats.js';

type Costs = Record<string, number>;

/** Compiles `g` with the cost constants overridden (restored after), returns the model and its weight kernels. */
async function compileWith(g: Graph, sparse: Costs, chw: Costs) {
  const s0 = { ...SPARSE_COST }, c0 = { ...CHW_COST };
  Object.assign(SPARSE_COST, sparse);
  Object.assign(CHW_COST, chw);
  try {
    optimize(g, { target: 'wasm' });
    const kernels = [...new Set(lowerGraph(g).steps.map((s) => s.kernel).filter((k) => /^(gemm|spmm|conv)/.test(k)))].join('+');
    const dir = writeTempArtifact(emitWasm(g).files);
    try {
      return { model: await loadWasmArtifact(dir), kernels };
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    Object.assign(SPARSE_COST, s0);
    Object.assign(CHW_COST, c0);
  }
}

/** Median microseconds per run of each model (rotating order, `rounds` rounds of `reps` runs). */
async function timeAll(models: { run(f: Record<string, Float32Array>): unknown }[], feeds: Record<string, Float32Array>, rounds: number, reps: number): Promise<number[]> {
  const t: number[][] = models.map(() => []);
  for (const m of models) for (let i = 0; i < reps * 3; i++) await m.run(feeds);
  for (let r = 0; r < rounds; r++) {
    for (let j = 0; j < models.length; j++) {
      const k = (j + r) % models.length;
      const s = performance.now();
      for (let i = 0; i < reps; i++) await models[k]!.run(feeds);
      t[k]!.push(((performance.now() - s) / reps) * 1000);
    }
  }
  return t.map(median);
}

const NEVER = 1e12;
const DENSE = { block4: NEVER, block8: NEVER };
const BLOCKS = { block4: 1e-3, block8: NEVER, permStore: NEVER, dense1: NEVER, dense4: NEVER };
const GROUPED = { block4: 1e-3, block8: NEVER, group: 0, permStore: 0, dense1: NEVER, dense4: NEVER };

async function autoencoderLayers(models: string, rounds: number): Promise<void> {
  const g0 = loadOnnxFile(path.join(models, 'autoencoder.onnx'));
  optimize(g0, { target: 'wasm' });
  const p = pruneModel(g0, { mode: 'unstructured', ratio: 0.7 });
  console.log('autoencoder pruned 0.7 elementwise, batch 1, per Gemm (8 copies per artifact, us per copy):');
  console.log('| layer | K x N | density | 1x4 blocks with a nonzero: consecutive / grouped | dense us (GMAC/s) | block kernel us | grouped block kernel us |');
  console.log('|---|---|---:|---:|---:|---:|---:|');
  let li = 0;
  for (const n of p.graph.orderedNodes()) {
    if (!/Gemm/.test(n.op)) continue;
    const w = p.graph.constOf(n.inputs[1]!)!;
    const [N, K] = w.shape as [number, number];
    const d = w.data as Float32Array;
    const kn = new Float32Array(K * N);
    for (let o = 0; o < N; o++) for (let k = 0; k < K; k++) kn[k * N + o] = d[o * K + k]!;
    let nnz = 0;
    for (const v of kn) if (v !== 0) nnz++;
    const order = groupColumns(kn, K, N, 4);
    const blocks = K * Math.ceil(N / 4);
    const occ = countBlocks(kn, K, N, 4) / blocks, occG = order ? countOrderedBlocks(kn, K, N, 4, order) / blocks : NaN;
    const build = () => {
      const b = new GraphBuilder('layer', { '': 17 });
      const x = b.input('x', 'f32', [1, K]);
      for (let r = 0; r < 8; r++) b.output(b.node('Gemm', [x, b.const(`w${r}`, w)], { transB: 1 }));
      return b.build();
    };
    const ms = [await compileWith(build(), DENSE, {}), await compileWith(build(), BLOCKS, {}), await compileWith(build(), GROUPED, {})];
    const feeds = { [ms[0]!.model.inputs[0]!.name]: randomData(K, 3) };
    const [td, tb, tg] = (await timeAll(ms.map((m) => m.model), feeds, rounds, 20)).map((t) => t / 8);
    console.log(`| ${li++} | ${K} x ${N} | ${(nnz / (K * N)).toFixed(2)} | ${occ.toFixed(2)} / ${occG.toFixed(2)} | ${td!.toFixed(2)} (${(K * N / td! / 1e3).toFixed(1)}) | `
      + `${tb!.toFixed(2)} (${ms[1]!.kernels}) | ${tg!.toFixed(2)} (${ms[2]!.kernels}) |`);
  }
}

async function pointwise(rounds: number): Promise<void> {
  console.log('\n1x1 conv (MobileNetV2 shapes, batch 1, bias), elementwise random zeros: dense conv2d_f32 vs spmm_chw_f32:');
  console.log('| C -> K at HxW | density | dense us (GMAC/s) | spmm_chw_f32 us | speedup |');
  console.log('|---|---:|---:|---:|---:|');
  for (const [C, K, H] of [[24, 144, 56], [32, 192, 28], [64, 384, 14], [160, 960, 7], [96, 24, 56], [384, 64, 14]] as const) {
    for (const density of [0.3, 0.5]) {
      const u = randomData(2 * K * C, C * 7 + K);
      const w = new Float32Array(K * C).map((_, i) => ((u[2 * i]! + 1) / 2 < density ? u[2 * i + 1]! : 0));
      const build = () => {
        const b = new GraphBuilder('pw', { '': 17 });
        const x = b.input('x', 'f32', [1, C, H, H]);
        b.output(b.node('Conv', [x, b.const('w', new Tensor('f32', [K, C, 1, 1], w)), b.const('b', new Tensor('f32', [K], new Float32Array(K).fill(0.1)))], { kernel_shape: [1, 1] }));
        return b.build();
      };
      const dense = await compileWith(build(), {}, { nnzPixel: NEVER });
      const sparse = await compileWith(build(), {}, { nnzPixel: 0, nnzPixel4: 0, nnzPixel1: 0, output: 0 });
      const feeds = { [dense.model.inputs[0]!.name]: randomData(C * H * H, 5) };
      const reps = Math.max(1, Math.round(3e6 / (C * K * H * H)));
      const [td, ts] = await timeAll([dense.model, sparse.model], feeds, rounds, reps);
      console.log(`| ${C} -> ${K} at ${H}x${H} | ${density} | ${td!.toFixed(1)} (${(C * K * H * H / td! / 1e3).toFixed(1)}) | ${ts!.toFixed(1)} | ${(td! / ts!).toFixed(2)}x |`);
    }
  }
}

async function rowsGemm(rounds: number): Promise<void> {
  console.log('\nGemm x[M, K] W[N, K]^T + bias, 70% elementwise zeros: dense gemm_f32 vs row SpMM (transpose, spmm_chw_f32, transpose):');
  console.log('| M x K x N | dense us | row SpMM us | speedup | cost model picks |');
  console.log('|---|---:|---:|---:|---|');
  for (const [M, K, N] of [[4, 256, 256], [8, 256, 256], [16, 512, 512], [32, 640, 128], [64, 256, 256], [128, 128, 128]] as const) {
    const u = randomData(2 * K * N, M + K + N);
    const w = new Float32Array(N * K).map((_, i) => ((u[2 * i]! + 1) / 2 < 0.3 ? u[2 * i + 1]! : 0));
    const build = () => {
      const b = new GraphBuilder('rows', { '': 17 });
      const x = b.input('x', 'f32', [M, K]);
      b.output(b.node('Gemm', [x, b.const('w', new Tensor('f32', [N, K], w)), b.const('b', new Tensor('f32', [N], new Float32Array(N).fill(0.1)))], { transB: 1 }));
      return b.build();
    };
    const dense = await compileWith(build(), DENSE, { nnzPixel: NEVER });
    const rows = await compileWith(build(), DENSE, { nnzPixel: 0, nnzPixel4: 0, nnzPixel1: 0, output: 0, copy: 0 });
    const chosen = await compileWith(build(), {}, {});
    const feeds = { [dense.model.inputs[0]!.name]: randomData(M * K, 9) };
    const reps = Math.max(1, Math.round(2e6 / (M * K * N)));
    const [td, tr] = await timeAll([dense.model, rows.model], feeds, rounds, reps);
    console.log(`| ${M} x ${K} x ${N} | ${td!.toFixed(1)} | ${tr!.toFixed(1)} | ${(td! / tr!).toFixed(2)}x | ${chosen.kernels} |`);
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  let models = path.resolve(root, '../shared/models/bench');
  let rounds = 40;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--models') models = path.resolve(argv[++i]!);
    else if (argv[i] === '--rounds') rounds = Number(argv[++i]);
    else throw new Error(`sparse-layers: unknown argument ${argv[i]} (--models DIR, --rounds N)`);
  }
  if (!fs.existsSync(path.join(models, 'autoencoder.onnx'))) throw new Error(`sparse-layers: no autoencoder.onnx in ${models} (--models DIR)`);
  await autoencoderLayers(models, rounds);
  await pointwise(rounds);
  await rowsGemm(rounds);
}

main().catch((e: unknown) => {
  console.error(`sparse-layers: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
