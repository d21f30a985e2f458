/**
 * Measures the int8 accuracy fixes (quantize/README.md, "Accuracy fixes"): top-1 agreement with
 * the float model on the three architectures built in code (tests/quantize/architectures.ts) and
 * the trained models' test metrics (../shared/models/trained), for each fix alone, all of them,
 * and the calibrators.
 *
 *   npx vite-node scripts/quant-fixes.ts [--archs-only] [--models-only]
 */
import { quantizeModel, QuantizeOptions } from '../quantize/index.js';
import { ARCHS, accuracy, buildArch, predictAll } from '../tests/quantize/architectures.js';
import { HAVE_MODELS, loadTrained, trainedModels } from '../tests/quantize/harness.js';

type Fixes = NonNullable<QuantizeOptions['fixes']>;
const NONE: Fixes = { channelAffine: false, equalize: false, biasCorrection: false };
const CONFIGS: [string, Partial<QuantizeOptions>][] = [
  ['no fixes', { fixes: NONE }],
  ['+channelAffine', { fixes: { ...NONE, channelAffine: true } }],
  ['+equalize', { fixes: { ...NONE, equalize: true } }],
  ['+biasCorrection', { fixes: { ...NONE, biasCorrection: true } }],
  ['defaults (channelAffine + equalize)', {}],
  ['defaults + biasCorrection', { fixes: { biasCorrection: true } }],
  ['defaults, calibrator mse', { calibrator: 'mse' }],
  ['defaults, calibrator percentile', { calibrator: 'percentile' }],
  ['defaults, calibrator auto', { calibrator: 'auto' }],
];
const args = new Set(process.argv.slice(2));
const cols = CONFIGS.map(([n]) => n);
console.log(`| model | metric | float | ${cols.join(' | ')} |`);
console.log(`|---|---|---|${cols.map(() => '---').join('|')}|`);
if (!args.has('--models-only')) {
  for (const name of ARCHS) {
    const a = buildArch(name);
    const row = CONFIGS.map(([, o]) => {
      const q = quantizeModel(a.graph, { mode: 'int8', calib: [a.calib], ...o });
      return accuracy(predictAll(q.graph, a.batch, a.test), a.labels).toFixed(2);
    });
    console.log(`| ${name} (built in code) | top-1 vs float % | 100 | ${row.join(' | ')} |`);
  }
}
if (!args.has('--archs-only') && HAVE_MODELS) {
  for (const m of trainedModels) {
    const t = loadTrained(m);
    const row: string[] = [];
    for (const [, o] of CONFIGS) {
      const q = quantizeModel(t.graph, { mode: 'int8', calib: [t.calib], ...o });
      row.push((await t.evalGraph(q.graph)).toFixed(4));
    }
    console.log(`| ${m} | ${t.meta.metric} | ${t.meta.fp32_value.toFixed(4)} | ${row.join(' | ')} |`);
  }
}
