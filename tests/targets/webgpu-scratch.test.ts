import { it } from 'vitest';
import { loadOnnxFile } from '../../compiler/frontends/onnx/import.js';
import { compileWebgpu } from '../../targets/webgpu/emit.js';
import { loadWebgpuArtifact, writeTempArtifact, nodeGpuDevice } from '../../targets/webgpu/runner.js';
it('scratch', async () => {
  await nodeGpuDevice();
  for (const f of (process.env.MODELS ?? '').split(',')) {
    const g = loadOnnxFile(f);
    const art = compileWebgpu(g);
    console.log(f, art.stats.shaders, art.stats.dispatches, JSON.stringify(Object.values(art.stats.kernels).reduce((a: Record<string, number>, k) => { a[k] = (a[k] ?? 0) + 1; return a; }, {})));
    const dir = writeTempArtifact(art.files);
    let t = performance.now();
    const m = await loadWebgpuArtifact(dir);
    console.log('create', performance.now() - t); t = performance.now();
    const n = m.inputs[0]!.shape.reduce((a, b) => a * b, 1);
    await m.run({ [m.inputs[0]!.name]: new Float32Array(n) });
    console.log('run1', performance.now() - t); t = performance.now();
  }
});
