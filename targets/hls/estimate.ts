/**
 * Resource and latency estimate of a generated HLS project, per layer and in total, against an
 * FPGA part (default xc7z020). A first-order model for planning (hls4ml-style reuse factor), not
 * a synthesis result:
 * - DSP: parallel multipliers = ceil(multiplications per pipelined iteration / reuse factor).
 *   fp32: 5 DSP48 per multiply-accumulate unit (3 for fmul, 2 for fadd on 7-series/UltraScale);
 *   int8: two 8x8 products packed per DSP48 (ceil(mult / 2)), plus 4 DSP48 for the 32x32-bit
 *   requantization multiply of a layer with an output stage.
 *   fp16 (half storage, float accumulation as in the kernels): the same multiply-accumulate units as
 *   fp32. int4 weights: a dequantizing fmul, float(q) * scale (3 DSP48, ~100 LUT / 150 FF): one per
 *   parallel multiplier in dense layers (each weight is read once per row), one per conv layer
 *   (it fills a float buffer with the current filter before its output positions; the buffer
 *   costs LUTRAM/BRAM and the fill adds its cycles to the latency).
 * - BRAM18K, per array partition (the weights of a MAC layer are partitioned over its parallel
 *   multipliers, at most 64 ways): a partition above 2 kbit takes ceil(bits / 18432) BRAM18K of its
 *   own, a smaller one goes to LUTRAM (64 bits per LUT); activation buffers are one partition.
 *   Weight bits are the stored bits: 32 per fp32 value, 16 per half, 4 per int4 weight plus 32 per
 *   block scale.
 * - LUT/FF: per multiplier (fp32 ~ 400 LUT / 600 FF for an fmul+fadd pair around the DSPs; int8
 *   ~ 30 LUT / 50 FF) plus a per-layer control overhead (250 LUT / 350 FF) and LUTRAM for small arrays.
 * - Recurrent layers (LSTM/GRU): the gate matrix-vector rows are dense rows (n_in + n_hidden MACs per
 *   pipelined row, the same multiplier model); the element-wise state loop adds 3 fmul units and one
 *   exp-based unit per sigmoid/tanh (~7 DSP48); every time step drains the gate pipeline and runs the
 *   state loop before the next step can start (latency += steps x (depth + hidden + 20)).
 * - Latency: iterations x II (the reuse factor) + the pipeline depth per layer; the layers run
 *   in sequence for one input (total latency), and under DATAFLOW the initiation interval is the
 *   slowest layer.
 */
import { usage } from '../../compiler/errors.js';

/** What the generator knows about one layer. */
export interface LayerCost {
  index: number;
  /** Source node name (data). */
  node: string;
  op: string;
  kernel: string;
  macs: number;
  /** Parallel multipliers of the pipelined loop body. */
  multipliers: number;
  /** Reuse factor (the pipeline II). */
  reuse: number;
  /** MAC layers: multiplications per pipelined iteration (reuse x multipliers, up to rounding). */
  perIter?: number;
  /** Pipelined loop iterations. */
  iterations: number;
  weightBits: number;
  outBits: number;
  int8: boolean;
  /** The layer ends in an integer requantization (a 32x32-bit multiply). */
  requant: boolean;
  /** Block-wise int4 weights: dequantized per multiplier ('tap') or per filter into a buffer ('filter'). */
  int4?: 'tap' | 'filter';
  /** int4 'filter': bits of the dequantized filter buffer and the cycles spent filling it. */
  dequantBits?: number;
  dequantCycles?: number;
  /**
   * Recurrent layers (LSTM/GRU): `steps` sequential time steps (per direction and batch entry);
   * each one drains the gate-row pipeline (its depth) and then runs `stateCycles` element-wise
   * state updates at II 1, with `stateMults` float multipliers and `activations` sigmoid/tanh
   * units (one exp-based unit each) in that loop body.
   */
  recurrent?: { steps: number; stateCycles: number; stateMults: number; activations: number };
}

/** DSP48 / LUT / FF of one float sigmoid or tanh unit (exp + divide), and its latency in cycles. */
const ACT_UNIT = { dsp: 7, lut: 800, ff: 1000, latency: 20 };

/** An FPGA part's resources. */
export interface Part {
  name: string;
  fullName: string;
  dsp: number;
  bram18k: number;
  lut: number;
  ff: number;
}

export const PARTS: Readonly<Record<string, Part>> = {
  xc7z020: { name: 'xc7z020', fullName: 'xc7z020clg400-1', dsp: 220, bram18k: 280, lut: 53200, ff: 106400 },
  xc7z010: { name: 'xc7z010', fullName: 'xc7z010clg400-1', dsp: 80, bram18k: 120, lut: 17600, ff: 35200 },
  xc7a100t: { name: 'xc7a100t', fullName: 'xc7a100tcsg324-1', dsp: 240, bram18k: 270, lut: 63400, ff: 126800 },
  xczu3eg: { name: 'xczu3eg', fullName: 'xczu3eg-sbva484-1-e', dsp: 360, bram18k: 432, lut: 70560, ff: 141120 },
  xczu9eg: { name: 'xczu9eg', fullName: 'xczu9eg-ffvb1156-2-e', dsp: 2520, bram18k: 1824, lut: 274080, ff: 548160 },
  xcu250: { name: 'xcu250', fullName: 'xcu250-figd2104-2L-e', dsp: 12288, bram18k: 5376, lut: 1728000, ff: 3456000 },
};

/** Looks up a part by short or full name. */
export function resolvePart(name: string): Part {
  const key = name.toLowerCase();
  const p = PARTS[key] ?? Object.values(PARTS).find((q) => q.fullName.toLowerCase() === key);
  if (!p) throw usage(`unknown FPGA part "${name.slice(0, 60)}" (known: ${Object.keys(PARTS).join(', ')})`);
  return p;
}

export interface LayerEstimate {
  index: number;
  node: string;
  op: string;
  kernel: string;
  reuse_factor: number;
  multipliers: number;
  macs: number;
  dsp: number;
  bram18k: number;
  lut: number;
  ff: number;
  latency_cycles: number;
}

export interface HlsEstimate {
  part: string;
  clock_ns: number;
  precision: string;
  layers: LayerEstimate[];
  total: { dsp: number; bram18k: number; lut: number; ff: number; latency_cycles: number; interval_cycles: number; latency_us: number };
  available: { dsp: number; bram18k: number; lut: number; ff: number };
  utilization: { dsp: number; bram18k: number; lut: number; ff: number };
  fits: boolean;
  warnings: string[];
  model: string;
}

const BRAM_BITS = 18432;
const LUTRAM_MAX_BITS = 2048;

/**
 * BRAM18K of one array of `bits` split over `parts` partitions, decided per partition: a partition
 * above 2 kbit takes ceil(bits / 18 kbit) BRAM18K of its own (a partition is a separate memory);
 * a smaller one goes to LUTRAM (lutramFor). So halving the bits halves the memory, whichever kind.
 */
export function bramFor(bits: number, parts = 1): number {
  if (bits <= 0) return 0;
  const p = Math.max(1, Math.round(parts));
  const per = bits / p;
  return per <= LUTRAM_MAX_BITS ? 0 : p * Math.ceil(per / BRAM_BITS);
}

/** LUTs used as distributed RAM (64 bits per LUT) by the partitions of an array that stay small. */
export function lutramFor(bits: number, parts = 1): number {
  if (bits <= 0) return 0;
  const p = Math.max(1, Math.round(parts));
  const per = bits / p;
  return per <= LUTRAM_MAX_BITS ? p * Math.ceil(per / 64) : 0;
}

/** Pipeline depth of a layer's loop body (adder tree + multiply + output stage). */
function depth(c: LayerCost): number {
  const tree = c.multipliers > 1 ? Math.ceil(Math.log2(c.multipliers)) : 0;
  return c.int8 ? 3 + tree + (c.requant ? 4 : 0) : 8 + 4 * tree;
}

/**
 * Estimates resources and latency.
 * @param costs per-layer facts from the generator
 * @param o part, clock, precision and the activation buffer sizes (bits)
 */
export function estimateProject(costs: LayerCost[], o: { part: Part; clockNs: number; precision: string; bufferBits: number[] }): HlsEstimate {
  const layers: LayerEstimate[] = costs.map((c) => {
    const mult = c.multipliers;
    let dsp = 0;
    if (c.macs > 0 && mult > 0) dsp = c.int8 ? Math.ceil(mult / 2) : 5 * mult;
    else if (mult > 0 && !c.int8) dsp = 3 * mult;
    if (c.requant) dsp += 4;
    const deq = c.int4 === 'tap' ? mult : c.int4 === 'filter' ? 1 : 0;
    dsp += 3 * deq;
    const rc = c.recurrent;
    if (rc) dsp += 3 * rc.stateMults + ACT_UNIT.dsp * rc.activations;
    const parts = Math.max(1, Math.min(mult, 64));
    const dqBits = c.int4 === 'filter' ? c.dequantBits ?? 0 : 0;
    const wParts = c.macs > 0 ? parts : 1;
    const bram = bramFor(c.weightBits, wParts) + bramFor(dqBits, parts);
    const lut = 250 + mult * (c.int8 ? 30 : 400) + 100 * deq + lutramFor(c.weightBits, wParts) + lutramFor(dqBits, parts) +
      (rc ? rc.stateMults * 100 + rc.activations * ACT_UNIT.lut : 0);
    const ff = 350 + mult * (c.int8 ? 50 : 600) + 150 * deq + (rc ? rc.stateMults * 150 + rc.activations * ACT_UNIT.ff : 0);
    // recurrent: every step waits for the previous state, so the gate pipeline drains per step
    const rcCycles = rc ? rc.steps * (depth(c) + rc.stateCycles + ACT_UNIT.latency) : 0;
    const latency = c.iterations * Math.max(1, c.reuse) + depth(c) + (c.int4 === 'filter' ? c.dequantCycles ?? 0 : 0) + rcCycles;
    return {
      index: c.index, node: c.node, op: c.op, kernel: c.kernel, reuse_factor: c.reuse, multipliers: mult, macs: c.macs,
      dsp, bram18k: bram, lut, ff, latency_cycles: latency,
    };
  });
  const sum = (k: 'dsp' | 'bram18k' | 'lut' | 'ff') => layers.reduce((s, l) => s + l[k], 0);
  const bufBram = o.bufferBits.reduce((s, bits) => s + bramFor(bits), 0);
  const bufLut = o.bufferBits.reduce((s, bits) => s + lutramFor(bits), 0);
  const total = {
    dsp: sum('dsp'),
    bram18k: sum('bram18k') + bufBram,
    lut: sum('lut') + bufLut,
    ff: sum('ff'),
    latency_cycles: layers.reduce((s, l) => s + l.latency_cycles, 0),
    interval_cycles: layers.reduce((s, l) => Math.max(s, l.latency_cycles), 0),
    latency_us: 0,
  };
  total.latency_us = Math.round(total.latency_cycles * o.clockNs) / 1000;
  const p = o.part;
  const util = (used: number, avail: number) => Math.round((used / avail) * 10000) / 10000;
  const utilization = { dsp: util(total.dsp, p.dsp), bram18k: util(total.bram18k, p.bram18k), lut: util(total.lut, p.lut), ff: util(total.ff, p.ff) };
  const warnings: string[] = [];
  const over = (what: string, used: number, avail: number) => {
    if (used > avail) warnings.push(`${what} estimate ${used} exceeds the ${p.name} (${avail}); raise the reuse factor or pick a larger part`);
  };
  over('DSP', total.dsp, p.dsp);
  over('BRAM18K', total.bram18k, p.bram18k);
  over('LUT', total.lut, p.lut);
  over('FF', total.ff, p.ff);
  return {
    part: p.fullName, clock_ns: o.clockNs, precision: o.precision, layers, total,
    available: { dsp: p.dsp, bram18k: p.bram18k, lut: p.lut, ff: p.ff }, utilization, fits: warnings.length === 0, warnings,
    model: 'edgec first-order model: DSP = multipliers (fp32/fp16 x5, int8 /2 packed) per layer, + 3 per int4 dequantizer (per multiplier in dense, per conv layer); BRAM18K from stored array bits (fp32 32, fp16 16, int4 4 + block scales); latency = iterations x II + depth',
  };
}
