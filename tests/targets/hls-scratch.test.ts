import { it } from 'vitest';
import * as fs from 'node:fs';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { compileHls } from '../../targets/hls/emit.js';
import { writeHlsArtifact } from '../../targets/hls/csim.js';
import { randomTensor } from './wasm-helpers.js';
it('w', () => {
  const b = new GraphBuilder('c', { '': 17 });
  const x = b.input('x', 'f32', [1, 2, 6, 6]);
  const c = b.node('Relu', [b.node('Conv', [x, b.const('k', randomTensor([4, 2, 3, 3], 7))], { pads: [1, 1, 1, 1] })]);
  const p = b.node('AveragePool', [c], { kernel_shape: [2, 2], strides: [2, 2] });
  const s = b.node('Add', [p, b.node('ReduceMean', [p], { axes: [1], keepdims: 1 })]);
  const f = b.node('Flatten', [s], { axis: 1 });
  b.output(b.node('Softmax', [b.node('Gemm', [f, b.const('fc', randomTensor([3, 36], 9))], { transB: 1 })], { axis: 1 }));
  b.output(b.node('Slice', [x, b.const('st', 'i64', [1], [1]), b.const('en', 'i64', [1], [3]), b.const('ax', 'i64', [1], [3])]));
  const a = compileHls(b.build());
  fs.rmSync('/tmp/hlsx/warn', { recursive: true, force: true });
  writeHlsArtifact(a.files, a.manifest, '/tmp/hlsx/warn');
});
