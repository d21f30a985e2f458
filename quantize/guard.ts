/**
 * The int8 guard: quantize on part of the calibration set, check the int8 model against float on the
 * samples held back, and when the check fails, find the layers to keep in float that fix it.
 *
 *   const g = guardedQuantize(graph, { mode: 'int8', calib: [x] });
 *   checkLine(g.check)  // "int8 check on 51 held-out samples: top-1 agreement 98.0% with float (SNR 31.2 dB)"
 *   g.fix?.keep         // node names for --keep-float when g.check.pass is false
 *
 * - Split (splitCalibration): the samples are cut into groups of the model's fixed batch size (1 when
 *   the batch dim is symbolic); GUARD_FRACTION of the groups, at least GUARD_MIN_HELD samples (but at
 *   most half the groups),
 *   spread evenly over the set (group i is held out when floor((i+1)h/G) > floor(ih/G)), are held
 *   out; the rest calibrates. A set of one group is both calibrated and checked on (said so).
 * - Check (checkInt8): per graph output, top-1 agreement for classifier outputs
 *   (sensitivity.ts isClassifierOutput), SNR and relative RMS error for every output; the loss is
 *   the output loss of --keep-float auto (1 - agreement, or the relative squared error), the
 *   largest over the outputs. The check passes when loss <= maxLoss (DEFAULT_GUARD_LOSS = 0.02:
 *   98% top-1 agreement, or SNR >= 17.0 dB).
 * - Fix: the --keep-float auto selection run on the calibration part with bounds maxLoss/2,
 *   maxLoss/8, maxLoss/32 in turn until the chosen layers pass the check on the held-out samples;
 *   its per-layer measurements (output loss with only that layer kept float) name the worst layers.
 */
import { Graph } from '../compiler/ir/graph.js';
import { Tensor, numel } from '../compiler/ir/tensor.js';
import { usage } from '../compiler/errors.js';
import { EngineFactory, checkCalibration } from './calibrate.js';
import { QuantizeOptions, QuantizeResult, quantizeModel } from './index.js';
import { compareOutputs, explainLayers, lossOf, snrDbOf } from './sensitivity.js';

/** Fraction of the calibration samples held out for the check. */
export const GUARD_FRACTION = 0.2;
/** Fewest samples held out (when the set has at least twice as many batch groups). */
export const GUARD_MIN_HELD = 4;
/** Default bound on the held-out output loss (--guard-loss). */
export const DEFAULT_GUARD_LOSS = 0.02;

/** Calibration samples split into a calibration part and a held-out part. */
export interface CalibrationSplit {
  calib: Tensor[];
  held: Tensor[];
  calibSamples: number;
  heldSamples: number;
  /** False when the set was too small to hold samples out (held = calib). */
  heldOut: boolean;
}

/** Rows `rows` (in order) of a tensor whose first axis is the sample axis. */
function takeRows(t: Tensor, rows: readonly number[]): Tensor {
  const per = numel(t.shape.slice(1));
  const src = t.data as Float32Array;
  const out = new Float32Array(rows.length * per);
  rows.forEach((r, i) => out.set(src.subarray(r * per, (r + 1) * per), i * per));
  return new Tensor(t.dtype, [rows.length, ...t.shape.slice(1)], out);
}

/**
 * Deterministic split of calibration samples (see the file comment).
 * @param g the float graph (its first input's batch dim sets the group size)
 * @param calib one tensor per graph input, samples along the first axis
 * @param fraction share of the groups held out
 */
export function splitCalibration(g: Graph, calib: readonly Tensor[], fraction = GUARD_FRACTION): CalibrationSplit {
  const n = checkCalibration(g, calib);
  const d0 = g.typeOf(g.inputs[0]!).shape[0];
  const B = typeof d0 === 'number' && d0 > 0 ? d0 : 1;
  const G = Math.floor(n / B);
  if (G < 2) return { calib: [...calib], held: [...calib], calibSamples: n, heldSamples: n, heldOut: false };
  const h = Math.min(G - 1, Math.max(Math.round(G * fraction), Math.min(Math.ceil(GUARD_MIN_HELD / B), Math.floor(G / 2))));
  const held: number[] = [];
  const kept: number[] = [];
  for (let i = 0; i < G; i++) {
    const to = Math.floor(((i + 1) * h) / G) > Math.floor((i * h) / G) ? held : kept;
    for (let r = i * B; r < (i + 1) * B; r++) to.push(r);
  }
  for (let r = G * B; r < n; r++) kept.push(r);
  return {
    calib: calib.map((t) => takeRows(t, kept)), held: calib.map((t) => takeRows(t, held)),
    calibSamples: kept.length, heldSamples: held.length, heldOut: true,
  };
}

/** The int8 check's figures. */
export interface Int8Check {
  /** Samples compared, and whether they were held out of calibration. */
  samples: number;
  heldOut: boolean;
  /** Lowest top-1 agreement over the classifier outputs (undefined: no classifier output). */
  top1Agreement?: number;
  /** Lowest output SNR (dB) against float, and the relative RMS error of that output. */
  snrDb: number;
  relError: number;
  /** Output loss (see the file comment) and the bound it is checked against. */
  loss: number;
  maxLoss: number;
  pass: boolean;
}

/**
 * Compares the int8 graph with the float graph on `samples`.
 * @param fg float graph @param qg int8 (lowered) graph
 * @param samples held-out inputs @param heldOut whether they were left out of calibration
 * @param maxLoss bound on the output loss @param engines fast engines (default: the reference interpreter)
 */
export function checkInt8(fg: Graph, qg: Graph, samples: readonly Tensor[], heldOut: boolean, maxLoss: number, engines?: EngineFactory): Int8Check {
  const stats = compareOutputs(fg, qg, samples, undefined, engines);
  let top1: number | undefined;
  let snrDb = Infinity;
  let relError = 0;
  for (const s of stats) {
    if (s.classifier && s.samples > 0) top1 = Math.min(top1 ?? 1, s.agree / s.samples);
    const db = snrDbOf(s.sig, s.noise);
    if (db <= snrDb) {
      snrDb = db;
      relError = s.sig === 0 ? (s.noise === 0 ? 0 : Infinity) : Math.sqrt(s.noise / s.sig);
    }
  }
  const loss = lossOf(stats);
  return {
    samples: samples[0]!.shape[0]!, heldOut, ...(top1 !== undefined ? { top1Agreement: top1 } : {}),
    snrDb, relError, loss, maxLoss, pass: loss <= maxLoss,
  };
}

/** A dB figure for messages. */
export function fmtDb(x: number): string {
  return x === Infinity ? 'inf' : x === -Infinity ? '-inf' : x.toFixed(1);
}

/** A fraction as a percentage with one decimal. */
function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

/**
 * The check's one-line figure, e.g. "int8 check on 51 held-out samples: top-1 agreement 98.0% with
 * float (SNR 31.2 dB)".
 * @param c check result
 */
export function checkLine(c: Int8Check): string {
  const on = c.heldOut ? `${c.samples} held-out samples` : `${c.samples} calibration samples (too few to hold any out)`;
  const fig = c.top1Agreement !== undefined
    ? `top-1 agreement ${pct(c.top1Agreement)} with float (SNR ${fmtDb(c.snrDb)} dB)`
    : `SNR ${fmtDb(c.snrDb)} dB against float (relative error ${pct(c.relError)})`;
  return `int8 check on ${on}: ${fig}`;
}

/** The bound of a check in the check's own unit, e.g. "98.0% top-1 agreement" or "17.0 dB SNR". */
export function boundText(c: Int8Check): string {
  return c.top1Agreement !== undefined ? `${pct(1 - c.maxLoss)} top-1 agreement` : `${fmtDb(10 * Math.log10(1 / c.maxLoss))} dB SNR`;
}

/** A layer the failed check blames, with what keeping it float alone gives. */
export interface WorstLayer {
  node: string;
  op: string;
  /** Output loss on the calibration part with only this layer kept float. */
  lossAlone: number;
  /** SNR (dB) this layer loses on the held-out samples (--explain's drop), when probed. */
  dropDb?: number;
}

/** Layers that fix a failed check. */
export interface GuardFix {
  /** Node names for --keep-float. */
  keep: string[];
  /** The --keep-float auto bound that chose them. */
  autoLoss: number;
  /** The check with them kept float (same held-out samples). */
  check: Int8Check;
  /** Most helpful layers first (at most 5). */
  worst: WorstLayer[];
}

export interface GuardResult {
  result: QuantizeResult;
  split: CalibrationSplit;
  check: Int8Check;
  /** Present when the check failed. */
  fix?: GuardFix;
}

/**
 * int8 quantization with the guard: calibrates on the calibration part of `opts.calib`, checks on
 * the held-out part, and looks for a fix when the check fails (see the file comment).
 * @param g float graph (after the optimization pipeline; not modified)
 * @param opts quantizeModel options (mode 'int8', calib required)
 * @param maxLoss bound on the held-out output loss (0 < maxLoss < 1)
 */
export function guardedQuantize(g: Graph, opts: QuantizeOptions, maxLoss = DEFAULT_GUARD_LOSS): GuardResult {
  if (opts.mode !== 'int8' || !opts.calib) throw usage('the int8 guard needs int8 quantization with calibration data');
  if (!(maxLoss > 0 && maxLoss < 1)) throw usage(`guard loss ${maxLoss} is out of range (expected 0 < LOSS < 1)`);
  const split = splitCalibration(g, opts.calib);
  const engines = opts.calibEngine;
  const result = quantizeModel(g, { ...opts, calib: split.calib });
  const check = checkInt8(result.float!, result.graph, split.held, split.heldOut, maxLoss, engines);
  if (check.pass) return { result, split, check };
  let fix: GuardFix | undefined;
  for (const autoLoss of [maxLoss / 2, maxLoss / 8, maxLoss / 32]) {
    const r = quantizeModel(g, { ...opts, calib: split.calib, keepFloat: { maxLoss: autoLoss }, explain: false });
    const c = checkInt8(r.float!, r.graph, split.held, split.heldOut, maxLoss, engines);
    const trace = r.keepFloatTrace;
    if (!fix || fix.worst.length === 0) {
      const rows = explainLayers(result.float!, result.qdq, result.graph, split.held, result.summary.layers, engines);
      const alone = [...(trace?.alone ?? [])].sort((a, b) => a.loss - b.loss || a.rel - b.rel).slice(0, 5);
      const worst = alone.map((a): WorstLayer => {
        const row = rows.find((x) => x.node === a.node);
        const op = result.summary.layers.find((l) => l.node === a.node)?.op ?? row?.op ?? '?';
        return { node: a.node, op, lossAlone: a.loss, ...(row ? { dropDb: row.dropDb } : {}) };
      });
      fix = { keep: r.summary.keptFloat, autoLoss, check: c, worst };
    } else {
      fix = { ...fix, keep: r.summary.keptFloat, autoLoss, check: c };
    }
    if (c.pass && fix.keep.length > 0) break;
  }
  return { result, split, check, ...(fix ? { fix } : {}) };
}
