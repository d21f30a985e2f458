/**
 * RELIABILITY.md input classes at the graph level: cycles, double producers, dangling inputs,
 * unknown ops/domains, opset imports, bad attributes, giant shapes, payload mismatches,
 * unsupported dtypes, NaN/Inf weights, resource limits. Each from a valid seed, mutated in code.
 */
import { afterAll, beforeEach, describe, it } from 'vitest';
import { rmTmp, tmpDir } from '../cli/helpers.js';
import { IModel, expectCompileFails, f32raw, init, int, ints, seedAdd, seedConv, vi, writeModel } from './seed.js';

let dir = '';
const dirs: string[] = [];
beforeEach(() => {
  dir = tmpDir('edgec-rel-');
  dirs.push(dir);
});
afterAll(() => dirs.forEach(rmTmp));

const fails = (m: IModel, code: number, re: RegExp, extra: string[] = []) => expectCompileFails(dir, writeModel(dir, m), code, re, extra);
function mut(f: (m: IModel) => void, seed: () => IModel = seedAdd): IModel {
  const m = seed();
  f(m);
  return m;
}

describe('graph structure', () => {
  it('cycle', async () => {
    await fails(mut((m) => {
      m.graph!.node![0]!.input = ['x', 'y'];
      m.graph!.initializer = [];
    }), 3, /cycle|not a DAG/);
  });
  it('two nodes producing one value', async () => {
    await fails(mut((m) => {
      m.graph!.node!.push({ opType: 'Relu', input: ['x'], output: ['a'], name: 'dup' });
    }), 3, /produced twice/);
  });
  it('dangling input', async () => {
    await fails(mut((m) => {
      m.graph!.node![1]!.input = ['nowhere'];
    }), 3, /"nowhere" is not produced/);
  });
  it('graph output nobody produces', async () => {
    await fails(mut((m) => {
      m.graph!.output = [vi('ghost', [1, 4])];
    }), 3, /ghost/);
  });
  it('unknown op', async () => {
    await fails(mut((m) => {
      m.graph!.node![1]!.opType = 'FrobnicateV2';
    }), 4, /unsupported op FrobnicateV2/);
  });
  it('unknown domain', async () => {
    await fails(mut((m) => {
      m.graph!.node![1]!.domain = 'com.evil';
      m.opsetImport!.push({ domain: 'com.evil', version: 1 });
    }), 4, /com\.evil/);
    await fails(mut((m) => {
      m.graph!.node![1]!.domain = 'org.unknown';
    }), 4, /org\.unknown/);
  });
});

describe('opset imports', () => {
  it('missing', async () => {
    await fails(mut((m) => { m.opsetImport = []; }), 3, /opset_import/);
  });
  it('zero', async () => {
    await fails(mut((m) => { m.opsetImport = [{ domain: '', version: 0 }]; }), 3, /invalid version 0/);
  });
  it('future', async () => {
    await fails(mut((m) => { m.opsetImport = [{ domain: '', version: 99 }]; }), 4, /opset 99/);
  });
  it('duplicate', async () => {
    await fails(mut((m) => { m.opsetImport = [{ domain: '', version: 13 }, { domain: 'ai.onnx', version: 13 }]; }), 3, /twice/);
  });
});

describe('bad attributes (validated by each op)', () => {
  it('the conv seed compiles (control)', async () => {
    const { cli } = await import('../cli/helpers.js');
    const r = await cli('compile', writeModel(dir, seedConv([ints('pads', [1, 1, 1, 1])])), '--target', 'onnx', '-o', `${dir}/ok`);
    if (r.code !== 0) throw new Error(r.err);
  });
  it('zero strides', async () => {
    await fails(seedConv([ints('pads', [1, 1, 1, 1]), ints('strides', [0, 0])]), 3, /stride/);
  });
  it('negative dilations', async () => {
    await fails(seedConv([ints('pads', [1, 1, 1, 1]), ints('dilations', [-1, -1])]), 3, /dilation/);
  });
  it('group 0', async () => {
    await fails(seedConv([ints('pads', [1, 1, 1, 1]), int('group', 0)]), 3, /group/);
  });
  it('wrong pads length', async () => {
    await fails(seedConv([ints('pads', [1, 1, 1])]), 3, /pads/);
  });
  it('axis out of range', async () => {
    await fails(mut((m) => {
      m.graph!.node![1] = { opType: 'Softmax', input: ['a'], output: ['y'], name: 'sm', attribute: [int('axis', 5)] };
    }), 3, /axis/);
  });
});

describe('shapes, payloads and dtypes', () => {
  it('giant declared initializer shape (2^31 x 2^31)', async () => {
    await fails(mut((m) => {
      m.graph!.initializer = [{ name: 'w', dataType: 1, dims: [2 ** 31, 2 ** 31], rawData: f32raw([1, 2, 3, 4]) }];
    }), 5, /exceeds the limit/);
  });
  it('giant declared input shape (2^31 x 2^31)', async () => {
    await fails(mut((m) => {
      m.graph!.input = [vi('x', [2 ** 31, 2 ** 31])];
    }), 5, /too large|limit/);
  });
  it('payload that does not match dims', async () => {
    await fails(mut((m) => {
      m.graph!.initializer = [{ name: 'w', dataType: 1, dims: [1, 4], rawData: f32raw([1, 2, 3]) }];
    }), 3, /payload has 12 bytes/);
    await fails(mut((m) => {
      m.graph!.initializer = [{ name: 'w', dataType: 1, dims: [1, 4], floatData: [1, 2] }];
    }), 3, /payload has 2 floats/);
  });
  it('payload that does not match the dtype', async () => {
    await fails(mut((m) => {
      m.graph!.initializer = [{ name: 'w', dataType: 11, dims: [1, 4], rawData: f32raw([1, 2, 3, 4]) }];
    }), 3, /payload has 16 bytes but its dims need 32/);
  });
  it('unsupported dtypes', async () => {
    await fails(mut((m) => {
      m.graph!.initializer = [{ name: 'w', dataType: 14, dims: [1, 4], rawData: new Uint8Array(32) }];
    }), 4, /COMPLEX64/);
    await fails(mut((m) => {
      m.graph!.input = [vi('x', [1, 4], 17)];
    }), 4, /FLOAT8E4M3FN/);
    await fails(mut((m) => {
      m.graph!.initializer = [{ name: 'w', dataType: 999, dims: [1, 4], rawData: new Uint8Array(16) }];
    }), 3, /unknown tensor data type 999/);
  });
  it('NaN weights (+-Inf weights are valid: tests/reliability/inf.test.ts)', async () => {
    await fails(mut((m) => { m.graph!.initializer = [init('w', [1, 4], [1, NaN, 3, 4])]; }), 7, /tensor holds NaN at element 1 .*tensor "w"/);
    await fails(mut((m) => { m.graph!.initializer = [init('w', [1, 4], [1, Infinity, NaN, -Infinity])]; }), 7, /NaN at element 2/);
  });
});

describe('resource limits have flags', () => {
  it('--max-nodes', async () => {
    await fails(seedAdd(), 5, /2 nodes, over the limit of 1/, ['--max-nodes', '1']);
  });
  it('--max-tensor-bytes', async () => {
    await fails(seedAdd(), 5, /exceeds the limit of 8 bytes/, ['--max-tensor-bytes', '8']);
  });
  it('--max-model-bytes', async () => {
    await fails(seedAdd(), 5, /over the limit of 10/, ['--max-model-bytes', '10']);
  });
});
