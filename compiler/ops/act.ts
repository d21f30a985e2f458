/**
 * Fusable activations. A fused op (edgec.FusedConv, edgec.FusedGemm, edgec.FusedMatMul) carries
 * the ONNX attributes of its base op plus `activation` (one of ActKind) and `activation_params`
 * (floats), the same convention as ONNX Runtime's com.microsoft.FusedConv.
 */
export type ActKind = 'Relu' | 'Clip' | 'Sigmoid' | 'HardSigmoid' | 'HardSwish' | 'LeakyRelu' | 'Tanh';

export const ACT_KINDS: readonly ActKind[] = ['Relu', 'Clip', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'LeakyRelu', 'Tanh'];

/**
 * Applies an activation to one value.
 * params: Clip [min, max]; HardSigmoid [alpha, beta]; LeakyRelu [alpha]; others none.
 */
export function applyAct(kind: ActKind, params: readonly number[], x: number): number {
  switch (kind) {
    case 'Relu': return Number.isNaN(x) ? x : Math.max(x, 0);
    case 'Clip': {
      const lo = params[0] ?? -Infinity;
      const hi = params[1] ?? Infinity;
      return Number.isNaN(x) ? x : Math.min(Math.max(x, lo), hi);
    }
    case 'Sigmoid': return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
    case 'HardSigmoid': return Math.max(0, Math.min(1, (params[0] ?? 0.2) * x + (params[1] ?? 0.5)));
    case 'HardSwish': return x * Math.max(0, Math.min(1, x / 6 + 0.5));
    case 'LeakyRelu': return x >= 0 ? x : (params[0] ?? 0.01) * x;
    case 'Tanh': return Math.tanh(x);
  }
}

/** Reads `activation`/`activation_params` attributes of a fused op (undefined: none). */
export function actOf(attrs: Readonly<Record<string, unknown>>): { kind: ActKind; params: number[] } | undefined {
  const k = attrs['activation'];
  if (typeof k !== 'string' || k === '') return undefined;
  if (!(ACT_KINDS as readonly string[]).includes(k)) throw new Error(`unknown fused activation ${k}`);
  const p = attrs['activation_params'];
  return { kind: k as ActKind, params: Array.isArray(p) ? (p as number[]) : [] };
}
