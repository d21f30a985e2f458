/**
 * Golden WGSL for one canonical graph (conv 3x3 + fused ReLU on the tiled implicit-GEMM kernel,
 * depthwise conv on the direct kernel, global pool, Gemm with bias, Softmax). A review aid only:
 * correctness comes from the differential tests. Update with `npx vitest run -u <this file>`.
 */
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { compileWebgpu } from '../../targets/webgpu/emit.js';
import { randomTensor } from './wasm-helpers.js';

function canonical() {
  const b = new GraphBuilder('canonical', { '': 17 });
  const x = b.input('x', 'f32', [1, 3, 16, 16]);
  const c1 = b.node('Relu', [b.node('Conv', [x, b.const('w1', randomTensor([16, 3, 3, 3], 1)), b.const('b1', randomTensor([16], 2))], { pads: [1, 1, 1, 1] })]);
  const c2 = b.node('Conv', [c1, b.const('w2', randomTensor([16, 1, 3, 3], 3))], { pads: [1, 1, 1, 1], strides: [2, 2], group: 16 });
  const f = b.node('Flatten', [b.node('GlobalAveragePool', [c2])]);
  const y = b.node('Gemm', [f, b.const('w3', randomTensor([10, 16], 4)), b.const('b3', randomTensor([10], 5))], { transB: 1 });
  b.output(b.node('Softmax', [y]));
  return b.build();
}

describe('webgpu codegen snapshot', () => {
  it('canonical graph WGSL', async () => {
    const art = compileWebgpu(canonical());
    const text = [...art.files].filter(([name]) => name.endsWith('.wgsl')).map(([name, src]) => `// ===== ${name} =====\n${src as string}`).join('\n');
    await expect(text).toMatchFileSnapshot('./__snapshots__/webgpu-canonical.wgsl');
  });
});
