/**
 * Pruning rows of `npm run bench` (unless --no-prune): a pruned model against its dense original,
 * both compiled to wasm fp32 and timed in the same process, alternating in blocks of 10 runs
 * (rotating). The configurations are the ones issue 13 names: unstructured 70% on the MLPerf Tiny
 * autoencoder (dense layers; elementwise, and in 1x4 / 1x8 blocks that the wasm sparse kernel runs),
 * 2:4 on the autoencoder, channel pruning 0.5 on resnet8, and elementwise 70% on the convnets
 * (dscnn, mobilenetv1_025, mobilenetv2), whose pruned 1x1 convs run SpMM over the pixels.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadOnnxFile } from '../compiler/frontends/onnx/import.js';
import { optimize } from '../compiler/pipeline.js';
import { pruneModel, PruneMode } from '../prune/index.js';
import { emitWasm } from '../targets/wasm/emit.js';
import { lowerGraph } from '../targets/wasm/lower.js';
import { loadWasmArtifact, writeTempArtifact } from '../targets/wasm/runner.js';
import { median } from './stats.js';

export interface PruneRow {
  model: string;
  mode: PruneMode;
  ratio: number;
  /** The pattern pruned (prune summary): elementwise, block 1xB, 2:4, channel. */
  pattern: string;
  /** The kernels the pruned model's weight layers run (wasm steps, counted). */
  kernels: string;
  dense_ms: number;
  pruned_ms: number;
  dense_min_ms: number;
  pruned_min_ms: number;
  speedup: number;
  speedup_min: number;
  macs_before: number;
  macs_after: number;
  nnz_before: number;
  nnz_after: number;
  wasm_bytes_dense: number;
  wasm_bytes_pruned: number;
}

export const PRUNE_CASES: readonly { model: string; mode: PruneMode; ratio: number; block?: number }[] = [
  { model: 'autoencoder', mode: 'unstructured', ratio: 0.7 },
  { model: 'autoencoder', mode: 'unstructured', ratio: 0.7, block: 4 },
  { model: 'autoencoder', mode: 'unstructured', ratio: 0.7, block: 8 },
  { model: 'autoencoder', mode: '2:4', ratio: 0.5 },
  { model: 'resnet8', mode: 'channel', ratio: 0.5 },
  // elementwise 70% on convnets: pruned 1x1 convs run spmm_chw_f32 (SpMM over the pixels)
  { model: 'dscnn', mode: 'unstructured', ratio: 0.7 },
  { model: 'mobilenetv1_025', mode: 'unstructured', ratio: 0.7 },
  { model: 'mobilenetv2', mode: 'unstructured', ratio: 0.7 },
];

async function load(g: ReturnType<typeof loadOnnxFile>) {
  const art = emitWasm(g);
  const counts = new Map<string, number>();
  for (const s of lowerGraph(g).steps) if (/^(gemm|spmm|conv)/.test(s.kernel)) counts.set(s.kernel, (counts.get(s.kernel) ?? 0) + 1);
  const kernels = [...counts].map(([k, n]) => `${k} x${n}`).join(', ');
  const dir = writeTempArtifact(art.files);
  try {
    return { model: await loadWasmArtifact(dir), bytes: (art.files.get('model.wasm') as Uint8Array).length, kernels };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Times every case whose model is in `models` (a folder of .onnx files). */
export async function benchPruning(models: string, runs: number, warmup: number, only?: readonly string[]): Promise<PruneRow[]> {
  const rows: PruneRow[] = [];
  for (const c of PRUNE_CASES) {
    const file = path.join(models, `${c.model}.onnx`);
    if (!fs.existsSync(file) || (only && !only.includes(c.model) && !only.includes('prune'))) continue;
    process.stderr.write(`bench: ${c.model} pruned (${c.mode} ${c.ratio}${c.block ? ` block ${c.block}` : ''})...\n`);
    const g = loadOnnxFile(file);
    optimize(g, { target: 'wasm' });
    const p = pruneModel(g, { mode: c.mode, ratio: c.ratio, ...(c.block ? { block: c.block } : {}) });
    const dense = await load(g);
    const pruned = await load(p.graph);
    const feeds: Record<string, Float32Array> = {};
    let s = 7;
    for (const x of dense.model.inputs) {
      const n = x.shape.reduce((a, b) => a * b, 1);
      feeds[x.name] = Float32Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1);
    }
    const runners = [() => dense.model.run(feeds), () => pruned.model.run(feeds)];
    for (const fn of runners) {
      const end = performance.now() + 300;
      for (let i = 0; i < warmup || performance.now() < end; i++) await fn();
    }
    const times: number[][] = [[], []];
    for (let done = 0, round = 0; done < runs; done += 10, round++) {
      for (let j = 0; j < 2; j++) {
        const k = (j + round) % 2;
        for (let i = 0; i < 10; i++) {
          const t = performance.now();
          await runners[k]!();
          times[k]!.push(performance.now() - t);
        }
      }
    }
    const [td, tp] = [times[0]!, times[1]!];
    rows.push({
      model: c.model, mode: c.mode, ratio: p.summary.ratio, pattern: p.summary.pattern, kernels: pruned.kernels, dense_ms: median(td), pruned_ms: median(tp), dense_min_ms: Math.min(...td), pruned_min_ms: Math.min(...tp),
      speedup: median(td) / median(tp), speedup_min: Math.min(...td) / Math.min(...tp),
      macs_before: p.summary.macsBefore, macs_after: p.summary.macsAfter, nnz_before: p.summary.nnzBefore, nnz_after: p.summary.nnzAfter,
      wasm_bytes_dense: dense.bytes, wasm_bytes_pruned: pruned.bytes,
    });
  }
  return rows;
}

/** The pruning table (Markdown). */
export function pruningTable(rows: readonly PruneRow[]): string[] {
  if (rows.length === 0) return [];
  return [
    '',
    'Pruning (bench/pruning.ts: the pruned model vs its dense original, both wasm fp32, alternating in blocks of 10 runs):',
    '',
    '| model | pruning (pattern) | pruned model\'s kernels | MACs dense -> pruned | nonzero weights | model.wasm KB dense -> pruned | dense ms (median / min) | pruned ms (median / min) | speedup (medians / mins) |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.model} | ${r.mode} ${r.ratio} (${r.pattern}) | ${r.kernels} | ${(r.macs_before / 1e6).toFixed(2)} M -> ${(r.macs_after / 1e6).toFixed(2)} M | ${r.nnz_before} -> ${r.nnz_after} | `
      + `${(r.wasm_bytes_dense / 1024).toFixed(1)} -> ${(r.wasm_bytes_pruned / 1024).toFixed(1)} | ${r.dense_ms.toFixed(3)} / ${r.dense_min_ms.toFixed(3)} | ${r.pruned_ms.toFixed(3)} / ${r.pruned_min_ms.toFixed(3)} | ${r.speedup.toFixed(2)}x / ${r.speedup_min.toFixed(2)}x |`),
  ];
}
