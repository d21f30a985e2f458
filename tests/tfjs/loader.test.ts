/**
 * TF.js loader: untrusted model.json and weight shards. Each bad input gives one EdgecError of the
 * documented kind; `__proto__`/`constructor` keys stay data; quantized weights dequantize like
 * tfjs-core (v * scale + min; int32 rounds; float16 decodes).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadTfjsModel } from '../../compiler/frontends/tfjs/index.js';
import { readWeights } from '../../compiler/frontends/tfjs/load.js';
import { loadModelFile, detectModelFormat } from '../../compiler/frontends/index.js';
import { DEFAULT_LIMITS, EdgecError, ErrorKind } from '../../compiler/errors.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { b64, f32Bytes, manifest, node, tfShape, tmpDir, writeModel, cleanup } from './fixture.js';
import { SHARED_DIR } from '../models/harness.js';

/** Runs f, expecting one EdgecError of `kind` whose one-line form matches `re`. */
function expectError(f: () => unknown, kind: ErrorKind, re: RegExp): EdgecError {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected an EdgecError').toBeInstanceOf(EdgecError);
  const e = err as EdgecError;
  expect(e.kind, e.oneLine()).toBe(kind);
  expect(e.oneLine()).toMatch(re);
  return e;
}

/** A graph model y = x + w (x: [1, 2], w: Const from the weights). */
function addModel(wname = 'w', addName = 'add', paths = ['weights.bin']) {
  return {
    format: 'graph-model', generatedBy: 'test', convertedBy: 'test',
    modelTopology: {
      node: [
        node('x', 'Placeholder', [], { dtype: { type: 'DT_FLOAT' }, shape: tfShape([1, 2]) }),
        node(wname, 'Const', [], { dtype: { type: 'DT_FLOAT' } }),
        node(addName, 'AddV2', ['x', wname], { T: { type: 'DT_FLOAT' } }),
      ],
      library: {}, versions: {},
    },
    weightsManifest: [{ paths, weights: [{ name: wname, shape: [2], dtype: 'float32' }] }],
  };
}

const W = f32Bytes([10, 20]);
const X = Tensor.from('f32', [1, 2], [1, 2]);

afterAll(cleanup);

describe('tfjs loader: good inputs', () => {
  it('loads a graph model and runs it (also via loadModelFile and a folder path)', () => {
    const dir = tmpDir('ok');
    const file = writeModel(dir, addModel(), { 'weights.bin': W });
    expect(runGraph(loadTfjsModel(file), [X])[0]!.toNumbers()).toEqual([11, 22]);
    expect(detectModelFormat(file)).toBe('tfjs');
    expect(detectModelFormat(dir)).toBe('tfjs');
    expect(runGraph(loadModelFile(dir), [X])[0]!.toNumbers()).toEqual([11, 22]);
    expect(runGraph(loadModelFile(file), [X])[0]!.toNumbers()).toEqual([11, 22]);
  });

  it('loadModelFile dispatches ONNX files (by extension and by content) to the ONNX importer', () => {
    const onnx = path.join(SHARED_DIR, 'conformance', 'onnx-node', 'test_add', 'model.onnx');
    if (!fs.existsSync(onnx)) return;
    expect(detectModelFormat(onnx)).toBe('onnx');
    const g = loadModelFile(onnx);
    expect(g.orderedNodes().map((n) => n.op)).toEqual(['Add']);
    const copy = path.join(tmpDir('noext'), 'model');
    fs.copyFileSync(onnx, copy);
    expect(detectModelFormat(copy)).toBe('onnx');
    expect(loadModelFile(copy).orderedNodes().map((n) => n.op)).toEqual(['Add']);
    const json = path.join(tmpDir('noext-json'), 'model');
    writeModel(path.dirname(json), addModel(), { 'weights.bin': W });
    fs.renameSync(path.join(path.dirname(json), 'model.json'), json);
    expect(detectModelFormat(json)).toBe('tfjs');
  });

  it('weights may span several shards of one group', () => {
    const dir = tmpDir('shards');
    const file = writeModel(dir, addModel('w', 'add', ['a.bin', 'sub/b.bin']), { 'a.bin': W.subarray(0, 3) });
    fs.mkdirSync(path.join(dir, 'sub'));
    fs.writeFileSync(path.join(dir, 'sub/b.bin'), W.subarray(3));
    expect(runGraph(loadTfjsModel(file), [X])[0]!.toNumbers()).toEqual([11, 22]);
  });

  it('__proto__ and constructor keys are data, and nothing is polluted', () => {
    const m = addModel('constructor', '__proto__') as Record<string, unknown>;
    const text = JSON.stringify(m)
      .replace('"format":', '"__proto__":{"polluted":1,"format":"evil"},"constructor":{"prototype":{"polluted":2}},"format":')
      .replace('"T":{"type":"DT_FLOAT"}', '"T":{"type":"DT_FLOAT"},"__proto__":{"i":"1","polluted":3}');
    expect(text).toContain('"__proto__":{"polluted":1');
    const file = writeModel(tmpDir('proto'), text, { 'weights.bin': W });
    const g = loadTfjsModel(file);
    expect(runGraph(g, [X])[0]!.toNumbers()).toEqual([11, 22]);
    expect(g.value(g.outputs[0]!).name).toBe('__proto__');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('dequantizes uint8/uint16 (scale, min), int32 (rounded) and float16 weights like tfjs-core', () => {
    const dir = tmpDir('quant');
    const u8 = new Uint8Array([0, 1, 255]);
    const u16 = new Uint8Array(new Uint16Array([0, 2, 65535]).buffer);
    const i32q = new Uint8Array([0, 3, 7]);
    // float16 bit patterns: 1.0, -2.5, 65504 (max half), 2^-24 (smallest subnormal)
    const f16 = new Uint8Array(new Uint16Array([0x3c00, 0xc100, 0x7bff, 0x0001]).buffer);
    const bytes = new Uint8Array([...u8, ...u16, ...i32q, ...f16]);
    fs.writeFileSync(path.join(dir, 'q.bin'), bytes);
    const mf = [{
      paths: ['q.bin'],
      weights: [
        { name: 'a', shape: [3], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.5, min: -1, original_dtype: 'float32' } },
        { name: 'b', shape: [3], dtype: 'float32', quantization: { dtype: 'uint16', scale: 0.25, min: 2 } },
        { name: 'c', shape: [3], dtype: 'int32', quantization: { dtype: 'uint8', scale: 0.5, min: 0.2 } },
        { name: 'd', shape: [4], dtype: 'float32', quantization: { dtype: 'float16', original_dtype: 'float32' } },
      ],
    }];
    const w = readWeights(mf, dir);
    expect(w.get('a')!.toNumbers()).toEqual([-1, -0.5, 126.5]);
    expect(w.get('b')!.toNumbers()).toEqual([2, 2.5, Math.fround(65535 * 0.25 + 2)]);
    expect(w.get('c')!.dtype).toBe('i32');
    expect(w.get('c')!.toNumbers()).toEqual([0, 2, 4]); // round(0.2), round(1.7), round(3.7)
    expect(w.get('d')!.toNumbers()).toEqual([1, -2.5, 65504, 2 ** -24]);
  });
});

describe('tfjs loader: bad inputs give one clear EdgecError', () => {
  const escaping: [string, string, RegExp][] = [
    ['parent folder', '../evil.bin', /escapes the model folder/],
    ['nested parent folder', 'sub/../../evil.bin', /escapes the model folder/],
    ['absolute path', '/etc/passwd', /is absolute/],
    ['URL', 'https://example.com/w.bin', /URL/],
    ['file URL', 'file:///etc/passwd', /URL/],
    ['Windows drive', 'C:\\w.bin', /URL or drive path/],
  ];
  for (const [what, p, re] of escaping) {
    it(`weight path: ${what} -> security`, () => {
      const file = writeModel(tmpDir('esc'), addModel('w', 'add', [p]), { 'weights.bin': W });
      expectError(() => loadTfjsModel(file), 'security', re);
    });
  }

  it('weight path through a symlink -> security', () => {
    const dir = tmpDir('sym');
    const outside = tmpDir('outside');
    fs.writeFileSync(path.join(outside, 'w.bin'), W);
    fs.symlinkSync(path.join(outside, 'w.bin'), path.join(dir, 'weights.bin'));
    const file = writeModel(dir, addModel());
    expectError(() => loadTfjsModel(file), 'security', /symbolic link/);
    fs.symlinkSync(outside, path.join(dir, 'linkdir'));
    const file2 = writeModel(dir, addModel('w', 'add', ['linkdir/w.bin']));
    expectError(() => loadTfjsModel(file2), 'security', /symbolic link/);
  });

  it('weight shard that is a hard link -> security', () => {
    const dir = tmpDir('hard');
    const outside = tmpDir('outside');
    fs.writeFileSync(path.join(outside, 'w.bin'), W);
    fs.linkSync(path.join(outside, 'w.bin'), path.join(dir, 'weights.bin'));
    const file = writeModel(dir, addModel());
    expectError(() => loadTfjsModel(file), 'security', /hard link/);
  });

  it('shard bytes not adding up -> invalid (short and long)', () => {
    const f1 = writeModel(tmpDir('short'), addModel(), { 'weights.bin': W.subarray(0, 6) });
    expectError(() => loadTfjsModel(f1), 'invalid', /hold 6 bytes but the manifest's weights need 8/);
    const f2 = writeModel(tmpDir('long'), addModel(), { 'weights.bin': new Uint8Array(12) });
    expectError(() => loadTfjsModel(f2), 'invalid', /hold 12 bytes but the manifest's weights need 8/);
  });

  it('missing shard -> invalid naming it', () => {
    const file = writeModel(tmpDir('missing'), addModel());
    expectError(() => loadTfjsModel(file), 'invalid', /weight shard "weights.bin" does not exist/);
  });

  it('model.json over the JSON size limit -> limit', () => {
    const file = writeModel(tmpDir('huge'), addModel(), { 'weights.bin': W });
    const size = fs.statSync(file).size;
    expectError(() => loadTfjsModel(file, { limits: { ...DEFAULT_LIMITS, maxJsonBytes: size - 1 } }), 'limit', /over the JSON limit/);
  });

  it('deeply nested JSON -> one EdgecError, no crash', () => {
    const file = writeModel(tmpDir('deep'), `{"a":${'['.repeat(200000)}${']'.repeat(200000)}}`);
    const e = expectError(() => loadTfjsModel(file), 'limit', /nested too deeply/);
    expect(e.ctx.file).toBe(file);
  });

  it('not JSON / not a TF.js model -> invalid', () => {
    expectError(() => loadTfjsModel(writeModel(tmpDir('nj'), 'not json {')), 'invalid', /not valid JSON/);
    expectError(() => loadTfjsModel(writeModel(tmpDir('arr'), '[1,2]')), 'invalid', /not a JSON object/);
    expectError(() => loadTfjsModel(writeModel(tmpDir('nt'), '{"format":"graph-model"}')), 'invalid', /no modelTopology/);
  });

  it('unknown TF op -> unsupported naming the op, node and TF op type', () => {
    const m = addModel();
    (m.modelTopology.node as unknown[]).push(node('weird', 'FancyOp', ['add'], {}));
    const file = writeModel(tmpDir('unk'), m, { 'weights.bin': W });
    const e = expectError(() => loadTfjsModel(file), 'unsupported', /unsupported TF op FancyOp.*node 3 "weird".*op FancyOp/);
    expect(e.ctx.node).toBe('weird');
  });

  it('string and unknown weight dtypes, bad quantization -> unsupported/invalid', () => {
    const dir = tmpDir('dt');
    fs.writeFileSync(path.join(dir, 'w.bin'), new Uint8Array(8));
    expectError(() => readWeights([{ paths: ['w.bin'], weights: [{ name: 's', shape: [2], dtype: 'string' }] }], dir), 'unsupported', /dtype string/);
    expectError(() => readWeights([{ paths: ['w.bin'], weights: [{ name: 's', shape: [2], dtype: 'float64' }] }], dir), 'invalid', /unknown weight dtype/);
    expectError(() => readWeights([{ paths: ['w.bin'], weights: [{ name: 's', shape: [8], dtype: 'float32', quantization: { dtype: 'int4' } }] }], dir),
      'unsupported', /quantization dtype "int4"/);
    expectError(() => readWeights([{ paths: ['w.bin'], weights: [{ name: 's', shape: [8], dtype: 'float32', quantization: { dtype: 'uint8' } }] }], dir),
      'invalid', /scale" and "min"/);
    expectError(() => readWeights([{ paths: ['w.bin'], weights: [{ name: 's', shape: [-2], dtype: 'float32' }] }], dir), 'invalid', /non-negative/);
  });

  it('Const without a weight, dangling input, unknown format -> invalid/unsupported', () => {
    const m1 = addModel();
    m1.weightsManifest = [];
    expectError(() => loadTfjsModel(writeModel(tmpDir('nc'), m1)), 'invalid', /Const node has no weight/);
    const m2 = addModel();
    (m2.modelTopology.node[2] as { input: string[] }).input = ['x', 'nope'];
    expectError(() => loadTfjsModel(writeModel(tmpDir('dang'), m2, { 'weights.bin': W })), 'invalid', /input "nope" is not produced/);
    const m3 = { ...addModel(), format: 'saved-model' };
    expectError(() => loadTfjsModel(writeModel(tmpDir('fmt'), m3, { 'weights.bin': W })), 'unsupported', /format "saved-model"/);
  });

  it('input without a shape: from the signature, from --input-shape, else unsupported', () => {
    const m = addModel() as { modelTopology: { node: { attr: Record<string, unknown> }[] }; signature?: unknown };
    delete m.modelTopology.node[0]!.attr['shape'];
    const f1 = writeModel(tmpDir('noshape'), m, { 'weights.bin': W });
    expectError(() => loadTfjsModel(f1), 'unsupported', /input "x" has an unknown rank.*--input-shape/);
    expect(runGraph(loadTfjsModel(f1, { inputShapes: { x: [1, 2] } }), [X])[0]!.toNumbers()).toEqual([11, 22]);
    m.signature = { inputs: { 'x:0': { name: 'x:0', dtype: 'DT_FLOAT', tensorShape: { dim: [{ size: '-1' }, { size: '2' }] } } } };
    const f2 = writeModel(tmpDir('sigshape'), m, { 'weights.bin': W });
    const g = loadTfjsModel(f2);
    expect(g.typeOf(g.inputs[0]!).shape).toEqual([1, 2]);
  });

  it('a missing model file -> invalid', () => {
    expectError(() => loadModelFile('/nonexistent/model.json'), 'invalid', /cannot read model file/);
  });

  it('manifest helper is consistent (sanity)', () => {
    expect(manifest([{ name: 'a', shape: [2], data: [1, 2] }]).bytes.length).toBe(8);
    expect(b64('SAME')).toBe('U0FNRQ==');
  });
});
