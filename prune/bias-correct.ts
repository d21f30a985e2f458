/**
 * Bias correction after weight-level pruning (Nagel et al. 2019, "Data-Free Quantization", applied
 * to pruning error): zeroing weights shifts each output's expectation by E[dW x] = dW E[x]. With
 * calibration data, the mean of every input channel of a pruned layer is measured on the unpruned
 * graph and delta[o] = alpha * sum_c E[x_c] * sum_k dW[o, c, k] is added to the layer's bias
 * (dW = removed weights). Exact in expectation for Gemm/MatMul; for convs it ignores the
 * zero padding at borders. Grouped convs, batched or fused MatMuls are left as they are (noted).
 */
import { Graph, ValueId } from '../compiler/ir/graph.js';
import { Tensor } from '../compiler/ir/tensor.js';
import { channelStats, weightLayerOf } from './common.js';
import { applyCompensation, inputAxis, sumOver } from './channel.js';

/**
 * Corrects the biases of the layers of `pruned` whose weights differ from `original`'s.
 * @param original the unpruned graph (same node ids) @param pruned the pruned copy (edited)
 * @param calib calibration inputs @param notes receives remarks
 * @returns the number of layers corrected
 */
export function correctBiases(original: Graph, pruned: Graph, calib: readonly Tensor[], notes: string[]): number {
  const todo: { id: number; value: ValueId; axis: number }[] = [];
  for (const n of pruned.orderedNodes()) {
    const l = weightLayerOf(pruned, n);
    const o = original.nodes.get(n.id);
    if (!l || !o) continue;
    const w0 = original.consts.get(o.inputs[l.weightInput]!);
    const w1 = pruned.consts.get(n.inputs[l.weightInput]!);
    if (!w0 || !w1 || w0 === w1 || w0.size !== w1.size) continue;
    if ((l.kind === 'conv' || l.kind === 'convT') && l.group !== 1) {
      notes.push(`"${n.name}": no bias correction (grouped convolution)`);
      continue;
    }
    if (l.kind === 'matmul' && (w1.shape.length !== 2 || n.domain !== '')) {
      notes.push(`"${n.name}": no bias correction (${n.domain ? `${n.op} has no bias input` : 'batched MatMul weight'})`);
      continue;
    }
    const axis = inputAxis(pruned, l);
    if (axis === undefined) continue;
    todo.push({ id: n.id, value: n.inputs[0]!, axis });
  }
  if (todo.length === 0) return 0;
  const stats = channelStats(original, calib, new Map(todo.map((t) => [t.value, t.axis])));
  let count = 0;
  for (const t of todo) {
    const st = stats.get(t.value);
    const n = pruned.node(t.id);
    const l = weightLayerOf(pruned, n)!;
    if (!st) continue;
    const w0 = original.consts.get(original.node(t.id).inputs[l.weightInput]!)!;
    const w1 = pruned.consts.get(n.inputs[l.weightInput]!)!;
    const d0 = w0.data as ArrayLike<number>;
    const d1 = w1.data as ArrayLike<number>;
    const dw = Tensor.from('f64', w0.shape, Array.from({ length: w0.size }, (_, i) => d0[i]! - d1[i]!));
    const perOut = sumOver(dw, l.inAxis, l.outAxis);
    const alpha = l.kind === 'gemm' && typeof n.attrs['alpha'] === 'number' ? (n.attrs['alpha'] as number) : 1;
    const delta = perOut.map((row) => alpha * row.reduce((a, v, c) => a + v * st.mean[c]!, 0));
    applyCompensation(pruned, l, delta, notes);
    count++;
  }
  return count;
}
