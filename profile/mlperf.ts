/**
 * Published MLPerf Tiny results the device profiles are checked against (data only): median
 * latency per inference (1000 / the runner's median throughput) and median energy per inference,
 * closed division, int8 reference models. Benchmarks map to the bench models of
 * ../shared/models/bench: IC = resnet8, KWS = dscnn, VWW = mobilenetv1_025, AD = autoencoder.
 *
 * `calibration: true` rows are the ones the kernel models were fitted to (devices.ts); the others
 * are independent checks (CoreMark/MHz scaling of the fitted model to another core).
 */
export interface PublishedResult {
  /** Built-in device name (devices.ts). */
  device: string;
  /** Kernel model name (devices.ts KernelModel). */
  kernels: string;
  benchmark: 'ic' | 'kws' | 'vww' | 'ad';
  /** Bench model file stem. */
  model: string;
  latency_ms: number;
  /** Energy per inference, microjoules, where published. */
  energy_uj?: number;
  calibration: boolean;
  source: string;
}

export const BENCHMARK_MODELS: Readonly<Record<PublishedResult['benchmark'], string>> = {
  ic: 'resnet8', kws: 'dscnn', vww: 'mobilenetv1_025', ad: 'autoencoder',
};

const V12 = 'MLPerf Tiny v1.2 closed, STMicroelectronics, X-CUBE-AI 9.0 (github.com/mlcommons/tiny_results_v1.2, results/<board>/<bm>/energy/results.txt)';
const V11 = 'MLPerf Tiny v1.1 closed, Krai, microtvm_cmsis_nn (github.com/mlcommons/tiny_results_v1.1, closed/Krai/results/README.md)';

const row = (device: string, kernels: string, benchmark: PublishedResult['benchmark'], infPerS: number, energyUj: number | undefined,
  calibration: boolean, source: string): PublishedResult => ({
  device, kernels, benchmark, model: BENCHMARK_MODELS[benchmark], latency_ms: 1000 / infPerS,
  ...(energyUj !== undefined ? { energy_uj: energyUj } : {}), calibration, source,
});

export const MLPERF_TINY: readonly PublishedResult[] = [
  row('stm32l4r5', 'x-cube-ai', 'ic', 6.062, 6919.375, true, V12),
  row('stm32l4r5', 'x-cube-ai', 'kws', 23.175, 1820.454, true, V12),
  row('stm32l4r5', 'x-cube-ai', 'vww', 11.255, 3894.566, true, V12),
  row('stm32l4r5', 'x-cube-ai', 'ad', 190.458, 203.368, true, V12),
  row('stm32h7a3', 'x-cube-ai', 'ic', 24.483, 5090.283, false, V12),
  row('stm32h7a3', 'x-cube-ai', 'kws', 88.356, 1375.599, false, V12),
  row('stm32h7a3', 'x-cube-ai', 'vww', 42.009, 2965.461, false, V12),
  row('stm32h7a3', 'x-cube-ai', 'ad', 816.004, 165.728, false, V12),
  row('stm32u575', 'x-cube-ai', 'ic', 9.003, 2578.969, false, V12),
  row('stm32u575', 'x-cube-ai', 'kws', 34.623, 656.163, false, V12),
  row('stm32u575', 'x-cube-ai', 'vww', 16.978, 1354.685, false, V12),
  row('stm32u575', 'x-cube-ai', 'ad', 293.341, 81.875, false, V12),
  row('stm32l4r5', 'cmsis-nn', 'ic', 2.567, undefined, true, V11),
  row('stm32l4r5', 'cmsis-nn', 'kws', 10.019, undefined, true, V11),
  row('stm32l4r5', 'cmsis-nn', 'vww', 3.324, undefined, true, V11),
  row('stm32l4r5', 'cmsis-nn', 'ad', 116.212, undefined, true, V11),
];

/** A published result next to the profiler's estimate for it. */
export interface MlperfComparison extends PublishedResult {
  est_latency_ms: number;
  est_energy_uj: number;
  /** est / published - 1. */
  latency_error: number;
  energy_error?: number;
}

/**
 * Compares every published row with the profiler's estimate.
 * @param estimate the profile's device entry (`edgec profile --json` devices[]) for a row's model,
 *   device and kernel model
 */
export function compareWithPublished(estimate: (r: PublishedResult) => { latency_ms: number; energy_mj: number }): MlperfComparison[] {
  return MLPERF_TINY.map((r) => {
    const e = estimate(r);
    const uj = e.energy_mj * 1000;
    return {
      ...r, est_latency_ms: e.latency_ms, est_energy_uj: uj, latency_error: e.latency_ms / r.latency_ms - 1,
      ...(r.energy_uj !== undefined ? { energy_error: uj / r.energy_uj - 1 } : {}),
    };
  });
}

/** The comparison as a Markdown table (README "Profiler vs MLPerf Tiny"). */
export function comparisonTable(rows: readonly MlperfComparison[]): string {
  const pct = (x: number | undefined) => (x === undefined ? '-' : `${x >= 0 ? '+' : ''}${(x * 100).toFixed(0)}%`);
  const lines = [
    '| board | kernels | benchmark (model) | published ms | estimate ms | error | published uJ | estimate uJ | error | role |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const r of rows) {
    lines.push(`| ${r.device} | ${r.kernels} | ${r.benchmark.toUpperCase()} (${r.model}) | ${r.latency_ms.toFixed(2)} | ${r.est_latency_ms.toFixed(2)} | ${pct(r.latency_error)} | `
      + `${r.energy_uj !== undefined ? r.energy_uj.toFixed(0) : '-'} | ${r.energy_uj !== undefined ? r.est_energy_uj.toFixed(0) : '-'} | ${pct(r.energy_error)} | ${r.calibration ? 'fitted' : 'check'} |`);
  }
  return lines.join('\n') + '\n';
}
