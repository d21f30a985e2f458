/**
 * The int8 guard (quantize/guard.ts, cli/guard.ts) and greedy --keep-float auto (sensitivity.ts):
 * - the held-out split is deterministic, evenly spread and respects a fixed batch size;
 * - on a model built to break per-tensor activation quantization (an input whose channels are 1000x
 *   apart in range; the small ones carry the signal, so per-tensor int8 crushes them), the check
 *   fails, the warning names the layer that reads that input, and the suggested command, rerun,
 *   passes the check;
 * - on a trained model the figure is printed with no warning and stored in manifest.json.
 * Expected figures are recomputed here: float outputs on the reference interpreter or onnxruntime,
 * int8 outputs by onnxruntime on the artifact's QDQ model.onnx.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { Graph } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { exportOnnx } from '../../compiler/frontends/onnx/export.js';
import { writeDataFile, readDataFile } from '../../compiler/io/data.js';
import { quantizeModel } from '../../quantize/index.js';
import { isClassifierOutput } from '../../quantize/sensitivity.js';
import { DEFAULT_GUARD_LOSS, guardedQuantize, splitCalibration } from '../../quantize/guard.js';
import { fixCommand, parseGuardLoss } from '../../cli/guard.js';
import { HAVE_MODELS, TRAINED, cli, rmTmp, tmpDir } from '../cli/helpers.js';
import { ortSession, runOrt } from '../models/harness.js';

const tmp = tmpDir('edgec-guard-');
afterAll(() => rmTmp(tmp));

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** Samples [n, 8]: channels 0-3 uniform in +-50, channels 4-7 uniform in +-0.05. */
function crushData(n: number, seed: number): Tensor {
  const r = rng(seed);
  const d = new Float32Array(n * 8);
  for (let i = 0; i < n; i++) for (let c = 0; c < 8; c++) d[i * 8 + c] = (2 * r() - 1) * (c < 4 ? 50 : 0.05);
  return new Tensor('f32', [n, 8], d);
}

/**
 * x [N,8] -> gemm_a (8->16) + Relu -> gemm_b (16->K). gemm_a reads the small channels with weights
 * x20 and the large ones x0.001, so the output depends on the small channels, which per-tensor int8
 * on x (scale ~100/255) rounds to zero. K = 4: a classifier; K = 8 (the input size): SNR metric.
 */
function crushModel(K: number): Graph {
  const r = rng(11);
  const b = new GraphBuilder('crush', { '': 17 });
  const x = b.input('x', 'f32', ['N', 8]);
  const wa = Tensor.from('f32', [8, 16], Array.from({ length: 128 }, (_, i) => (2 * r() - 1) * (Math.floor(i / 16) < 4 ? 0.001 : 20)));
  const ba = Tensor.from('f32', [16], Array.from({ length: 16 }, () => 0.2 * r()));
  const h = b.node('Gemm', [x, b.const('wa', wa), b.const('ba', ba)], {}, { name: 'gemm_a' });
  const hr = b.node('Relu', [h], {}, { name: 'relu_a' });
  const wb = Tensor.from('f32', [16, K], Array.from({ length: 16 * K }, () => 2 * r() - 1));
  b.output(b.node('Gemm', [hr, b.const('wb', wb)], {}, { name: 'gemm_b' }));
  return b.build();
}

/** onnxruntime outputs of a batch-1 model, sample by sample, stacked to [N, C]. */
async function ortRows(bytes: Uint8Array, x: Tensor): Promise<Tensor> {
  const sess = await ortSession(bytes);
  const per = x.size / x.shape[0]!;
  const rows: number[] = [];
  for (let i = 0; i < x.shape[0]!; i++) {
    const xi = new Tensor('f32', [1, ...x.shape.slice(1)], (x.data as Float32Array).slice(i * per, (i + 1) * per));
    rows.push(...Array.from((await runOrt(sess, [xi]))[0]!.data as Float32Array));
  }
  return new Tensor('f32', [x.shape[0]!, rows.length / x.shape[0]!], Float32Array.from(rows));
}

/** Top-1 agreement of two [N, C] outputs. */
function agreement(a: Tensor, b: Tensor): number {
  const C = a.shape[1]!;
  const N = a.shape[0]!;
  let same = 0;
  for (let i = 0; i < N; i++) {
    let ia = 0;
    let ib = 0;
    for (let j = 1; j < C; j++) {
      if (a.get(i * C + j) > a.get(i * C + ia)) ia = j;
      if (b.get(i * C + j) > b.get(i * C + ib)) ib = j;
    }
    if (ia === ib) same++;
  }
  return same / N;
}

describe('held-out split', () => {
  it('holds out 20% of the samples, evenly spread, deterministically; the rest calibrates', () => {
    const g = crushModel(4);
    const x = crushData(100, 1);
    const s = splitCalibration(g, [x]);
    expect([s.heldSamples, s.calibSamples, s.heldOut]).toEqual([20, 80, true]);
    // every 5th sample (4, 9, 14, ...) is held out
    const per = 8;
    for (let k = 0; k < 20; k++) {
      expect(Array.from((s.held[0]!.data as Float32Array).subarray(k * per, (k + 1) * per)))
        .toEqual(Array.from((x.data as Float32Array).subarray((5 * k + 4) * per, (5 * k + 5) * per)));
    }
    expect(splitCalibration(g, [x]).held[0]!.data).toEqual(s.held[0]!.data);
    // at least a few are held out from a small set; one sample cannot be split
    expect(splitCalibration(g, [crushData(10, 2)]).heldSamples).toBe(4);
    expect(splitCalibration(g, [crushData(3, 2)]).heldSamples).toBe(1);
    const one = splitCalibration(g, [crushData(1, 2)]);
    expect([one.heldOut, one.heldSamples, one.calibSamples]).toEqual([false, 1, 1]);
  });

  it('a fixed batch size splits whole batches', () => {
    const b = new GraphBuilder('fixed', { '': 17 });
    const x = b.input('x', 'f32', [4, 8]);
    b.output(b.node('Relu', [x]));
    const s = splitCalibration(b.build(), [crushData(42, 3)]);
    expect(s.heldSamples % 4).toBe(0);
    expect(s.heldSamples).toBe(8); // 10 batches of 4 -> 2 held out; the 2 trailing samples calibrate
    expect(s.calibSamples).toBe(34);
  });
});

describe('classifier outputs', () => {
  it('[N,C] class scores are classifiers; an output of an input\'s size is a reconstruction', () => {
    const g = crushModel(4);
    expect(isClassifierOutput(g, g.outputs[0]!)).toBe(true);
    const ae = crushModel(8);
    expect(isClassifierOutput(ae, ae.outputs[0]!)).toBe(false);
    const b = new GraphBuilder('sm', { '': 17 });
    const x = b.input('x', 'f32', ['N', 8]);
    b.output(b.node('Softmax', [x], { axis: 1 }));
    const sm = b.build();
    expect(isClassifierOutput(sm, sm.outputs[0]!)).toBe(true);
  });
});

describe('guard on a model that breaks per-tensor int8', () => {
  const calib = crushData(200, 5);

  it('classifier: the check fails, names gemm_a, and keeping gemm_a float passes on the held-out samples', () => {
    const g = crushModel(4);
    const r = guardedQuantize(g, { mode: 'int8', calib: [calib] });
    const s = splitCalibration(g, [calib]);
    // recompute the figure: float reference vs the int8 graph on the held-out samples
    const want = agreement(runGraph(g, s.held)[0]!, runGraph(r.result.graph, s.held)[0]!);
    expect(r.check.samples).toBe(40);
    expect(r.check.top1Agreement).toBeCloseTo(want, 10);
    expect(want).toBeLessThan(1 - DEFAULT_GUARD_LOSS);
    expect(r.check.pass).toBe(false);
    expect(r.fix!.keep).toEqual(['gemm_a']);
    expect(r.fix!.worst[0]!.node).toBe('gemm_a');
    expect(r.fix!.check.pass).toBe(true);
    const fixed = quantizeModel(g, { mode: 'int8', calib: s.calib, keepFloat: ['gemm_a'] });
    expect(agreement(runGraph(g, s.held)[0]!, runGraph(fixed.graph, s.held)[0]!)).toBeGreaterThanOrEqual(1 - DEFAULT_GUARD_LOSS);
    // gemm_b is still int8
    expect(fixed.graph.orderedNodes().some((n) => n.op === 'QGemm')).toBe(true);
  });

  it('non-classifier (output as large as the input): SNR check, same fix', () => {
    const g = crushModel(8);
    const r = guardedQuantize(g, { mode: 'int8', calib: [calib] });
    const s = splitCalibration(g, [calib]);
    const f = runGraph(g, s.held)[0]!;
    const q = runGraph(r.result.graph, s.held)[0]!;
    let sig = 0;
    let noise = 0;
    for (let i = 0; i < f.size; i++) {
      sig += f.get(i) ** 2;
      noise += (f.get(i) - q.get(i)) ** 2;
    }
    expect(r.check.top1Agreement).toBeUndefined();
    expect(r.check.snrDb).toBeCloseTo(10 * Math.log10(sig / noise), 6);
    expect(r.check.pass).toBe(false);
    expect(r.fix!.keep).toEqual(['gemm_a']);
    expect(r.fix!.check.pass).toBe(true);
  });

  it('--keep-float auto keeps exactly gemm_a (greedy, fewest layers) and says it chose it', () => {
    const g = crushModel(4);
    const r = quantizeModel(g, { mode: 'int8', calib: [calib], keepFloat: 'auto' });
    expect(r.summary.keptFloat).toEqual(['gemm_a']);
    expect(r.summary.keptFloatBy).toBe('auto');
    expect(r.keepFloatTrace!.alone.find((a) => a.node === 'gemm_a')!.loss).toBeLessThanOrEqual(0.005);
    expect(quantizeModel(g, { mode: 'int8', calib: [calib], keepFloat: ['gemm_b'] }).summary.keptFloatBy).toBe('request');
  });
});

describe('guard on the command line', () => {
  const dir = path.join(tmp, 'crush');
  fs.mkdirSync(dir, { recursive: true });
  const model = path.join(dir, 'crush.onnx');
  const calibFile = path.join(dir, 'calib.npy');
  fs.writeFileSync(model, exportOnnx(crushModel(4)));
  writeDataFile(calibFile, crushData(200, 5));

  it('warns with the worst layer and a command that fixes it; rerunning that command passes', async () => {
    const out = path.join(tmp, 'crush.onnx-out');
    const r = await cli('compile', model, '--int8', '--calib', calibFile, '-o', out, '--target', 'onnx');
    expect(r.code, r.err).toBe(0);
    console.log(`\nguard on the per-tensor-breaking model:\n${r.err.split('\n').filter((l) => /int8 check|warning/.test(l)).join('\n')}`);
    const line = /edgec: int8 check on 40 held-out samples: top-1 agreement ([\d.]+)% with float \(SNR (-?[\d.]+) dB\)/.exec(r.err);
    expect(line, r.err).not.toBeNull();
    expect(Number(line![1])).toBeLessThan(98);
    expect(r.err).toMatch(/edgec: warning: int8 check: top-1 agreement [\d.]+% on the held-out samples is below 98\.0% top-1 agreement \(--guard-loss 0\.02\)/);
    expect(r.err).toMatch(/edgec: warning: worst layers \([^)]*\): gemm_a \(Gemm\) 100\.0%/);
    const fix = /edgec: warning: fix: (edgec .*) \(the layers --keep-float auto:0\.01 picks/.exec(r.err);
    expect(fix, r.err).not.toBeNull();
    const words = fix![1]!.split(' ');
    expect(words.slice(-2)).toEqual(['--keep-float', 'gemm_a']);
    expect(words.slice(0, 10)).toEqual(['edgec', 'compile', model, '--int8', '--calib', calibFile, '-o', out, '--target', 'onnx']);
    const m = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')) as Record<string, any>;
    expect(m['quantization'].check).toMatchObject({ samples: 40, held_out: true, metric: 'top1_agreement', pass: false, calibration_samples: 160 });
    expect(m['quantization'].check.fix.keep_float).toEqual(['gemm_a']);
    // ORT on the artifact's QDQ model.onnx gives the printed figure (float outputs from the reference)
    const held = splitCalibration(crushModel(4), [crushData(200, 5)]).held[0]!;
    const qOrt = await ortRows(fs.readFileSync(path.join(out, 'model.onnx')), held);
    const fRef = runGraph(crushModel(4), [held])[0]!;
    expect(Math.abs(100 * agreement(fRef, qOrt) - Number(line![1]))).toBeLessThanOrEqual(100 / 40 + 1e-9);

    // the suggested command, rerun: the check passes and no warning is printed
    const again = await cli(...words.slice(1));
    expect(again.code, again.err).toBe(0);
    console.log(`rerun of the suggested command:\n${again.err.split('\n').filter((l) => /int8 check|kept float/.test(l)).join('\n')}\n`);
    const ok = /edgec: int8 check on 40 held-out samples: top-1 agreement ([\d.]+)% with float/.exec(again.err);
    expect(Number(ok![1])).toBeGreaterThanOrEqual(98);
    expect(again.err).not.toMatch(/warning/);
    expect(again.err).toContain('kept float on request: gemm_a');
    const m2 = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')) as Record<string, any>;
    expect(m2['quantization'].check.pass).toBe(true);
    expect(m2['quantization'].kept_float_by).toBe('request');
    const qOrt2 = await ortRows(fs.readFileSync(path.join(out, 'model.onnx')), held);
    expect(agreement(fRef, qOrt2)).toBeGreaterThanOrEqual(0.98 - 1 / 40);
  }, 120_000);

  it('--keep-float auto reports "kept float by --keep-float auto"; --guard-loss is checked', async () => {
    const out = path.join(tmp, 'crush-auto');
    const r = await cli('compile', model, '--int8', '--calib', calibFile, '--keep-float', 'auto', '--guard-loss', '0.05', '-o', out, '--target', 'onnx');
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain('kept float by --keep-float auto: gemm_a');
    expect(r.err).not.toMatch(/warning/);
    const m = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')) as Record<string, any>;
    expect(m['quantization'].check.max_loss).toBe(0.05);
    for (const bad of ['0', '1', 'x', '-0.1']) {
      const b = await cli('compile', model, '--int8', '--calib', calibFile, '--guard-loss', bad, '-o', path.join(tmp, 'bad'));
      expect(b.code).toBe(2);
      expect(b.err.trim().split('\n')).toHaveLength(1);
      expect(b.err).toMatch(/--guard-loss/);
    }
    const noInt8 = await cli('compile', model, '--guard-loss', '0.1', '-o', path.join(tmp, 'bad'));
    expect(noInt8.code).toBe(2);
    expect(noInt8.err).toMatch(/--guard-loss needs --int8/);
    expect(() => parseGuardLoss('2')).toThrow(/guard-loss/);
    const help = await cli('compile', '--help');
    for (const w of ['--guard-loss', 'int8 check', 'held out', 'kept float by --keep-float auto']) expect(help.out).toContain(w);
    expect(fixCommand(['compile', 'a b.onnx', '--keep-float=x', '--int8', '--keep-float', 'auto'], ['n1', 'n2']))
      .toBe("edgec compile 'a b.onnx' --int8 --keep-float n1,n2");
  }, 120_000);
});

describe.skipIf(!HAVE_MODELS)('guard on a trained model', () => {
  it('digits_mlp: the figure, no warning, quantization.check in manifest.json (ORT agrees)', async () => {
    const dir = path.join(TRAINED, 'digits_mlp');
    const out = path.join(tmp, 'mlp');
    const r = await cli('compile', path.join(dir, 'model.onnx'), '--int8', '--calib', path.join(dir, 'calib_x.pb'), '-o', out);
    expect(r.code, r.err).toBe(0);
    const line = /edgec: int8 check on 51 held-out samples: top-1 agreement ([\d.]+)% with float \(SNR ([\d.]+) dB\)/.exec(r.err);
    expect(line, r.err).not.toBeNull();
    expect(r.err).not.toMatch(/warning/);
    const m = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')) as Record<string, any>;
    const c = m['quantization'].check;
    expect(c).toMatchObject({ samples: 51, held_out: true, calibration_samples: 205, pass: true, max_loss: DEFAULT_GUARD_LOSS });
    expect(c.top1_agreement * 100).toBeCloseTo(Number(line![1]), 1);
    // independent figure: ORT on the float model and on the QDQ model.onnx, same held-out samples
    const calib = readDataFile(path.join(dir, 'calib_x.pb'));
    const rows = Array.from({ length: 256 }, (_, i) => i).filter((i) => Math.floor(((i + 1) * 51) / 256) > Math.floor((i * 51) / 256));
    const per = calib.size / calib.shape[0]!;
    const held = new Tensor('f32', [rows.length, ...calib.shape.slice(1)], Float32Array.from(rows.flatMap((i) => Array.from((calib.data as Float32Array).subarray(i * per, (i + 1) * per)))));
    const fo = await ortRows(fs.readFileSync(path.join(dir, 'model.onnx')), held);
    const qo = await ortRows(fs.readFileSync(path.join(out, 'model.onnx')), held);
    expect(Math.abs(100 * agreement(fo, qo) - Number(line![1]))).toBeLessThanOrEqual(100 / 51 + 1e-9);
  }, 120_000);
});
