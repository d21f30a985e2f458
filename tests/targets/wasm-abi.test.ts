/**
 * Issue 11 item 13: manifest.json carries the wasm ABI, so a host without JavaScript (or without
 * model.mjs) runs model.wasm from the manifest alone: instantiate, write each input at its byte
 * `offset`, call the exported `run`, read each output. Checked against the reference interpreter
 * on models with several inputs/outputs and integer dtypes.
 */
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { compileWasm } from '../../targets/wasm/emit.js';

interface AbiEntry { name: string; shape: number[]; dtype: string; offset: number; size: number }

const ARRAYS: Record<string, new (b: ArrayBuffer, o: number, n: number) => ArrayLike<number> & { set(a: ArrayLike<number>): void }> = {
  f32: Float32Array, i32: Int32Array, u8: Uint8Array, i8: Int8Array,
};

describe('wasm ABI in manifest.json', () => {
  it('runs model.wasm from the manifest alone (two inputs, two outputs, f32 and i32) and matches the reference', async () => {
    const b = new GraphBuilder('abi', { '': 17 });
    const x = b.input('x', 'f32', [2, 5]);
    const k = b.input('k', 'i32', [2, 5]);
    const w = b.const('w', new Tensor('f32', [5, 3], Float32Array.from({ length: 15 }, (_, i) => Math.sin(i + 1))));
    const y = b.node('Relu', [b.node('MatMul', [x, w])], {}, { outputNames: ['scores'] });
    const s = b.node('Mul', [k, b.const('three', Tensor.from('i32', [], [3]))], {}, { outputNames: ['tripled'] });
    b.output(y, s);
    const g = b.build();
    const art = compileWasm(g);
    const m = art.manifest as unknown as { inputs: AbiEntry[]; outputs: AbiEntry[]; memory_pages: number };
    for (const e of [...m.inputs, ...m.outputs]) {
      expect(e.offset % 4).toBe(0);
      expect(e.size).toBe(e.shape.reduce((a, c) => a * c, 1));
    }
    const bytes = art.files.get('model.wasm') as Uint8Array;
    const { instance } = await WebAssembly.instantiate(bytes, { env: { now: () => 0 } });
    const mem = instance.exports['memory'] as WebAssembly.Memory;
    expect(mem.buffer.byteLength).toBe(m.memory_pages * 65536);
    const xs = new Tensor('f32', [2, 5], Float32Array.from({ length: 10 }, (_, i) => i / 3 - 1.2));
    const ks = Tensor.from('i32', [2, 5], Array.from({ length: 10 }, (_, i) => i * 1000 - 4000));
    const feed = new Map([['x', xs], ['k', ks]]);
    for (const e of m.inputs) new ARRAYS[e.dtype]!(mem.buffer, e.offset, e.size).set(feed.get(e.name)!.data as ArrayLike<number>);
    (instance.exports['run'] as () => void)();
    const want = runGraph(g, [xs, ks]);
    m.outputs.forEach((e, i) => {
      const got = Array.from(new ARRAYS[e.dtype]!(mem.buffer, e.offset, e.size));
      const ref = want[i]!.toNumbers();
      if (e.dtype === 'i32') expect(got).toEqual(ref);
      else got.forEach((v, j) => expect(Math.abs(v - ref[j]!)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(ref[j]!))));
    });
  });
});
