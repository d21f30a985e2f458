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

/**
 * The two parameters of a fused activation with ONNX defaults filled in (the values applyAct
 * uses): Clip [min, max] (default -inf, inf), HardSigmoid [alpha, beta] (0.2, 0.5), LeakyRelu
 * [alpha, 0] (0.01); [0, 0] for kinds without parameters.
 * @param kind activation kind
 * @param params activation_params as given (possibly shorter)
 */
export function actParams(kind: ActKind, params: readonly number[]): [number, number] {
  switch (kind) {
    case 'Clip': return [params[0] ?? -Infinity, params[1] ?? Infinity];
    case 'HardSigmoid': return [params[0] ?? 0.2, params[1] ?? 0.5];
    case 'LeakyRelu': return [params[0] ?? 0.01, 0];
    default: return [0, 0];
  }
}
