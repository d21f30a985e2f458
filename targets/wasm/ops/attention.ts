/**
 * Wasm lowerings of the attention family (compiler/ops/attention.ts): LinearAttention on the
 * linear_attention kernel (runtime-wasm/assembly/linattn.ts; f32 or f64 tensors, f64 state).
 * Attention and the other ONNX-function ops of the family expand through their `decompose` hooks.
 */
import { Node, ValueId } from '../../../compiler/ir/graph.js';
import { numel } from '../../../compiler/ir/tensor.js';
import { LowerCtx, LowerFn, NULL, SCRATCH, f32, i32 } from '../ctx.js';
import { dtypeCode } from './shape.js';

/** Gate layouts of linattn.ts (G_*): per (KV head, key dim), per KV head, one per step. */
const GATE = { none: 0, headDim: 1, head: 2, step: 3 } as const;

interface LinearAttrs {
  qHeads: number;
  kvHeads: number;
  scale: number;
  rule: 'linear' | 'gated' | 'delta' | 'gated_delta';
}

// LinearAttention(q, k, v, past_state?, decay?, beta?, erase_gate?) -> (output, present_state):
// S *= exp(decay_t); v_t = beta_t (v_t - S^T (erase_t k_t)); S += k_t v_t^T; o_t = scale q_t^T S
function lowerLinearAttention(c: LowerCtx, n: Node): void {
  const [q, k, v] = n.inputs as [ValueId, ValueId, ValueId];
  const opt = (i: number): ValueId | null => n.inputs[i] ?? null;
  const [past, decay, beta, erase] = [opt(3), opt(4), opt(5), opt(6)];
  const [y, present] = [n.outputs[0]!, n.outputs[1] ?? null];
  const a = c.attrs<LinearAttrs>();
  const dt = c.g.typeOf(q).dtype;
  if (dt !== 'f32' && dt !== 'f64') throw c.unsupported(`LinearAttention on ${dt} (wasm: f32 or f64)`);
  for (const x of [k, v, decay, beta, erase, y]) {
    if (x !== null && c.g.typeOf(x).dtype !== dt) throw c.unsupported('LinearAttention with inputs of different dtypes');
  }
  const gating = a.rule === 'gated' || a.rule === 'gated_delta';
  const delta = a.rule === 'delta' || a.rule === 'gated_delta';
  if (gating !== (decay !== null) || delta !== (beta !== null) || (erase !== null && !delta)) {
    throw c.unsupported(`LinearAttention inputs do not match update_rule "${a.rule}"`);
  }
  const [qs, ks, vs] = [c.shape(q), c.shape(k), c.shape(v)];
  if (qs.length !== 3 || ks.length !== 3 || vs.length !== 3) throw c.unsupported('LinearAttention takes rank-3 query, key and value');
  const [B, T] = qs as [number, number];
  const Hq = a.qHeads;
  const Hkv = a.kvHeads;
  const dk = qs[2]! / Hq;
  const dv = vs[2]! / Hkv;
  if (!Number.isInteger(dk) || !Number.isInteger(dv) || ks[2] !== Hkv * dk || ks[0] !== B || vs[0] !== B || ks[1] !== T || vs[1] !== T) {
    throw c.unsupported('LinearAttention query, key and value sizes do not match the head counts');
  }
  const sdt = present !== null ? c.g.typeOf(present).dtype : past !== null ? c.g.typeOf(past).dtype : dt;
  if ((sdt !== 'f32' && sdt !== 'f64') || (past !== null && c.g.typeOf(past).dtype !== sdt)) throw c.unsupported(`LinearAttention state of dtype ${sdt}`);
  if (past !== null && numel(c.shape(past)) !== B * Hkv * dk * dv) throw c.unsupported('LinearAttention past_state shape');
  // a gate's layout by its last dim, in the reference's order of preference
  const layout = (g: ValueId | null, allowed: number[], name: string): [number, number] => {
    if (g === null) return [GATE.none, 0];
    const gs = c.shape(g);
    if (gs.length !== 3 || gs[0] !== B || gs[1] !== T) throw c.unsupported(`LinearAttention ${name} must have shape [${B},${T},n]`);
    const last = gs[2]!;
    if (last === Hkv * dk && allowed.includes(Hkv * dk)) return [GATE.headDim, last];
    if (last === Hkv && allowed.includes(Hkv)) return [GATE.head, last];
    if (last === 1 && allowed.includes(1)) return [GATE.step, last];
    throw c.unsupported(`LinearAttention ${name} last dim ${last}`);
  };
  const [gm, gl] = layout(decay, [Hkv, Hkv * dk], 'decay');
  const [bm, bl] = layout(beta, [Hkv, 1], 'beta');
  const [em, el] = layout(erase, [Hkv * dk], 'erase_gate');
  const needPresent = present !== null && c.g.useCount(present) > 0;
  if (numel(c.shape(y)) === 0 && !needPresent) return;
  const addr = (x: ValueId | null) => (x === null ? NULL : c.vaddr(x));
  const scratch = 8 * (B * Hkv * dk * dv + dv);
  c.emit('linear_attention', [c.vaddr(q), c.vaddr(k), c.vaddr(v), addr(past), addr(decay), addr(beta), addr(erase), c.vaddr(y),
    needPresent ? c.vaddr(present!) : NULL, i32(dtypeCode(c, q, true)), i32(sdt === 'f64' ? 1 : 0), i32(B), i32(T), i32(Hq), i32(Hkv),
    i32(dk), i32(dv), i32(gm), i32(bm), i32(em), i32(gl), i32(bl), i32(el), f32(a.scale), SCRATCH],
  { reads: [q, k, v, past, decay, beta, erase], writes: needPresent ? [y, present!] : [y], scratch, dtype: 'any' });
}

/** Attention-family lowerings by qualified op name. */
export const ATTENTION_LOWERINGS: Readonly<Record<string, LowerFn>> = {
  LinearAttention: lowerLinearAttention,
};
