/**
 * unify-dims (compiler/passes/unify-dims.ts): a symbol that inference leaves on a value is bound to
 * the size the model declares for the same output, in the graph and its Loop bodies; symbols of the
 * graph's inputs stay free. Models are built in code as ONNX protos; the pass runs after
 * shape-infer and the optimized graph must still compute what the reference interpreter computes
 * on the original model.
 */
import { describe, expect, it } from 'vitest';
import { Graph, subgraphsOf } from '../../compiler/ir/graph.js';
import { importOnnx } from '../../compiler/frontends/onnx/import.js';
import { inferShapes, runGraph } from '../../compiler/interp/interp.js';
import { optimize } from '../../compiler/pipeline.js';
import { unifyDims } from '../../compiler/passes/unify-dims.js';
import { compareTensors } from '../helpers/compare.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { attr, bool, f32, graph, i64, model, node, vi } from '../helpers/onnx-build.js';

/** Type of the (first) value named `name` in `g` or its subgraphs. */
function typeNamed(g: Graph, name: string): string | undefined {
  for (const v of g.values.values()) if (v.name === name) return JSON.stringify(v.type.shape);
  for (const n of g.nodes.values()) {
    for (const b of subgraphsOf(n)) {
      const t = typeNamed(b, name);
      if (t !== undefined) return t;
    }
  }
  return undefined;
}

/** Loop(M, cond, y0): y += x[i : i + 1] (a runtime Slice of symbolic length, read by an Add declared [1]). */
function sliceLoop(): Uint8Array {
  const body = graph('body', [
    node('Identity', ['c'], ['c_out']),
    node('Add', ['i', 'one'], ['end']),
    node('Unsqueeze', ['i', 'ax'], ['start1']),
    node('Unsqueeze', ['end', 'ax'], ['end1']),
    node('Slice', ['x', 'start1', 'end1'], ['piece']),
    node('Add', ['y', 'piece'], ['y_out']),
  ], [vi('i', 'i64', []), vi('c', 'bool', []), vi('y', 'f32', [1])], [vi('c_out', 'bool', []), vi('y_out', 'f32', [1])],
  [['one', i64(1)], ['ax', Tensor.from('i64', [1], [0n])], ['x', f32([5], [1, 2, 3, 4, 5])]]);
  return model(graph('main', [node('Loop', ['M', 'cond', 'y0'], ['y_final'], [attr.graph('body', body)])],
    [vi('M', 'i64', []), vi('cond', 'bool', []), vi('y0', 'f32', [1])], [vi('y_final', 'f32', [1])]), 13);
}

describe('unify-dims', () => {
  it('binds the runtime Slice length in a Loop body to the declared [1] and keeps the results', () => {
    const bytes = sliceLoop();
    const g = importOnnx(bytes);
    inferShapes(g);
    expect(typeNamed(g, 'piece')).toMatch(/^\["/);
    expect(unifyDims(g)).toBeGreaterThan(0);
    expect(typeNamed(g, 'piece')).toBe('[1]');
    // idempotent
    expect(unifyDims(g)).toBe(0);
    const inputs = [i64(4), bool(true), f32([1], [0.5])];
    const want = runGraph(importOnnx(bytes), inputs);
    const got = runGraph(g, inputs);
    expect(compareTensors(got[0]!, want[0]!, { rtol: 0, atol: 0 })).toBeNull();
  });

  it('never binds a symbolic dim of a graph input (an output declared with batch 1)', () => {
    const bytes = model(graph('main', [node('Relu', ['x'], ['y'])], [vi('x', 'f32', ['N', 3])], [vi('y', 'f32', [1, 3])]), 13);
    const g = importOnnx(bytes, { symbolicToOne: false });
    optimize(g, { target: 'wasm', verify: true });
    expect(JSON.stringify(g.typeOf(g.inputs[0]!).shape)).toBe('["N",3]');
  });
});
