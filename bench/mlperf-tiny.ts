/**
 * `npm run mlperf-tiny`: the profiler's estimates for the MLPerf Tiny boards next to the published
 * results (profile/mlperf.ts), as the README's Markdown table. Compiles the four MLPerf Tiny bench
 * models (../shared/models/bench) to int8 with `edgec compile --int8 --calib-random` (MACs and
 * layer structure do not depend on the calibration data) and profiles each with
 * `edgec profile --json --measure none --device BOARD --kernels LIB`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '../cli/main.js';
import { BENCHMARK_MODELS, MLPERF_TINY, PublishedResult, compareWithPublished, comparisonTable } from '../profile/mlperf.js';

async function edgec(...args: string[]): Promise<string> {
  let out = '';
  let err = '';
  const code = await runCli(args, { out: (s) => (out += s), err: (s) => (err += s) });
  if (code !== 0) throw new Error(`edgec ${args.join(' ')} failed (${code}): ${err}`);
  return out;
}

/**
 * Estimates of every published row: compiles the bench models to int8 once, profiles them per
 * (board, kernels) pair.
 * @param bench folder holding the bench models
 */
export async function mlperfEstimates(bench: string): Promise<ReturnType<typeof compareWithPublished>> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'edgec-mlperf-'));
  try {
    const dirs: Record<string, string> = {};
    for (const m of Object.values(BENCHMARK_MODELS)) {
      dirs[m] = path.join(tmp, m);
      await edgec('compile', path.join(bench, `${m}.onnx`), '--int8', '--calib-random', '-o', dirs[m]!);
    }
    const cache = new Map<string, { latency_ms: number; energy_mj: number }>();
    for (const r of MLPERF_TINY) {
      const key = `${r.model}/${r.device}/${r.kernels}`;
      if (cache.has(key)) continue;
      const p = JSON.parse(await edgec('profile', dirs[r.model]!, '--json', '--measure', 'none', '--device', r.device, '--kernels', r.kernels)) as {
        devices: { name: string; kernels?: string; latency_ms: number; energy_mj: number }[];
      };
      const d = p.devices.find((x) => x.name === r.device && x.kernels === r.kernels);
      if (!d) throw new Error(`no ${r.kernels} estimate for ${r.device}`);
      cache.set(key, d);
    }
    return compareWithPublished((r: PublishedResult) => cache.get(`${r.model}/${r.device}/${r.kernels}`)!);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const bench = process.env['EDGEC_MODELS'] ? path.join(process.env['EDGEC_MODELS'], 'bench') : path.resolve(here, '../../../shared/models/bench');
  mlperfEstimates(bench).then((rows) => process.stdout.write(comparisonTable(rows)), (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}
