/**
 * Per-layer cost and roofline estimates.
 *
 * For each node (a "layer"):
 *   macs, flops    from the op's `cost` hook (registry.ts; ops without one: 0 MACs, 1 flop per
 *                  output element, the registry's documented default)
 *   bytes          inputs + weights + outputs at their stored dtypes (f32 4 B, f16 2 B, i8/u8 1 B,
 *                  i4 0.5 B). Weights are constant inputs; a DequantizeLinear of a constant (int4
 *                  weight-only, QDQ weights) is a weight decode folded into its consumer: the
 *                  consumer reads the stored (packed) weight, the decode node moves nothing.
 *                  QDQ activations fold the same way (foldQdq): Q -> DQ pairs between layers
 *                  become int8 buffers written by the producer and read by the consumer.
 *                  View ops (Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout) move nothing.
 *   precision      compute class from the first input's dtype: i8/u8 -> int8 (edgec.Q* ops),
 *                  f16/bf16 -> fp16, else fp32; QDQ graphs use the storage dtype (so a Conv
 *                  reading a folded DQ of int8 is int8); folded nodes: their output's
 *
 * On a device (devices.ts):
 *   activations on chip when the layer's inputs + outputs fit in `onchip.bytes`, else off chip;
 *   weights off chip (flash/DRAM), or on chip for `weights: 'onchip'` devices when all weights plus
 *   the arena fit there.
 *   compute_s = (macs + flops) / macsPerSec[precision]
 *   memory_s  = onchipBytes / onchip.bandwidth + offchipBytes / offchip.bandwidth
 *   latency_s = max(compute_s, memory_s) + layerOverheadS          (0 for view ops)
 *   energy_J  = (macs + flops) * energyPerMac[precision] + onchipBytes * onchip.energyPerByte
 *             + offchipBytes * offchip.energyPerByte + staticPowerW * latency_s
 */
import { Graph, Node, NodeId, ValueId } from '../compiler/ir/graph.js';
import { DType, dtypeBits } from '../compiler/ir/dtype.js';
import { Shape } from '../compiler/ir/tensor.js';
import { inferCtxOf } from '../compiler/interp/interp.js';
import { getOp, opsetOf, parseAttrs } from '../compiler/ops/registry.js';
import { DeviceProfile, KernelModel, Precision } from './devices.js';

/** Ops that only relabel a buffer (no data movement, no arithmetic) in every edgec target. */
export const VIEW_OPS: ReadonlySet<string> = new Set(['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Identity', 'Dropout']);

/** Bytes moved by one layer, split by kind. */
export interface LayerBytes {
  /** Activation inputs (non-constant). */
  input: number;
  /** Constant inputs (weights, biases, quantization parameters), at their stored size. */
  weight: number;
  /** Outputs. */
  output: number;
  total: number;
}

/** Device-independent cost of one layer. */
export interface LayerCost {
  /** Position in execution order. */
  index: number;
  name: string;
  op: string;
  domain: string;
  precision: Precision;
  macs: number;
  /**
   * MACs with a nonzero weight: macs times the nonzero fraction of the layer's largest constant
   * float weight (pruned weights; equal to macs without one). Sparse kernels (wasm spmm_f32) skip
   * most of the rest; model.wasm stores only the nonzeros.
   */
  nnzMacs?: number;
  /** Other arithmetic (approximate, from the op's cost hook). */
  flops: number;
  bytes: LayerBytes;
  /** True for view ops and folded weight decodes (they cost nothing at run time). */
  free: boolean;
  /** Kernel class for cycle-model devices (layerClass). */
  kind: LayerClass;
}

/**
 * Kernel classes with different efficiency on MCU kernel libraries (CMSIS-NN, X-CUBE-AI): a
 * standard convolution (kernel > 1, one group; 'conv-narrow' when it has fewer than 8 input channels,
 * as first layers do: no channel pairs for dual 16-bit MACs, im2col dominated), a pointwise (1x1)
 * convolution, a depthwise (or
 * grouped) convolution, a dense layer (Gemm/MatMul, weights read once per inference), and
 * everything else (elementwise, pooling, requantization: costed per output element).
 */
export type LayerClass = 'conv' | 'conv-narrow' | 'pointwise' | 'depthwise' | 'dense' | 'other';
export const LAYER_CLASSES: readonly LayerClass[] = ['conv', 'conv-narrow', 'pointwise', 'depthwise', 'dense', 'other'];

const CONV_OPS = new Set(['Conv', 'ConvTranspose', 'QLinearConv', 'ConvInteger', 'QConv']);
const DENSE_OPS = new Set(['Gemm', 'MatMul', 'QGemm', 'QLinearMatMul', 'MatMulInteger', 'FusedMatMul']);

/**
 * Kernel class of a node: convolutions by their weight shape ([M, C/group, k...]) and group
 * attribute, Gemm/MatMul as dense, everything else 'other'.
 */
export function layerClass(g: Graph, n: Node): LayerClass {
  const op = n.op.replace(/^Fused/, '');
  if (DENSE_OPS.has(n.op) || DENSE_OPS.has(op)) return 'dense';
  if (!CONV_OPS.has(n.op) && !CONV_OPS.has(op)) return 'other';
  const g0 = n.attrs['group'];
  const group = typeof g0 === 'number' ? g0 : 1;
  // the weight is input 1 (Conv, QConv, ConvInteger) or input 3 (QLinearConv)
  const w = n.inputs[n.op === 'QLinearConv' ? 3 : 1];
  const ws = w != null ? g.typeOf(w).shape : [];
  if (group > 1) return 'depthwise';
  const spatial = ws.slice(2);
  if (spatial.length > 0 && spatial.every((d) => d === 1)) return 'pointwise';
  return typeof ws[1] === 'number' && ws[1] < 8 ? 'conv-narrow' : 'conv';
}

/** One layer's estimate on one device. */
export interface LayerEstimate {
  compute_ms: number;
  memory_ms: number;
  latency_ms: number;
  energy_mj: number;
  bound: 'compute' | 'memory' | 'none';
  onchip_bytes: number;
  offchip_bytes: number;
  /** The layer's activations (inputs + outputs) do not fit in the device's on-chip memory. */
  exceeds_onchip: boolean;
}

/** Whole-model estimate on one device. */
export interface DeviceEstimate {
  device: string;
  /** The kernel library's cycle model used (devices with `kernels`); absent for roofline estimates. */
  kernels?: string;
  latency_ms: number;
  energy_mj: number;
  compute_ms: number;
  memory_ms: number;
  /** Peak activation memory fits on chip (SRAM / cache / BRAM). */
  arena_fits: boolean;
  /** Weights fit in their store (flash / DRAM, or BRAM for on-chip-weight devices). */
  weights_fit: boolean;
  /** Weights read from on-chip memory (FPGA BRAM) rather than off chip. */
  weights_onchip: boolean;
  /** Human-readable warnings (capacity exceeded...). */
  flags: string[];
  layers: LayerEstimate[];
}

/** Bytes of `n` elements of `dt` (i4/u4 packed two per byte, rounded up). */
export function bytesOf(dt: DType, n: number): number {
  return Math.ceil((n * dtypeBits(dt)) / 8);
}

/** Elements of a shape; symbolic dims count as 1 (batch 1). */
export function elems(s: Shape): number {
  let n = 1;
  for (const d of s) n *= typeof d === 'number' ? d : 1;
  return n;
}

/** Compute precision class of a dtype. */
export function precisionOfDType(dt: DType | undefined): Precision {
  if (dt === 'i8' || dt === 'u8' || dt === 'i4' || dt === 'u4') return 'int8';
  if (dt === 'f16' || dt === 'bf16') return 'fp16';
  return 'fp32';
}

/** How quantize/dequantize nodes fold into the layers around them (see foldQdq). */
export interface QdqFolding {
  /** Nodes that cost nothing at run time (view ops, weight decodes, folded Q/DQ). */
  free: Set<NodeId>;
  /** Storage dtype of values whose buffer holds another dtype than their type says. */
  storage: Map<ValueId, DType>;
  /** Value -> value whose buffer it shares (view outputs, folded Q/DQ outputs). */
  alias: Map<ValueId, ValueId>;
  /** Output of a weight decode -> stored bytes of the decode's constant inputs. */
  decodedWeights: Map<ValueId, number>;
}

const isOnnx = (n: Node, op: string) => n.domain === '' && n.op === op;

/**
 * Folds standard-ONNX quantization (QDQ form, what an artifact's model.onnx holds for --int8, and
 * DequantizeLinear weight decodes for --int4) into the layers an int8 runtime would execute:
 * - DequantizeLinear of a constant: a weight decode; the consumer reads the stored bytes.
 * - DequantizeLinear of a QuantizeLinear output (not a graph output): the consumer reads int8.
 * - QuantizeLinear of a compute node's output that only QuantizeLinear nodes read (and is not a
 *   graph output): the producer writes int8 directly (its requantizing epilogue); a Relu/Clip
 *   between a Conv/Gemm/MatMul/Add and the QuantizeLinear is that epilogue's clamp (free).
 * QuantizeLinear of a graph input and DequantizeLinear of a graph output stay real layers.
 * @param g graph with inferred types
 */
export function foldQdq(g: Graph): QdqFolding {
  const f: QdqFolding = { free: new Set(), storage: new Map(), alias: new Map(), decodedWeights: new Map() };
  const uses = g.uses();
  const outputs = new Set(g.outputs);
  for (const n of g.orderedNodes()) {
    if (n.domain === '' && VIEW_OPS.has(n.op)) {
      f.free.add(n.id);
      const x = n.inputs[0];
      if (x != null && !g.consts.has(x)) for (const o of n.outputs) f.alias.set(o, x);
      continue;
    }
    const x = n.inputs[0];
    if (x == null) continue;
    if (isOnnx(n, 'DequantizeLinear')) {
      if (g.consts.has(x)) {
        let b = 0;
        for (const i of n.inputs) if (i != null) b += g.consts.get(i)?.byteSize() ?? 0;
        f.decodedWeights.set(n.outputs[0]!, b);
        f.free.add(n.id);
      } else if (g.producerOf(x) && isOnnx(g.producerOf(x)!, 'QuantizeLinear') && !outputs.has(n.outputs[0]!)) {
        f.free.add(n.id);
        f.alias.set(n.outputs[0]!, x);
        f.storage.set(n.outputs[0]!, g.typeOf(x).dtype);
      }
    } else if (isOnnx(n, 'QuantizeLinear')) {
      const p = g.producerOf(x);
      const readers = uses.get(x) ?? [];
      if (p && !isOnnx(p, 'QuantizeLinear') && !isOnnx(p, 'DequantizeLinear') && !outputs.has(x)
        && readers.every((r) => isOnnx(r, 'QuantizeLinear'))) {
        f.free.add(n.id);
        f.alias.set(n.outputs[0]!, x);
        f.storage.set(x, g.typeOf(n.outputs[0]!).dtype);
        foldActivation(g, f, p, uses, outputs, g.typeOf(n.outputs[0]!).dtype);
      }
    }
  }
  return f;
}

/** Ops whose int8 form applies a following Relu/Clip as its output clamp (quantize/README.md). */
const CLAMPS_ACTIVATION = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul', 'Add']);

/**
 * Q(Relu(Conv(...))) -> the int8 Conv clamps its output: when `act` is a Relu/Clip whose input is
 * read only by it and comes from a Conv/Gemm/MatMul/Add, the activation is free and the producer
 * writes the quantized buffer.
 */
function foldActivation(g: Graph, f: QdqFolding, act: Node, uses: Map<ValueId, Node[]>, outputs: Set<ValueId>, dt: DType): void {
  if (!isOnnx(act, 'Relu') && !isOnnx(act, 'Clip')) return;
  const x = act.inputs[0];
  if (x == null || outputs.has(x) || g.consts.has(x)) return;
  const p = g.producerOf(x);
  if (!p || p.domain !== '' || !CLAMPS_ACTIVATION.has(p.op) || (uses.get(x) ?? []).length !== 1) return;
  f.free.add(act.id);
  f.alias.set(act.outputs[0]!, x);
  f.storage.set(x, dt);
}

/** Bytes of a value's buffer: constants at their byteSize, activations at their storage dtype. */
function valueBytes(g: Graph, f: QdqFolding, id: ValueId): number {
  const c = g.consts.get(id);
  if (c) return c.byteSize();
  const t = g.typeOf(id);
  return bytesOf(f.storage.get(id) ?? t.dtype, elems(t.shape));
}

/** Storage dtype of a value (after QDQ folding). */
function storageOf(g: Graph, f: QdqFolding, id: ValueId): DType {
  return f.storage.get(id) ?? g.typeOf(id).dtype;
}

/** Nonzero fraction of a node's largest constant float weight of rank >= 2 (1 without one). */
function weightDensity(g: Graph, n: Node): number {
  let best: { size: number; data: ArrayLike<number> } | undefined;
  for (const i of n.inputs) {
    const t = i == null ? undefined : g.consts.get(i);
    if (!t || t.shape.length < 2 || !(t.data instanceof Float32Array || t.data instanceof Float64Array)) continue;
    if (!best || t.size > best.size) best = { size: t.size, data: t.data };
  }
  if (!best || best.size === 0) return 1;
  let nz = 0;
  for (let i = 0; i < best.size; i++) if (best.data[i] !== 0) nz++;
  return nz / best.size;
}

/**
 * Device-independent per-layer costs of a graph, in execution order.
 * @param g graph with inferred shapes (concrete shapes for meaningful numbers)
 */
export function layerCosts(g: Graph): LayerCost[] {
  const f = foldQdq(g);
  return g.orderedNodes().map((n, index) => {
    const def = getOp(n.domain, n.op);
    const outTypes = n.outputs.map((o) => g.typeOf(o));
    let macs = 0;
    let flops = outTypes.length ? elems(outTypes[0]!.shape) : 0;
    if (def?.cost) {
      const c = def.cost(inferCtxOf(g, n), parseAttrs(def, n, opsetOf(n, g)), outTypes);
      macs = c.macs;
      flops = c.flops;
    }
    const free = f.free.has(n.id);
    const firstIn = n.inputs.find((i) => i != null);
    // a folded Q/DQ or weight decode belongs to its neighbour: report the precision it produces
    const precision = precisionOfDType(firstIn != null && !free ? storageOf(g, f, firstIn) : n.outputs[0] !== undefined ? storageOf(g, f, n.outputs[0]) : undefined);
    const bytes: LayerBytes = { input: 0, weight: 0, output: 0, total: 0 };
    if (!free) {
      const seen = new Set<ValueId>();
      for (const i of n.inputs) {
        if (i == null || seen.has(i)) continue;
        seen.add(i);
        if (g.consts.has(i)) bytes.weight += valueBytes(g, f, i);
        else if (f.decodedWeights.has(i)) bytes.weight += f.decodedWeights.get(i)!;
        else bytes.input += valueBytes(g, f, i);
      }
      for (const o of n.outputs) bytes.output += valueBytes(g, f, o);
      bytes.total = bytes.input + bytes.weight + bytes.output;
    } else {
      flops = 0;
    }
    return { index, name: n.name, op: n.op, domain: n.domain, precision, macs, nnzMacs: macs * weightDensity(g, n), flops, bytes, free, kind: layerClass(g, n) };
  });
}

/**
 * Peak activation memory (bytes) of a straightforward arena allocator running the graph in order:
 * a buffer lives from its producer to its last reader; view-op and folded Q/DQ outputs share their
 * input's buffer; graph inputs live from the start, graph outputs to the end. Constants and decoded
 * weights are not counted.
 * @param g graph with inferred shapes
 */
export function arenaBytes(g: Graph): number {
  const f = foldQdq(g);
  const nodes = g.orderedNodes();
  const rootOf = (v: ValueId): ValueId => {
    let r = v;
    for (let k = 0; k < 10_000 && f.alias.has(r); k++) r = f.alias.get(r)!;
    return r;
  };
  const counted = (v: ValueId) => !g.consts.has(v) && !f.decodedWeights.has(v);
  const lastUse = new Map<ValueId, number>();
  nodes.forEach((n, i) => {
    for (const x of n.inputs) if (x != null && counted(x)) lastUse.set(rootOf(x), i);
  });
  for (const o of g.outputs) if (counted(o)) lastUse.set(rootOf(o), Infinity);
  const size = (v: ValueId) => valueBytes(g, f, v);
  let live = 0;
  const alive = new Set<ValueId>();
  for (const i of g.inputs) {
    const r = rootOf(i);
    if (!alive.has(r)) {
      alive.add(r);
      live += size(r);
    }
  }
  let peak = live;
  nodes.forEach((n, idx) => {
    for (const o of n.outputs) {
      const r = rootOf(o);
      if (r !== o || alive.has(r) || !counted(o)) continue;
      alive.add(r);
      live += size(r);
    }
    peak = Math.max(peak, live);
    for (const r of [...alive]) {
      if ((lastUse.get(r) ?? -1) <= idx) {
        alive.delete(r);
        live -= size(r);
      }
    }
  });
  return peak;
}

/** Total stored bytes of the constants that nodes read (weights, biases, quantization params). */
export function weightBytes(g: Graph): number {
  const used = new Set<ValueId>();
  for (const n of g.nodes.values()) for (const i of n.inputs) if (i != null && g.consts.has(i)) used.add(i);
  let b = 0;
  for (const id of used) b += g.consts.get(id)!.byteSize();
  return b;
}

/**
 * Estimates one layer on a device.
 * @param c the layer's cost
 * @param d device profile
 * @param weightsOnchip whether weights are read from on-chip memory
 */
export function estimateLayer(c: LayerCost, d: DeviceProfile, weightsOnchip: boolean, km?: KernelModel): LayerEstimate {
  const act = c.bytes.input + c.bytes.output;
  const actOnchip = act <= d.onchip.bytes;
  const onchip = (actOnchip ? act : 0) + (weightsOnchip ? c.bytes.weight : 0);
  const offchip = (actOnchip ? 0 : act) + (weightsOnchip ? 0 : c.bytes.weight);
  if (c.free) {
    return { compute_ms: 0, memory_ms: 0, latency_ms: 0, energy_mj: 0, bound: 'none', onchip_bytes: 0, offchip_bytes: 0, exceeds_onchip: false };
  }
  if (km) {
    // cycle model of a kernel library (devices.ts KernelModel): latency = cycles / clock, energy =
    // active power x latency; memory traffic is part of the calibrated cycles
    const pf = km.precisionFactor[c.precision];
    const cpm = c.kind === 'other' ? 0 : km.cyclesPerMac[c.kind];
    const cycles = c.macs * cpm * pf + c.flops * km.cyclesPerOutput * pf + km.cyclesPerLayer;
    const s = cycles / km.clockHz;
    return {
      compute_ms: s * 1e3, memory_ms: 0, latency_ms: s * 1e3, energy_mj: km.activePowerW * s * 1e3, bound: 'compute',
      onchip_bytes: onchip, offchip_bytes: offchip, exceeds_onchip: !actOnchip,
    };
  }
  const ops = c.macs + c.flops;
  const computeS = ops / d.macsPerSec[c.precision];
  const memoryS = onchip / d.onchip.bandwidth + offchip / d.offchip.bandwidth;
  const latencyS = Math.max(computeS, memoryS) + d.layerOverheadS;
  const energyJ = ops * d.energyPerMac[c.precision] + onchip * d.onchip.energyPerByte
    + offchip * d.offchip.energyPerByte + d.staticPowerW * latencyS;
  return {
    compute_ms: computeS * 1e3,
    memory_ms: memoryS * 1e3,
    latency_ms: latencyS * 1e3,
    energy_mj: energyJ * 1e3,
    bound: computeS >= memoryS ? 'compute' : 'memory',
    onchip_bytes: onchip,
    offchip_bytes: offchip,
    exceeds_onchip: !actOnchip,
  };
}

/**
 * The kernel model of a device: the one named `name` (when the device has it), else its default
 * (first); undefined for roofline-only devices.
 */
export function kernelModelOf(d: DeviceProfile, name?: string): KernelModel | undefined {
  if (!d.kernels || d.kernels.length === 0) return undefined;
  return (name !== undefined ? d.kernels.find((k) => k.name === name) : undefined) ?? d.kernels[0];
}

/** Formats a byte count for warnings. */
function kib(b: number): string {
  return b >= 1024 * 1024 ? `${(b / 1024 / 1024).toFixed(2)} MiB` : `${(b / 1024).toFixed(1)} KiB`;
}

/**
 * Estimates a whole model on a device from its layer costs.
 * @param costs per-layer costs (layerCosts)
 * @param d device profile
 * @param model arena and weight bytes of the model (arenaBytes / weightBytes)
 */
export function estimateModel(costs: readonly LayerCost[], d: DeviceProfile, model: { arenaBytes: number; weightBytes: number }, kernels?: string): DeviceEstimate {
  const km = kernelModelOf(d, kernels);
  const flags: string[] = [];
  const arenaFits = model.arenaBytes <= d.onchip.bytes;
  if (!arenaFits) {
    flags.push(`activation arena ${kib(model.arenaBytes)} exceeds ${d.onchip.what} (${kib(d.onchip.bytes)}); large activations spill to ${d.offchip.what}`);
  }
  let weightsOnchip = false;
  let weightsFit: boolean;
  if (d.weights === 'onchip') {
    weightsOnchip = model.weightBytes + model.arenaBytes <= d.onchip.bytes;
    weightsFit = weightsOnchip || model.weightBytes <= d.offchip.bytes;
    if (!weightsOnchip) {
      flags.push(`weights ${kib(model.weightBytes)} + arena do not fit in ${d.onchip.what} (${kib(d.onchip.bytes)}); weights stream from ${d.offchip.what}`);
    }
  } else {
    weightsFit = model.weightBytes <= d.offchip.bytes;
  }
  if (!weightsFit) flags.push(`weights ${kib(model.weightBytes)} exceed ${d.offchip.what} (${kib(d.offchip.bytes)})`);
  const layers = costs.map((c) => estimateLayer(c, d, weightsOnchip, km));
  const spill = layers.filter((l) => l.exceeds_onchip).length;
  if (spill > 0) flags.push(`${spill} layer(s) have activations larger than ${d.onchip.what}`);
  const sum = (f: (l: LayerEstimate) => number) => layers.reduce((a, l) => a + f(l), 0);
  return {
    device: d.name,
    ...(km ? { kernels: km.name } : {}),
    latency_ms: sum((l) => l.latency_ms),
    energy_mj: sum((l) => l.energy_mj),
    compute_ms: sum((l) => l.compute_ms),
    memory_ms: sum((l) => l.memory_ms),
    arena_fits: arenaFits,
    weights_fit: weightsFit,
    weights_onchip: weightsOnchip,
    flags,
    layers,
  };
}
